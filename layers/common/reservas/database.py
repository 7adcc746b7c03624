"""PostgreSQL through SQLAlchemy 2 and pg8000: one engine per container, one connection (`db`) per request."""

from __future__ import annotations

import functools
import re
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Insert,
    Table,
    and_,
    create_engine,
    event,
    exc,
    insert,
    or_,
)
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.pool import ConnectionPoolEntry

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PostgresInsert

from reservas.credentials import get_database_url
from reservas.pg_connection import OneTripConnection
from reservas.settings import get_settings

EXCLUSION_VIOLATION = "23P01"
UNIQUE_VIOLATION = "23505"
FOREIGN_KEY_VIOLATION = "23503"
DEADLOCK_DETECTED = "40P01"
SERIALIZATION_FAILURE = "40001"
READ_ONLY_TRANSACTION = "25006"  # a write on a server that is (now) a reader
LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout
QUERY_CANCELED = "57014"  # statement_timeout

_SSL_MODES = {"require", "verify-ca", "verify-full"}
T = TypeVar("T")


def pg8000_url(url: str) -> tuple[URL, dict[str, Any]]:
    """Turn the URLs users have (`postgresql://user:pw@host:5432/db`, `?host=/socket/dir`,
    `?sslmode=require`) into a pg8000 URL and its connect arguments."""
    parsed = make_url(re.sub(r"^postgres://", "postgresql://", url))
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"not a PostgreSQL URL: {parsed.drivername}")
    query = dict(parsed.query)
    connect_args: dict[str, Any] = {}
    sslmode = query.pop("sslmode", None)
    if sslmode in _SSL_MODES:
        context = ssl.create_default_context()
        if sslmode == "require":  # encrypted, certificate not verified (libpq's meaning)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        connect_args["ssl_context"] = context
    socket_dir = query.pop("host", None)
    if socket_dir and str(socket_dir).startswith("/"):
        query["unix_sock"] = f"{socket_dir}/.s.PGSQL.{parsed.port or 5432}"
        parsed = parsed.set(host=None, port=None)
    return parsed.set(drivername="postgresql+pg8000", query=query), connect_args


def build_engine(
    url: str,
    *,
    pool_size: int = 1,
    timeout_seconds: float | None = None,
    session_settings: dict[str, str] | None = None,
) -> Engine:
    """With `timeout_seconds`, no database call waits longer than that: connecting, checking a pooled
    connection out, and every round trip (pg8000's socket timeout). A frozen server therefore costs a
    request at most two of them (the pre-ping of a pooled connection, then one reconnect) before it
    answers 503. PostgreSQL's own limits, shorter than the socket's, come from the role's settings
    (`apply_server_timeouts`), so a slow statement ends in an error the API can explain while the
    connection stays usable. `session_settings` override those for tools that do bulk work (sent when
    connecting, in the startup packet).

    Connections are `OneTripConnection`s (one round trip per statement), and a pooled connection is
    pinged on check-out only after it sat idle for PING_AFTER_IDLE_SECONDS (see `_ping_if_idle`)."""
    sa_url, connect_args = pg8000_url(url)
    if timeout_seconds:
        connect_args["timeout"] = timeout_seconds
    if session_settings:
        connect_args["startup_params"] = session_settings
    engine = create_engine(
        sa_url,
        connect_args=connect_args,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=timeout_seconds or 30,
        pool_recycle=1800,
        pool_reset_on_return="rollback",  # a connection goes back to the pool with no transaction open
        hide_parameters=True,  # errors and logs name the statement, never its values (hashes, emails, notes)
    )
    event.listen(engine, "do_connect", _one_trip_connection)
    event.listen(engine, "handle_error", _contain_database_error)
    event.listen(engine, "before_cursor_execute", _within_the_requests_budget)
    event.listen(engine, "checkout", _ping_if_idle)
    event.listen(engine, "checkin", _back_in_the_pool)
    return engine


def _one_trip_connection(
    _dialect: object, _record: object, cargs: list[Any], cparams: dict[str, Any]
) -> OneTripConnection:
    return OneTripConnection(*cargs, **cparams)


PING_AFTER_IDLE_SECONDS = 10.0
_IDLE_SINCE = "reservas.idle_since"  # in the pool entry's info, while the connection is in the pool


def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: object) -> None:
    """A connection used moments ago is alive: pinging it before every request would cost each request
    a round trip. One that sat idle (a Lambda instance frozen between requests, a server or proxy that
    may have closed it meanwhile) is pinged first, and replaced when the ping fails (SQLAlchemy's pool
    tries a new connection on DisconnectionError). A connection that died within the idle time fails
    its request with a 503 instead, and is replaced for the next one."""
    idle_since = record.info.pop(_IDLE_SINCE, None)
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        ping = dbapi_connection.cursor()
        ping.execute(";")
    except Exception as error:
        raise exc.DisconnectionError("the pooled connection did not answer its ping") from error


_DEADLINE = "reservas.deadline"  # in Connection.info, while a request holds the connection
_FIELDS_WITH_VALUES = ("D", "W")  # DETAIL and CONTEXT of PostgreSQL's ErrorResponse


def _contain_database_error(context: ExceptionContext) -> None:
    """What a failed statement leaves behind, kept in bounds:

    - its values stay out of logs: `hide_parameters` keeps the statement's parameters out, and the
      server's DETAIL (which repeats a failing row: a password hash, an email, notes) and CONTEXT
      (which may quote the value it failed on) are dropped;
    - a connection stays in the pool only after errors PostgreSQL itself reported (they carry a
      SQLSTATE, and the protocol is in step again after them). Anything else mid-statement, such as
      the driver failing to encode a value after the statement went out, may leave replies unread on
      the connection, and the next request, perhaps another user's, would read them: it is discarded;
    - a connection whose server refuses writes as read-only (25006) is discarded too: after a failover
      it still points at the old writer, now a reader, and a new one finds the new writer."""
    fields = _server_error_fields(context.original_exception)
    if fields is None or fields["C"] == READ_ONLY_TRANSACTION:
        context.is_disconnect = True
    elif fields.keys() & _FIELDS_WITH_VALUES:
        with_detail = str(context.original_exception)
        for name in _FIELDS_WITH_VALUES:
            fields.pop(name, None)
        wrapped = context.sqlalchemy_exception  # its message was written from the driver's, D included
        if wrapped is not None:
            without = str(context.original_exception)
            wrapped.args = tuple(
                a.replace(with_detail, without) if isinstance(a, str) else a for a in wrapped.args
            )


def server_timeouts(timeout_seconds: float) -> dict[str, str]:
    """PostgreSQL's limits for the API's sessions, inside the socket timeout of `timeout_seconds`.
    `idle_in_transaction_session_timeout` frees the locks of a client that vanished mid-transaction."""
    return {
        "statement_timeout": f"{round(timeout_seconds * 750)}ms",
        "lock_timeout": f"{round(timeout_seconds * 500)}ms",
        "idle_in_transaction_session_timeout": f"{max(10_000, round(timeout_seconds * 5000))}ms",
    }


def apply_server_timeouts(connection: Connection, timeout_seconds: float, role: str | None = None) -> None:
    """Make `server_timeouts` the defaults of the role the functions connect as (`role`, or the
    current one), in this database only (`ALTER ROLE ... IN DATABASE ... SET`). PostgreSQL applies them
    when a session starts, so they hold behind RDS Proxy too, where a `SET` after connecting would pin
    every client to one connection. Other databases of the same role keep their own settings."""
    database = connection.exec_driver_sql("SELECT current_database()").scalar_one()
    quoted = '"' + database.replace('"', '""') + '"'
    for name, value in server_timeouts(timeout_seconds).items():
        connection.exec_driver_sql(
            f"ALTER ROLE {role or 'CURRENT_USER'} IN DATABASE {quoted} SET {name} = '{value}'"
        )


@functools.cache
def job_engine(seconds: float) -> Engine:
    """The engine of a scheduled job, whose work may rightly take longer than a request's: the socket and
    PostgreSQL's limits fit `seconds` (sent when connecting, so they override the role's limits for the
    API). Kept apart from the API's engine, and like it, built once per container."""
    limit = f"{round(seconds * 1000)}ms"
    return build_engine(
        get_database_url(),
        timeout_seconds=seconds,
        session_settings={
            "statement_timeout": limit,
            "lock_timeout": limit,
            "idle_in_transaction_session_timeout": limit,
        },
    )


@functools.cache
def get_engine() -> Engine:
    """Built on first use and kept for the life of the container (Lambda runs one request at a time,
    so the pool holds one connection; the local API raises `RESERVAS_DB_POOL_SIZE`)."""
    settings = get_settings()
    return build_engine(
        get_database_url(), pool_size=settings.db_pool_size, timeout_seconds=settings.db_timeout_seconds
    )


async def get_db() -> AsyncIterator[Connection]:
    """FastAPI dependency: the request's database connection (`db`), whose transaction begins with its first
    statement. Nothing is committed unless a service commits; the rest rolls back when it closes.
    (SQLAlchemy Core's Connection: the ORM is never imported, which keeps cold starts short.)

    The connection is checked out of the pool when the request first uses it, so a request the cache
    answers makes no round trip to PostgreSQL (no check-out, no pre-ping, no rollback), and still
    answers while PostgreSQL is away.

    A request has a budget for its database work, 1.25 x RESERVAS_DB_TIMEOUT_SECONDS from the moment it
    first uses its connection: no statement starts after it is spent, and the one running is bounded by
    the socket timeout. A database that is slow, not frozen, therefore costs a request a 503 within about
    2.25 x that timeout, however many statements it has, instead of the whole function timeout."""
    with ExitStack() as closing:
        yield cast(Connection, _OnFirstUse(closing))  # the deadline leaves with the connection


class _OnFirstUse:
    """A Connection that is checked out on first use, and returned when the request ends."""

    def __init__(self, closing: ExitStack) -> None:
        self._closing = closing
        self._connection: Connection | None = None

    def _checked_out(self) -> Connection:
        if self._connection is None:
            started = time.monotonic()
            connection = self._closing.enter_context(get_engine().connect())
            connection.info[_DEADLINE] = started + 1.25 * get_settings().db_timeout_seconds
            _within_the_requests_budget(connection)  # connecting may have spent it already
            self._connection = connection
        return self._connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._checked_out(), name)


class DatabaseBudgetSpent(TimeoutError):
    """The request has used up its time for database work (see get_db)."""


def _back_in_the_pool(_: object, record: ConnectionPoolEntry) -> None:
    record.info.pop(_DEADLINE, None)
    record.info[_IDLE_SINCE] = time.monotonic()


def _within_the_requests_budget(connection: Connection, *_: object) -> None:
    deadline = connection.info.get(_DEADLINE)
    if deadline is not None and time.monotonic() > deadline:
        raise DatabaseBudgetSpent("the request's time for database work is spent")


def commit_with(db: Connection, last_write: Callable[[], T]) -> T:
    """Run `last_write`, which sends the transaction's last statement, and commit, in one round trip
    (the COMMIT travels with that statement); what it returns."""
    driver = cast(OneTripConnection, db.connection.dbapi_connection)
    with driver.commit_with_next_statement():
        written = last_write()
    db.commit()  # committed already, unless last_write sent nothing: then now
    return written


def insert_rows(table: Table, rows: list[dict[str, Any]]) -> Insert:
    """The INSERT of `rows`. One row goes as plain VALUES, whose compiled form SQLAlchemy caches; a
    list of rows it compiles anew on every call (most of a millisecond)."""
    return insert(table).values(rows[0] if len(rows) == 1 else rows)


def postgres_insert(table: Table) -> PostgresInsert:
    """PostgreSQL's INSERT, for ON CONFLICT; the dialect is imported on first use, not at cold start."""
    from sqlalchemy.dialects.postgresql import insert

    return insert(table)


def after_key(
    sort: ColumnElement[Any], row_id: ColumnElement[Any], after: tuple[Any, Any], *, descending: bool = False
) -> ColumnElement[bool]:
    """The keyset condition: rows after `after` = (sort value, id) in the order (sort, id)."""
    value, last_id = after
    if descending:
        return or_(sort < value, and_(sort == value, row_id < last_id))
    return or_(sort > value, and_(sort == value, row_id > last_id))


def contains(column: ColumnElement[Any], text: str) -> ColumnElement[bool]:
    """`column` contains `text`, in any case, with LIKE's wildcards in `text` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


class Overlap(Exception):
    """Two things that hold a space's time would overlap (the exclusion constraint refused)."""


class Taken(Exception):
    """A value that must be unique is already used (a unique constraint refused)."""


class Contention(Exception):
    """Concurrent transactions got in each other's way (deadlock, serialization); a new try may pass."""


_DOMAIN_ERRORS = {
    EXCLUSION_VIOLATION: Overlap,
    UNIQUE_VIOLATION: Taken,
    DEADLOCK_DETECTED: Contention,
    SERIALIZATION_FAILURE: Contention,
}


@contextmanager
def domain_errors() -> Iterator[None]:
    """Around a use case's statements: the database's refusals that the rules expect, as the
    exceptions above; every other error as it is."""
    try:
        yield
    except exc.DBAPIError as error:
        domain_error = _DOMAIN_ERRORS.get(sqlstate(error) or "")
        if domain_error is None:
            raise
        raise domain_error() from error


Row = TypeVar("Row")


def present(row: Row | None) -> Row:
    """A row the transaction holds (just written, or locked): there, or the database broke its word."""
    if row is None:
        raise LookupError("a row this transaction holds is missing")
    return row


def sqlstate(error: exc.DBAPIError) -> str | None:
    """The SQLSTATE of a database error raised through pg8000."""
    fields = _server_error_fields(error.orig)
    return None if fields is None else fields["C"]


def _server_error_fields(error: BaseException | None) -> dict[str, Any] | None:
    """The fields of the server's ErrorResponse that pg8000 raised `error` for; None for any other error."""
    args = getattr(error, "args", ())
    if args and isinstance(args[0], dict) and "C" in args[0]:
        return args[0]
    return None
