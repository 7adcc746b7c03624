"""pg8000's connection, with one round trip per statement instead of three.

pg8000 runs a statement with parameters as three exchanges with the server: Parse, wait; Describe,
wait; Bind and Execute, wait. Nothing in the later messages depends on the earlier answers (parameters
go as text, results come back as text, and the result's columns are described before its rows), so
`OneTripConnection` sends Parse, Bind, Describe, Execute and Sync together and reads the answers once,
as libpq and the other drivers do. The BEGIN pg8000 sends before a transaction's first statement
travels with that statement. On a local server that is a third of the time of a booking; behind RDS
Proxy, each exchange saved is a network round trip.

It relies on pg8000's internals (its message writers and readers), so requirements.txt keeps pg8000
below its next minor version; tests/integration/test_pg_connection.py checks the protocol's corners.
"""

from __future__ import annotations

from typing import Any

import pg8000.core
import pg8000.dbapi
from pg8000.core import DESCRIBE, EXECUTE_MSG, NULL_BYTE, PORTAL, SYNC_MSG, Context, make_params

_BEGIN = "begin transaction"  # what pg8000's cursor sends before a transaction's first statement


class OneTripConnection(pg8000.dbapi.Connection):  # type: ignore[misc]  # pg8000 is untyped
    _begin_pending = False

    def execute_simple(self, statement: str) -> Context:
        if statement == _BEGIN and not self._in_transaction:
            self._begin_pending = True  # sent with the next statement
            return Context(statement)
        contexts = self._pending_begin()
        self.send_QUERY(statement)
        return self._send_and_read([*contexts, Context(statement)])

    def execute_unnamed(self, statement: str, vals: Any = (), oids: Any = (), stream: Any = None) -> Context:
        if stream is not None:  # COPY streams data both ways: pg8000's own exchanges
            if contexts := self._pending_begin():
                self._send_and_read(contexts)
            return super().execute_unnamed(statement, vals=vals, oids=oids, stream=stream)
        params = make_params(self.py_types, vals)
        for value in params:  # a value that cannot be sent fails here, before anything is written
            if value is not None:
                value.encode(self._client_encoding)
        contexts = self._pending_begin()
        self.send_PARSE(NULL_BYTE, statement, oids)
        self.send_BIND(NULL_BYTE, params)
        self._send_message(DESCRIBE, PORTAL + NULL_BYTE)
        pg8000.core._write(self._sock, EXECUTE_MSG)
        pg8000.core._write(self._sock, SYNC_MSG)
        return self._send_and_read([*contexts, Context(statement)])

    def _pending_begin(self) -> list[Context]:
        """The BEGIN waiting for this statement, written first (nothing when none waits, or when the
        connection was switched to autocommit since)."""
        pending, self._begin_pending = self._begin_pending, False
        if not pending or self.autocommit:
            return []
        self.send_QUERY(_BEGIN)
        return [Context(_BEGIN)]

    def _send_and_read(self, contexts: list[Context]) -> Context:
        """Flush what is written and read every answer. An error the server reported is raised once all
        answers are read, so the connection stays in step with it; a failure of the connection itself
        at once. The last context is the statement's."""
        pg8000.core._flush(self._sock)
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
        return contexts[-1]
