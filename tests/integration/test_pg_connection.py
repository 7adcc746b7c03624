"""The API's PostgreSQL connection (reservas.pg_connection): one round trip per statement, and still in
step with the server after every kind of failure; a pooled connection pinged only after sitting idle."""

from __future__ import annotations

import contextlib
import io
from datetime import datetime

import pg8000.core
import pg8000.dbapi
import pytest
from sqlalchemy import exc, text

from devtools.round_trips import counting
from reservas import database
from reservas.pg_connection import OneTripConnection


@pytest.fixture
def raw(engine):
    """A OneTripConnection of its own (the driver's connection, under SQLAlchemy's)."""
    engine_connection = engine.raw_connection()
    connection = engine_connection.dbapi_connection
    assert isinstance(connection, OneTripConnection)
    yield connection
    engine_connection.invalidate()  # each test leaves it in a state of its own making


def status(connection) -> bytes:
    return connection._transaction_status


def test_a_statement_is_one_round_trip_and_begin_travels_with_the_first(raw):
    cursor = raw.cursor()
    with counting() as trips:
        cursor.execute("SELECT %s::int + %s::int, 'x'", (1, 2))
    assert list(cursor.fetchall()) == [[3, "x"]]
    assert trips["postgresql"] == 1 and status(raw) == pg8000.core.IN_TRANSACTION
    with counting() as trips:
        cursor.execute("SELECT %s::text", ("ü ñ",))
        assert cursor.fetchone() == ["ü ñ"]
        cursor.execute("SELECT 1 WHERE false")  # no rows, no parameters: the simple protocol
        assert list(cursor.fetchall()) == []
        raw.commit()
    assert trips["postgresql"] == 3 and status(raw) == pg8000.core.IDLE


def test_an_error_in_the_first_statement_leaves_the_transaction_failed_and_the_connection_usable(raw):
    cursor = raw.cursor()
    with pytest.raises(pg8000.dbapi.DatabaseError) as refused:
        cursor.execute("SELECT 1 / %s::int", (0,))  # BEGIN, then this, sent together
    assert refused.value.args[0]["C"] == "22012"
    assert status(raw) == pg8000.core.IN_FAILED_TRANSACTION
    raw.rollback()
    cursor.execute("SELECT %s::int", (7,))
    assert list(cursor.fetchall()) == [[7]]


def test_a_statement_the_server_cannot_parse_is_reported_and_nothing_is_left_unread(raw):
    cursor = raw.cursor()
    cursor.execute("SELECT %s::int", (1,))
    with pytest.raises(pg8000.dbapi.DatabaseError) as refused:
        cursor.execute("SELEC %s", (1,))
    assert refused.value.args[0]["C"] == "42601"
    raw.rollback()
    cursor.execute("SELECT %s::text", ("next",))
    assert list(cursor.fetchall()) == [["next"]]


def test_a_value_the_driver_cannot_send_fails_before_anything_is_written(raw):
    cursor = raw.cursor()
    with counting() as trips, pytest.raises(UnicodeEncodeError):
        cursor.execute("SELECT %s::text", ("\ud800",))  # a lone surrogate: no UTF-8 for it
    assert trips["postgresql"] == 0  # nothing went out: no answers are waiting on the connection
    cursor.execute("SELECT %s::int", (5,))
    assert list(cursor.fetchall()) == [[5]]


def test_copy_after_a_pending_begin_runs_inside_the_transaction(raw):
    cursor = raw.cursor()
    cursor.execute("CREATE TEMPORARY TABLE copied (n int)")
    raw.commit()
    cursor.execute("COPY copied FROM STDIN", stream=io.BytesIO(b"1\n2\n"))
    assert status(raw) == pg8000.core.IN_TRANSACTION
    raw.rollback()  # the copy was inside the transaction: gone with it
    cursor.execute("SELECT count(*) FROM copied")
    assert list(cursor.fetchall()) == [[0]]


def test_autocommit_set_after_a_transaction_ended_sends_no_begin(raw):
    cursor = raw.cursor()
    cursor.execute("SELECT %s::int", (1,))
    raw.rollback()
    raw.autocommit = True
    cursor.execute("SELECT %s::int", (2,))
    assert status(raw) == pg8000.core.IDLE  # no transaction was opened


def _terminate(url: str, pid: int) -> None:
    admin = database.build_engine(url)
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def _backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_a_connection_that_died_while_idle_is_pinged_and_replaced(services, monkeypatch):
    engine = database.build_engine(services.database_url, timeout_seconds=2)
    try:
        first = _backend_pid(engine)
        _terminate(services.database_url, first)
        monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)  # it has sat idle long enough
        with counting() as trips:
            assert _backend_pid(engine) != first  # the ping failed; a new connection answered
        assert trips["postgresql"] > 1
    finally:
        engine.dispose()


def test_a_connection_used_moments_ago_is_not_pinged(services):
    engine = database.build_engine(services.database_url, timeout_seconds=2)
    try:
        _backend_pid(engine)
        with counting() as trips:
            _backend_pid(engine)
        assert trips["postgresql"] == 2  # BEGIN with the SELECT, then the rollback on its return
    finally:
        engine.dispose()


@pytest.fixture
def scratch(engine):
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS scratch (n int)"))
        connection.execute(text("DELETE FROM scratch"))
    yield
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE scratch"))


def _scratch(engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT n FROM scratch ORDER BY n")).scalars())


def test_the_last_statement_carries_the_commit(engine, scratch):
    with engine.connect() as db:
        db.execute(text("INSERT INTO scratch VALUES (1)"))
        with counting() as trips:
            database.commit_with(db, lambda: db.execute(text("INSERT INTO scratch VALUES (:n)"), {"n": 2}))
        assert trips["postgresql"] == 1  # the statement and its COMMIT, together
    assert _scratch(engine) == [1, 2]


def test_a_last_statement_that_fails_commits_nothing_and_leaves_the_connection_usable(engine, scratch):
    with engine.connect() as db:
        db.execute(text("INSERT INTO scratch VALUES (1)"))
        with pytest.raises(exc.DBAPIError) as refused:
            database.commit_with(db, lambda: db.execute(text("INSERT INTO scratch VALUES (1 / 0)")))
        assert database.sqlstate(refused.value) == "22012"
        db.rollback()
        assert db.execute(text("SELECT count(*) FROM scratch")).scalar_one() == 0
    assert _scratch(engine) == []


def test_a_statement_after_the_commit_went_is_refused(engine, scratch):
    def two_statements():
        db.execute(text("INSERT INTO scratch VALUES (1)"))
        db.execute(text("INSERT INTO scratch VALUES (2)"))

    with engine.connect() as db, pytest.raises(exc.InterfaceError):
        database.commit_with(db, two_statements)
    assert _scratch(engine) == [1]  # the first committed; the second never ran outside a transaction


def test_when_the_last_write_sends_nothing_the_commit_goes_on_its_own(engine, scratch):
    with engine.connect() as db:
        db.execute(text("INSERT INTO scratch VALUES (3)"))
        database.commit_with(db, lambda: None)
    assert _scratch(engine) == [3]


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "Europe/Amsterdam", "America/St_Johns"])
def test_times_and_dates_read_as_pg8000_reads_them(raw, zone):
    """The connection reads timestamps and dates with the standard library's ISO parser, which is about
    60 times faster than pg8000's strptime (a list of bookings holds hundreds); whatever it cannot read
    (infinity, BC, beyond year 9999) goes to pg8000's converter. Every value, in every session zone,
    comes back as pg8000's own converters read its text, or, where they leave it as text (an offset in
    seconds: local mean time before 1900 in a zone other than UTC), as the instant it is."""
    from pg8000 import converters

    values = [
        ("timestamptz", converters.timestamptz_in, "2026-11-30 06:20:42.123456+00"),
        ("timestamptz", converters.timestamptz_in, "2026-11-30 06:20:42.5+00"),
        ("timestamptz", converters.timestamptz_in, "2026-11-30 06:20:42+00"),
        ("timestamptz", converters.timestamptz_in, "0001-01-01 00:00:00+00"),
        ("timestamptz", converters.timestamptz_in, "9999-12-31 23:59:59.999999+00"),
        ("timestamptz", converters.timestamptz_in, "1900-01-01 00:00:00+00"),  # offsets in seconds (LMT)
        ("timestamptz", converters.timestamptz_in, "infinity"),
        ("timestamptz", converters.timestamptz_in, "-infinity"),
        ("timestamptz", converters.timestamptz_in, "0044-03-15 12:00:00+00 BC"),
        ("timestamp", converters.timestamp_in, "2026-11-30 06:20:42.000001"),
        ("timestamp", converters.timestamp_in, "0001-01-01 00:00:00"),
        ("timestamp", converters.timestamp_in, "infinity"),
        ("date", converters.date_in, "2026-02-28"),
        ("date", converters.date_in, "0001-01-01"),
        ("date", converters.date_in, "-infinity"),
        ("date", converters.date_in, "0044-03-15 BC"),
    ]
    raw.autocommit = True
    cursor = raw.cursor()
    cursor.execute(f"SET TIME ZONE '{zone}'")
    for kind, pg8000_reads, literal in values:
        cursor.execute(f"SELECT '{literal}'::{kind}, '{literal}'::{kind}::text")
        value, as_text = cursor.fetchone()
        expected = pg8000_reads(as_text)
        if isinstance(expected, str) and kind == "timestamptz":
            with contextlib.suppress(ValueError):  # infinity, BC, year 10000: text for both
                expected = datetime.fromisoformat(as_text)
        assert value == expected, (zone, kind, literal, as_text)
        assert type(value) is type(expected)
