"""pg8000's connection, with one round trip per statement instead of three.

pg8000 runs a statement with parameters as three exchanges with the server: Parse, wait; Describe,
wait; Bind and Execute, wait. Nothing in the later messages depends on the earlier answers (parameters
go as text, results come back as text, and the result's columns are described before its rows), so
`OneTripConnection` sends Parse, Bind, Describe, Execute and Sync together and reads the answers once,
as libpq and the other drivers do. The BEGIN pg8000 sends before a transaction's first statement
travels with that statement, and a COMMIT may travel with a transaction's last statement
(`commit_with_next_statement`). On a local server that is a third of the time of a booking; behind RDS
Proxy, each exchange saved is a network round trip.

It relies on pg8000's internals (its message writers and readers), so requirements.txt keeps pg8000
below its next minor version; tests/integration/test_pg_connection.py checks the protocol's corners.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import pg8000.converters
import pg8000.core
import pg8000.dbapi
from pg8000.core import DESCRIBE, EXECUTE_MSG, NULL_BYTE, PORTAL, SYNC_MSG, Context, make_params

_BEGIN = "begin transaction"  # what pg8000's cursor sends before a transaction's first statement


def _iso_or(parse: Callable[[str], Any], pg8000_reads: Callable[[str], Any]) -> Callable[[str], Any]:
    """A reader of PostgreSQL's text for times and dates that uses the standard library's ISO parser
    (in C, about 60 times faster than pg8000's strptime: a list of bookings holds hundreds of times),
    and pg8000's own for what that parser cannot read (infinity, BC, beyond year 9999)."""

    def read(text: str) -> Any:
        try:
            return parse(text)
        except ValueError:
            return pg8000_reads(text)

    return read


_READERS = {
    pg8000.converters.TIMESTAMPTZ: _iso_or(datetime.fromisoformat, pg8000.converters.timestamptz_in),
    pg8000.converters.TIMESTAMP: _iso_or(datetime.fromisoformat, pg8000.converters.timestamp_in),
    pg8000.converters.DATE: _iso_or(date.fromisoformat, pg8000.converters.date_in),
}


class OneTripConnection(pg8000.dbapi.Connection):  # type: ignore[misc]  # pg8000 is untyped
    _begin_pending = False
    _commit_with_next = False  # the next statement carries the COMMIT (commit_with_next_statement)
    _committed_early = False  # ... and it committed: commit() has nothing left to send

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for oid, read in _READERS.items():
            self.register_in_adapter(oid, read)

    @contextmanager
    def commit_with_next_statement(self) -> Iterator[None]:
        """Within it, the next statement carries COMMIT in its round trip: for a caller who knows that
        statement ends the transaction (its answers are read before the COMMIT's). A statement after
        it, before commit() or rollback(), is refused: it would run outside the transaction."""
        self._commit_with_next = True
        try:
            yield
        finally:
            self._commit_with_next = False

    def cursor(self) -> OneTripCursor:
        return OneTripCursor(self)

    def commit(self) -> None:
        if self._committed_early:
            self._committed_early = False
            return
        super().commit()

    def rollback(self) -> None:
        self._committed_early = False
        super().rollback()

    def execute_simple(self, statement: str) -> Context:
        if statement == _BEGIN and not self._in_transaction:
            self._begin_pending = True  # sent with the next statement
            return Context(statement)
        before = self._before_the_statement()
        self.send_QUERY(statement)
        return self._send_and_read(before, Context(statement))

    def execute_unnamed(self, statement: str, vals: Any = (), oids: Any = (), stream: Any = None) -> Context:
        if stream is not None:  # COPY streams data both ways: pg8000's own exchanges
            if before := self._before_the_statement():
                pg8000.core._flush(self._sock)
                self._read(before)
            return super().execute_unnamed(statement, vals=vals, oids=oids, stream=stream)
        params = make_params(self.py_types, vals)
        for value in params:  # a value that cannot be sent fails here, before anything is written
            if value is not None:
                value.encode(self._client_encoding)
        before = self._before_the_statement()
        self.send_PARSE(NULL_BYTE, statement, oids)
        self.send_BIND(NULL_BYTE, params)
        self._send_message(DESCRIBE, PORTAL + NULL_BYTE)
        pg8000.core._write(self._sock, EXECUTE_MSG)
        pg8000.core._write(self._sock, SYNC_MSG)
        return self._send_and_read(before, Context(statement))

    def _before_the_statement(self) -> list[Context]:
        """The BEGIN waiting for this statement, written first (nothing when none waits, or when the
        connection was switched to autocommit since)."""
        if self._committed_early:
            raise pg8000.dbapi.InterfaceError("the transaction was committed; commit() comes first")
        pending, self._begin_pending = self._begin_pending, False
        if not pending or self.autocommit:
            return []
        self.send_QUERY(_BEGIN)
        return [Context(_BEGIN)]

    def _send_and_read(self, before: list[Context], statement: Context) -> Context:
        after = []
        if self._commit_with_next:
            self._commit_with_next = False
            self.send_QUERY("commit")
            after.append(Context("commit"))
        pg8000.core._flush(self._sock)
        self._read([*before, statement, *after])
        if after:  # no error was raised: the statement and the COMMIT went through
            self._committed_early = True
        return statement

    def _read(self, contexts: list[Context]) -> None:
        """Read every answer. An error the server reported is raised once all answers are read, so the
        connection stays in step with it; a failure of the connection itself, at once."""
        reported: Exception | None = None
        for context in contexts:
            try:
                self.handle_messages(context)
            except Exception as error:
                if error is not context.error:
                    raise
                reported = reported or error
        if reported is not None:
            raise reported


class OneTripCursor(pg8000.dbapi.Cursor):  # type: ignore[misc]  # pg8000 is untyped
    """pg8000's cursor, which turns a statement's `%s` placeholders into PostgreSQL's $1, $2... by
    reading it character by character on every call (a quarter of a millisecond for a booking's
    INSERT): here each statement's conversion is remembered. What it does besides is pg8000's."""

    _c: Any
    _context: Any
    _row_iter: Any
    _input_oids: Any
    input_types: list[Any]

    def execute(self, operation: str, args: Any = (), stream: Any = None) -> None:
        if len(args) == 0 or stream is not None or isinstance(args, Mapping):
            super().execute(operation, args, stream=stream)
            return
        connection = self._c
        if connection is None:
            raise pg8000.dbapi.InterfaceError("Cursor closed")
        if not connection._in_transaction and not connection.autocommit:
            connection.execute_simple(_BEGIN)
        self._context = connection.execute_unnamed(_numbered(operation), vals=args, oids=self._input_oids)
        self._row_iter = None if self._context.rows is None else iter(self._context.rows)
        self._input_oids = ()
        self.input_types = []


@functools.lru_cache(maxsize=1024)
def _numbered(operation: str) -> str:
    converted: str = pg8000.dbapi.convert_paramstyle("format", operation, ())[0]
    return converted
