"""PostgreSQL through SQLAlchemy 2 and pg8000: one engine per container, one session per request."""

from __future__ import annotations

import functools
import re
import ssl
from collections.abc import Iterator

from sqlalchemy import ColumnElement, Connection, Engine, Insert, Table, create_engine, event, exc
from sqlalchemy.engine import URL, make_url

from reservas.settings import get_database_url, get_settings

EXCLUSION_VIOLATION = "23P01"
UNIQUE_VIOLATION = "23505"
DEADLOCK_DETECTED = "40P01"
SERIALIZATION_FAILURE = "40001"
LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout
QUERY_CANCELED = "57014"  # statement_timeout

_SSL_MODES = {"require", "verify-ca", "verify-full"}


def pg8000_url(url: str) -> tuple[URL, dict]:
    """Turn the URLs users have (`postgresql://user:pw@host:5432/db`, `?host=/socket/dir`,
    `?sslmode=require`) into a pg8000 URL and its connect arguments."""
    parsed = make_url(re.sub(r"^postgres://", "postgresql://", url))
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"not a PostgreSQL URL: {parsed.drivername}")
    query = dict(parsed.query)
    connect_args: dict = {}
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


def build_engine(url: str, *, pool_size: int = 1, timeout_seconds: float | None = None) -> Engine:
    """With `timeout_seconds`, PostgreSQL itself gives up on a statement (and a lock wait) before the
    socket does, so a slow request ends in an error the API can explain instead of a dead connection."""
    sa_url, connect_args = pg8000_url(url)
    if timeout_seconds:
        connect_args["timeout"] = timeout_seconds + 5
    engine = create_engine(
        sa_url,
        connect_args=connect_args,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=timeout_seconds or 30,
        pool_pre_ping=True,
        pool_recycle=1800,
    )
    if timeout_seconds:

        @event.listens_for(engine, "connect")
        def _server_side_timeouts(connection, _record) -> None:
            cursor = connection.cursor()
            cursor.execute(f"SET statement_timeout = {int(timeout_seconds * 1000)}")
            cursor.execute(f"SET lock_timeout = {int(timeout_seconds * 500)}")
            cursor.close()

    return engine


@functools.cache
def get_engine() -> Engine:
    """Built on first use and kept for the life of the container (Lambda runs one request at a time,
    so the pool holds one connection; the local API raises `RESERVAS_DB_POOL_SIZE`)."""
    settings = get_settings()
    return build_engine(
        get_database_url(), pool_size=settings.db_pool_size, timeout_seconds=settings.db_timeout_seconds
    )


def get_session() -> Iterator[Connection]:
    """FastAPI dependency: the request's session, a connection whose transaction begins with its first
    statement. Nothing is committed unless a service commits; the rest rolls back when it closes.
    (SQLAlchemy Core's Connection: the ORM is never imported, which keeps cold starts short.)"""
    with get_engine().connect() as session:
        yield session


def postgres_insert(table: Table) -> Insert:
    """PostgreSQL's INSERT, for ON CONFLICT; the dialect is imported on first use, not at cold start."""
    from sqlalchemy.dialects.postgresql import insert

    return insert(table)


def contains(column: ColumnElement, text: str) -> ColumnElement[bool]:
    """`column` contains `text`, in any case, with LIKE's wildcards in `text` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


def sqlstate(error: exc.DBAPIError) -> str | None:
    """The SQLSTATE of a database error raised through pg8000."""
    args = getattr(error.orig, "args", ())
    if args and isinstance(args[0], dict):
        return args[0].get("C")
    return None
