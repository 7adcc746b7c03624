"""Benchmark: does anything grow with the size of the tables? The scale mode of `make bench`:

    BENCH_SCALE=10m make bench                 # every section, then this one (written to
                                               # docs/benchmarks-scale.md with its plots)
    .venv/bin/python bench/scale.py [--sizes 250000,1000000,10000000] [--runs 200]

It starts a throwaway PostgreSQL and Redis, applies the migrations (the real schema: the exclusion
constraint `holds_no_overlap` and every index stay), and grows one database step by step to each size
in --sizes, measuring the same operations at each size on the same questions:

- availability of one space for one day: the database layer (`repository.held_intervals`, target
  p95 <= 5 ms at the largest size) and the service (`service.availability`, uncached);
- the multi-space search of GET /spaces/available for one hour across all spaces, with a capacity and
  an amenity filter (`service.available_spaces`, target p95 <= 50 ms at the largest size);
- a user's reservations as the web page lists them (`service.search`, 100 each: from an instant on,
  `from=`, and up to it, `to=`), for users with 1/1000 of all the bookings each; the instant is the
  start of the last day measured, so that every size has bookings on both sides of it and only the
  history before it grows (the web page asks from and up to now, before which the smaller sizes here
  hold nothing);
- a booking (`reservations.service.book`) and a 52-week series (`reservations.series.book_series`).

Verdict by ratio: p50 at the largest size / p50 at the smallest <= 2x ("nothing grows with the size of
the table where an index can answer"); absolute figures are informative, but for the two targets above.

The data, loaded with set-based SQL: 10,000 spaces in Europe/Madrid, open around the clock, in 100
locations, with capacities 2 to 18 and four sets of amenities; 1,000 users who hold the bookings and
200 more who book during the run. Each space has one-hour bookings every two hours (half of the spaces
on even hours, half on odd ones), going back from a day 30 days ahead: the smallest size fills the days
measured, and every further step adds history before them. Every 20th booking is cancelled; every 12th
(daily, at the same hour) is an occurrence of the space's own series; every 50th free hour of a space is
a closure of that space, and every 100th one a closure of its whole location. Bookings are inserted with
reservations' row triggers disabled and their holds written in the same statement, as the trigger
writes them (migration 0006 loads existing rows the same way); the exclusion constraint checks every one.

Finally EXPLAIN (ANALYZE, BUFFERS) of every SELECT each operation sends, exactly as sent, at the largest
size, printed and handed to bench/report.py; a sequential scan of a table that grows is a failure.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common")]

from bench.common import Result, Row, size_label, summarise  # noqa: E402
from devtools import devservices  # noqa: E402

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from reservas import audit
    from reservas.accounts.schemas import User

ZONE_NAME = "Europe/Madrid"
ZONE = ZoneInfo(ZONE_NAME)
SPACES = 10_000
LOCATIONS = 100
HOLDERS = 1_000  # users who hold the loaded bookings
BOOKERS = 200  # users with no bookings, who book during the run
BOOKINGS_PER_BOOKER = 5  # below the limit on upcoming bookings (RESERVAS_MAX_ACTIVE_RESERVATIONS, 10)
DAYS_AHEAD = 30
STEP_HOURS = 2
CANCELLED_EVERY = 20
SERIES_EVERY = 12  # every 12th booking of a space, daily at the same hour, belongs to its series
CLOSED_EVERY = 50  # every 50th free hour of a space is closed
LOCATION_CLOSED_EVERY = 100  # and every 100th (another one) for its whole location
BATCH = 500_000
DEFAULT_SIZES = [250_000, 1_000_000, 10_000_000]
SEARCH_CAPACITY = 10
SEARCH_AMENITY = "projector"
LIST_LIMIT = 100  # as the web page's "my bookings" asks (web/app/views/bookings.js)
SERIES_RULE = "FREQ=WEEKLY;COUNT=52"
WARMUP = 20
RATIO_BOUND = 2.0
TARGETS_MS = {"availability, database layer": 5.0, "search, all spaces, one hour": 50.0}
GROWING_TABLES = ("reservations", "holds", "closures", "series", "log", "outbox")
BULK_WORK = {"statement_timeout": "0", "lock_timeout": "0"}
SEED = 20261201


@dataclass
class Measured:
    """Per measure, per size label: the samples in ms."""

    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def add(self, measure: str, size: str, values: list[float]) -> None:
        self.samples.setdefault(measure, {})[size] = values


@dataclass(frozen=True)
class Plan:
    operation: str
    sql: str
    parameters: str
    text: str
    growing_seq_scans: list[str]


# --- loading ---------------------------------------------------------------------------------------

INSERT_SPACES = """
    INSERT INTO spaces (name, capacity, location, amenities, timezone, opening_hours, slot_minutes,
                        max_advance_days)
    SELECT format('Space %s', lpad(k::text, 5, '0')), 2 + 4 * mod(k, 5),
        format('Building %s', mod(k, CAST(:locations AS integer))),
        (ARRAY['["projector", "whiteboard"]', '["whiteboard"]', '["projector"]', '[]'])
            [1 + mod(k / 2, 4)]::jsonb,
        CAST(:zone AS text), CAST(:opening_hours AS jsonb), 30, 730
    FROM generate_series(0, CAST(:count AS integer) - 1) AS k
"""

INSERT_USERS = """
    INSERT INTO users (email, password_hash, name, email_verified_at)
    SELECT format('%s-%s@bench.example', CAST(:kind AS text), u), 'not-a-password-hash',
        format('Bench %s %s', CAST(:kind AS text), u), now()
    FROM generate_series(0, CAST(:count AS integer) - 1) AS u
"""

NUMBERED = """
    CREATE TABLE bench_spaces AS SELECT id, row_number() OVER (ORDER BY name) - 1 AS k FROM spaces;
    CREATE UNIQUE INDEX ON bench_spaces (k);
    CREATE TABLE bench_holders AS
        SELECT id, row_number() OVER (ORDER BY email) - 1 AS u FROM users WHERE email LIKE 'holder-%';
    CREATE UNIQUE INDEX ON bench_holders (u);
    INSERT INTO series (user_id, space_id, rule)
        SELECT h.id, s.id, 'FREQ=DAILY'
        FROM bench_spaces AS s JOIN bench_holders AS h ON h.u = mod(s.k, {holders});
    CREATE TABLE bench_series AS
        SELECT se.id, s.k FROM series AS se JOIN bench_spaces AS s ON s.id = se.space_id;
    CREATE UNIQUE INDEX ON bench_series (k);
"""

# Row n is booking j = n / spaces of space k = mod(n, spaces), at anchor - 2h (j + 1), an hour later for
# odd k. Its hold is what the trigger writes: the time padded with the space's buffers, when active.
INSERT_RESERVATIONS = """
    WITH rows AS (
        SELECT mod(n, CAST(:spaces AS integer)) AS k, n / CAST(:spaces AS integer) AS j
        FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS n
    ), timed AS (
        SELECT k, j, CAST(:anchor AS timestamptz)
            - interval '1 hour' * (CAST(:step AS integer) * (j + 1) - mod(k, 2)) AS start_time
        FROM rows
    ), inserted AS (
        INSERT INTO reservations (user_id, space_id, start_time, end_time, status, cancelled_at,
                                  series_id, recurrence_id)
        SELECT h.id, s.id, t.start_time, t.start_time + interval '1 hour',
            CASE WHEN mod(t.j, {cancelled}) = {cancelled} - 1 THEN 'cancelled' ELSE 'active' END,
            CASE WHEN mod(t.j, {cancelled}) = {cancelled} - 1 THEN now() END,
            CASE WHEN mod(t.j, {series}) = 0 THEN se.id END,
            CASE WHEN mod(t.j, {series}) = 0 THEN t.start_time END
        FROM timed AS t
        JOIN bench_spaces AS s USING (k)
        JOIN bench_series AS se USING (k)
        JOIN bench_holders AS h ON h.u = mod(t.k, {holders})
        RETURNING id, space_id, start_time, end_time, status
    )
    INSERT INTO holds (space_id, during, reservation_id)
    SELECT i.space_id,
        tstzrange(i.start_time - make_interval(mins => s.buffer_before_minutes),
                  i.end_time + make_interval(mins => s.buffer_after_minutes)),
        i.id
    FROM inserted AS i JOIN spaces AS s ON s.id = i.space_id
    WHERE i.status = 'active'
"""

# The free hour after booking j of a space: closed for that space when mod(j, 50) = 25.
INSERT_SPACE_CLOSURES = """
    WITH closing AS (
        SELECT s.id AS space_id, CAST(:anchor AS timestamptz)
            - interval '1 hour' * (CAST(:step AS integer) * (j + 1) - mod(s.k, 2) - 1) AS start_time
        FROM bench_spaces AS s,
            generate_series(CAST(:first_j AS integer), CAST(:last_j AS integer)) AS j
        WHERE mod(j, {closed}) = {closed} / 2
    ), inserted AS (
        INSERT INTO closures (space_id, start_time, end_time, reason)
        SELECT space_id, start_time, start_time + interval '1 hour', 'bench' FROM closing
        RETURNING id, space_id, start_time, end_time
    )
    INSERT INTO holds (space_id, during, closure_id)
    SELECT space_id, tstzrange(start_time, end_time), id FROM inserted
"""

# ... and for its whole location when mod(j, 100) = 0 (a location's spaces share their hours).
INSERT_LOCATION_CLOSURES = """
    WITH closing AS (
        SELECT format('Building %s', l) AS location, CAST(:anchor AS timestamptz)
            - interval '1 hour' * (CAST(:step AS integer) * (j + 1) - mod(l, 2) - 1) AS start_time
        FROM generate_series(0, CAST(:locations AS integer) - 1) AS l,
            generate_series(CAST(:first_j AS integer), CAST(:last_j AS integer)) AS j
        WHERE mod(j, {closed}) = 0
    ), inserted AS (
        INSERT INTO closures (location, start_time, end_time, reason)
        SELECT location, start_time, start_time + interval '1 hour', 'bench' FROM closing
        RETURNING id, location, start_time, end_time
    )
    INSERT INTO holds (space_id, during, closure_id)
    SELECT s.id, tstzrange(i.start_time, i.end_time), i.id
    FROM inserted AS i JOIN spaces AS s ON s.location = i.location
"""


def anchor_instant() -> datetime:
    return datetime.combine(datetime.now(UTC).date() + timedelta(days=DAYS_AHEAD), datetime.min.time(), UTC)


def prepare(engine: Engine) -> None:
    """Spaces, users, each space's series, and the numbering the inserts join on."""
    from sqlalchemy import text

    from reservas.spaces.calendar import DAYS

    opening_hours = json.dumps({day: [["00:00", "24:00"]] for day in DAYS})
    with engine.begin() as db:
        if db.execute(text("SELECT count(*) FROM spaces")).scalar_one():
            raise SystemExit("the database already holds spaces: the benchmark needs an empty one")
        db.execute(
            text(INSERT_SPACES),
            {"zone": ZONE_NAME, "opening_hours": opening_hours, "count": SPACES, "locations": LOCATIONS},
        )
        db.execute(text(INSERT_USERS), {"kind": "holder", "count": HOLDERS})
        db.execute(text(INSERT_USERS), {"kind": "booker", "count": BOOKERS})
        for statement in NUMBERED.format(holders=HOLDERS).split(";"):
            if statement.strip():
                db.execute(text(statement))


def grow(engine: Engine, database_url: str, first: int, last: int, anchor: datetime) -> float:
    """Rows first..last - 1 (and the closures of their hours); seconds taken, VACUUM ANALYZE included."""
    from sqlalchemy import text

    started = time.perf_counter()
    with engine.begin() as db:
        db.execute(text("ALTER TABLE reservations DISABLE TRIGGER USER"))
    try:
        for batch_first in range(first, last, BATCH):
            batch_last = min(batch_first + BATCH, last) - 1
            t0 = time.perf_counter()
            with engine.begin() as db:
                db.execute(
                    text(
                        INSERT_RESERVATIONS.format(
                            cancelled=CANCELLED_EVERY, series=SERIES_EVERY, holders=HOLDERS
                        )
                    ),
                    {
                        "spaces": SPACES,
                        "first": batch_first,
                        "last": batch_last,
                        "anchor": anchor,
                        "step": STEP_HOURS,
                    },
                )
            print(f"  rows {batch_first:,}..{batch_last:,} in {time.perf_counter() - t0:.1f} s", flush=True)
    finally:
        with engine.begin() as db:
            db.execute(text("ALTER TABLE reservations ENABLE TRIGGER USER"))
    closing = {"anchor": anchor, "step": STEP_HOURS, "first_j": first // SPACES, "last_j": last // SPACES - 1}
    with engine.begin() as db:
        db.execute(text(INSERT_SPACE_CLOSURES.format(closed=CLOSED_EVERY)), closing)
        db.execute(
            text(INSERT_LOCATION_CLOSURES.format(closed=LOCATION_CLOSED_EVERY)),
            {**closing, "locations": LOCATIONS},
        )
    vacuum_analyze(database_url)
    return time.perf_counter() - started


def vacuum_analyze(database_url: str) -> None:
    from sqlalchemy import text

    from reservas.database import build_engine

    engine = build_engine(database_url, session_settings=BULK_WORK)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
            db.execute(text("VACUUM (ANALYZE) users, spaces, series, closures, reservations, holds"))
    finally:
        engine.dispose()


def table_counts(engine: Engine) -> dict[str, int]:
    from sqlalchemy import text

    with engine.connect() as db:
        row = db.execute(
            text(
                "SELECT (SELECT count(*) FROM reservations), "
                "(SELECT count(*) FROM reservations WHERE status = 'active'), "
                "(SELECT count(*) FROM reservations WHERE series_id IS NOT NULL), "
                "(SELECT count(*) FROM closures), (SELECT count(*) FROM holds), "
                "pg_total_relation_size('reservations') + pg_total_relation_size('holds')"
            )
        ).one()
    keys = ("reservations", "active", "in series", "closures", "holds", "bytes")
    return dict(zip(keys, row, strict=True))


# --- what to ask -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Questions:
    spaces: list[UUID]
    holders: list[UUID]
    bookers: list[UUID]
    days: list[date]


def questions(engine: Engine, smallest: int, anchor: datetime) -> Questions:
    """Local days every space has bookings on at the smallest size (and so at every size)."""
    from sqlalchemy import text

    per_space = smallest // SPACES
    first_day = (anchor - timedelta(hours=STEP_HOURS * per_space)).astimezone(ZONE).date() + timedelta(days=1)
    last_day = anchor.astimezone(ZONE).date() - timedelta(days=1)
    if last_day < first_day:
        raise SystemExit(
            f"the smallest size must give every space a whole day: at least {SPACES * 36:,} rows"
        )
    with engine.connect() as db:
        spaces = list(db.execute(text("SELECT id FROM bench_spaces ORDER BY k")).scalars())
        holders = list(db.execute(text("SELECT id FROM bench_holders ORDER BY u")).scalars())
        bookers = list(
            db.execute(text("SELECT id FROM users WHERE email LIKE 'booker-%' ORDER BY email")).scalars()
        )
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    return Questions(spaces, holders, bookers, days)


def load_user(db: Connection, user_id: UUID) -> User:
    from sqlalchemy import select

    from reservas.accounts.schemas import User
    from reservas.tables import users

    return User.model_validate(dict(db.execute(select(users).where(users.c.id == user_id)).mappings().one()))


def free_hour(space_index: int, day: date, hour: int) -> datetime:
    """A UTC hour of the day that the space's bookings leave free (they take even hours, or odd ones)."""
    start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=hour)
    if (start.hour + space_index) % 2 == 0:
        start += timedelta(hours=1)
    return start


# --- operations ------------------------------------------------------------------------------------


class Operations:
    """Each operation asks one random question through the code the API runs. The reads ask the same
    questions at every size (`same_questions`); the writes go on to slots nobody booked yet."""

    def __init__(self, db: Connection, q: Questions, anchor: datetime) -> None:
        from reservas.spaces import calendar

        self.db, self.q, self.anchor = db, q, anchor
        self.reads = random.Random(SEED)
        self.writes = random.Random(SEED + 1)
        self.holders = [load_user(db, holder) for holder in random.Random(SEED).sample(q.holders, 50)]
        self.bookers = [load_user(db, booker) for booker in q.bookers]
        db.rollback()
        self.bookings_made = 0
        self.taken: set[tuple[int, datetime]] = set()  # (space index, start) booked during the run
        # The lists ask from (or up to) the last day measured, not now: the holders have bookings on
        # both sides of it at every size, and each step adds only to what came before it.
        self.since = calendar.day_window(q.days[-1], q.days[-1], ZONE).start

    def same_questions(self) -> None:
        self.reads = random.Random(SEED)

    def _space_day(self, rng: random.Random) -> tuple[int, UUID, date]:
        index = rng.randrange(SPACES)
        return index, self.q.spaces[index], rng.choice(self.q.days)

    def held_intervals(self) -> None:
        from reservas.spaces import calendar, repository

        _, space_id, day = self._space_day(self.reads)
        window = calendar.day_window(day, day, ZONE)
        repository.held_intervals(self.db, space_id, window.start, window.end)

    def availability(self) -> None:
        from reservas.spaces import cache, service

        _, space_id, day = self._space_day(self.reads)
        cache.bookings_changed(space_id)
        service.availability(self.db, space_id, None, day=day, first=None, last=None)

    def search(self) -> None:
        from reservas.pagination import DEFAULT_LIMIT
        from reservas.spaces import service

        day = self.reads.choice(self.q.days)
        start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=self.reads.randrange(24))
        service.available_spaces(
            self.db,
            start=start,
            end=start + timedelta(hours=1),
            capacity_min=SEARCH_CAPACITY,
            amenities=[SEARCH_AMENITY],
            limit=DEFAULT_LIMIT,
            cursor=None,
        )

    def upcoming(self) -> None:
        from reservas.reservations import service

        user = self.reads.choice(self.holders)
        page = service.search(self.db, user, ends_after=self.since, limit=LIST_LIMIT, cursor=None)
        assert len(page.items) == LIST_LIMIT

    def past(self) -> None:
        from reservas.reservations import service

        user = self.reads.choice(self.holders)
        page = service.search(self.db, user, starts_before=self.since, limit=LIST_LIMIT, cursor=None)
        assert len(page.items) == LIST_LIMIT

    def _free_slot(self) -> tuple[UUID, datetime]:
        """A free hour of a space on a measured day that no closure and no booking of this run holds."""
        while True:
            index, space_id, day = self._space_day(self.writes)
            start = free_hour(index, day, self.writes.randrange(0, 22))
            j = (int((self.anchor - start) / timedelta(hours=1)) - 1 + index % 2) // 2  # the booking before
            closed = j % CLOSED_EVERY == CLOSED_EVERY // 2 or j % LOCATION_CLOSED_EVERY == 0
            if not closed and (index, start) not in self.taken:
                self.taken.add((index, start))
                return space_id, start

    def _booker(self) -> tuple[User, audit.Actor]:
        from reservas import audit

        user = self.bookers[self.bookings_made // BOOKINGS_PER_BOOKER]
        self.bookings_made += 1
        return user, audit.Actor(user_id=user.id, address="127.0.0.1")

    def book(self) -> None:
        from reservas.reservations import service
        from reservas.reservations.schemas import BookingRequest

        space_id, start = self._free_slot()
        user, actor = self._booker()
        request = BookingRequest(space_id=space_id, start_time=start, end_time=start + timedelta(hours=1))
        booked = service.book(self.db, user, request, actor=actor)
        assert not booked.replayed

    def book_series(self) -> None:
        from reservas.reservations import series
        from reservas.reservations.schemas import SeriesRequest

        space_id, start = self._free_slot()
        user, actor = self._booker()
        request = SeriesRequest(
            space_id=space_id, start_time=start, end_time=start + timedelta(hours=1), rule=SERIES_RULE
        )
        booked = series.book_series(self.db, user, request, actor=actor)
        assert len(booked.occurrences) == 52, booked.skipped


# (measure, Operations method, runs as a share of --runs)
MEASURES: list[tuple[str, Callable[[Operations], Callable[[], None]], float]] = [
    ("availability, database layer", lambda o: o.held_intervals, 1.0),
    ("availability, service, uncached", lambda o: o.availability, 1.0),
    ("search, all spaces, one hour", lambda o: o.search, 1.0),
    ("my reservations, from a day on (100)", lambda o: o.upcoming, 1.0),
    ("my reservations, up to a day (100)", lambda o: o.past, 1.0),
    ("book", lambda o: o.book, 0.5),
    ("book a 52-week series", lambda o: o.book_series, 0.1),
]


def measure_size(db: Connection, operations: Operations, runs: int, size: str, measured: Measured) -> None:
    operations.same_questions()
    for name, pick, share in MEASURES:
        operation = pick(operations)
        count = max(5, int(runs * share))
        warmup = min(WARMUP, count)
        for _ in range(warmup):
            operation()
        db.rollback()
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            operation()
            samples.append((time.perf_counter() - started) * 1000)
            db.rollback()  # the reads leave a transaction open, as a request's would be closed
        measured.add(name, size, samples)
        p50, p95 = summarise(samples)
        print(f"  {size} {name}: p50 {p50:.2f} ms, p95 {p95:.2f} ms ({count} runs)", flush=True)


# --- plans -----------------------------------------------------------------------------------------


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every (SQL, parameters) sent through the engine inside the block, exactly as sent to pg8000."""
    from sqlalchemy import event

    statements: list[tuple[str, Any]] = []

    def capture(connection, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def explain_all(engine: Engine, db: Connection, operations: Operations) -> list[Plan]:
    """EXPLAIN (ANALYZE, BUFFERS) of each SELECT (and SELECT-driven UPDATE) every operation sent, in a
    transaction rolled back; INSERTs are left out (their cost is the indexes and the constraint)."""
    plans: list[Plan] = []
    for name, pick, _ in MEASURES:
        db.rollback()
        with captured(engine) as statements:
            pick(operations)()
        db.rollback()
        seen = set()
        for statement, parameters in statements:
            head = statement.lstrip().split(None, 1)[0].upper()
            if head not in ("SELECT", "WITH", "UPDATE") or statement in seen or "pg_catalog" in statement:
                continue
            if head == "SELECT" and statement.strip().upper() == "SELECT 1":
                continue
            seen.add(statement)
            try:
                rows = db.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).scalars()
                text = "\n".join(rows)
            except Exception as error:
                text = f"(not explained: {type(error).__name__})"
            db.rollback()
            plans.append(Plan(name, " ".join(statement.split()), _shown(parameters), text, _seq_scans(text)))
    return plans


def _shown(parameters: Any) -> str:
    values = parameters if isinstance(parameters, (list, tuple)) else [parameters]
    return ", ".join(repr(v)[:80] for v in values)


def _seq_scans(plan: str) -> list[str]:
    tables = re.findall(r"Seq Scan on (?:\w+\.)?(\w+)", plan)
    return sorted({t for t in tables if t in GROWING_TABLES})


# --- report ----------------------------------------------------------------------------------------


def as_result(
    measured: Measured,
    sizes: list[int],
    loads: dict[str, float],
    counts: dict[str, dict[str, int]],
    plans: list[Plan],
    postgres: str,
) -> Result:
    labels = [size_label(size) for size in sizes]
    smallest, largest = labels[0], labels[-1]
    result = Result(samples={f"Scale: {m}": s for m, s in measured.samples.items()})
    for name, _, _ in MEASURES:
        by_size = measured.samples[name]
        p50s = {label: summarise(by_size[label])[0] for label in labels}
        for label in labels:
            p50, p95 = summarise(by_size[label])
            verdict = "-"
            if label == largest and len(labels) > 1:
                ratio = p50s[largest] / p50s[smallest]
                judged = "pass" if ratio <= RATIO_BOUND else "FAIL"
                verdict = f"{judged}: p50 {ratio:.2f}x the {smallest} one (bound {RATIO_BOUND:g}x)"
                if ratio > RATIO_BOUND:
                    result.failures.append(
                        f"Scale: {name}: p50 at {largest} is {ratio:.2f}x the {smallest} one"
                    )
                target = TARGETS_MS.get(name)
                if target is not None:
                    met = p95 <= target
                    verdict += f"; target p95 <= {target:g} ms {'met' if met else 'MISSED'}"
                    if not met:
                        result.failures.append(
                            f"Scale: {name}: p95 {p95:.2f} ms > {target:g} ms at {largest}"
                        )
            result.rows.append(
                Row(
                    f"Scale, {label}",
                    f"{name} ({len(by_size[label])} runs)",
                    f"{p50:.2f} ms",
                    f"{p95:.2f} ms",
                    verdict,
                )
            )
    scanned = sorted({f"{p.operation}: {t}" for p in plans for t in p.growing_seq_scans})
    result.rows.append(
        Row(
            f"Scale, {largest}",
            "plans: sequential scans of a growing table",
            str(len(scanned)),
            "-",
            "pass" if not scanned else "FAIL: " + "; ".join(scanned),
        )
    )
    if scanned:
        result.failures.append(f"Scale: sequential scans of growing tables: {'; '.join(scanned)}")
    for label in labels:
        c = counts[label]
        result.notes.append(
            f"Scale, {label}: {c['reservations']:,} reservations ({c['active']:,} active, {c['in series']:,} "
            f"in series), {c['closures']:,} closures, {c['holds']:,} holds, reservations and holds "
            f"{c['bytes'] / 2**30:.2f} GiB; grown to it in {loads[label]:.0f} s "
            "(inserts, closures, VACUUM ANALYZE)"
        )
    result.notes.append(
        f"Scale: {SPACES:,} spaces in {LOCATIONS} locations; the search asks capacity >= {SEARCH_CAPACITY} "
        f"and "
        f"{SEARCH_AMENITY!r} (15% of the spaces, half of them free in a given hour), first page "
        f"(the route's default limit); the lists are of holders with 1/{HOLDERS} of the bookings each. Each "
        "timing is one call on a warm connection, then a rollback (the transaction a request closes)."
    )
    result.tables = [plan_markdown(plan) for plan in plans]
    result.meta["postgresql"] = postgres
    return result


def plan_markdown(plan: Plan) -> str:
    return "\n".join(
        [
            f"#### {plan.operation}",
            "",
            "```sql",
            plan.sql,
            "```",
            "",
            f"Parameters: `{plan.parameters}`" if plan.parameters else "No parameters.",
            "",
            "```",
            plan.text,
            "```",
        ]
    )


# --- main ------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="reservations after each step, comma-separated, growing (default 250k, 1M, 10M)",
    )
    parser.add_argument("--runs", type=int, default=200, help="timed runs per measure and size (default 200)")
    parser.add_argument("--json", help="write the result here (for bench/report.py)")
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",")]
    if args.sizes != sorted(set(args.sizes)) or any(s % SPACES for s in args.sizes):
        parser.error(f"--sizes must grow, each a multiple of {SPACES:,}")
    writes = sum(max(5, int(args.runs * share)) + WARMUP for name, _, share in MEASURES if "book" in name)
    needed = len(args.sizes) * writes + 10
    if needed > BOOKERS * BOOKINGS_PER_BOOKER:
        parser.error("too many runs for the bookers: lower --runs")
    return args


def main() -> int:
    args = parse_args()
    return devservices.serving(lambda services: run(args, services))


def run(args: argparse.Namespace, services: devservices.Services) -> int:
    from sqlalchemy import text

    from reservas.database import build_engine, get_engine
    from reservas.migrations import upgrade

    print(f"PostgreSQL: {services.database_origin}\nRedis:      {services.redis_origin}", flush=True)
    anchor = anchor_instant()
    bulk = build_engine(services.database_url, session_settings=BULK_WORK)
    upgrade(bulk)
    prepare(bulk)
    q = questions(bulk, args.sizes[0], anchor)
    measured = Measured()
    loads: dict[str, float] = {}
    counts: dict[str, dict[str, int]] = {}
    loaded = 0
    engine = get_engine()
    db = engine.connect()
    operations = Operations(db, q, anchor)
    for size in args.sizes:
        label = size_label(size)
        print(f"Growing to {size:,} reservations...", flush=True)
        loads[label] = grow(bulk, services.database_url, loaded, size, anchor)
        loaded = size
        counts[label] = table_counts(bulk)
        print(f"  grown in {loads[label]:.0f} s: {counts[label]}", flush=True)
        measure_size(db, operations, args.runs, label, measured)
    plans = explain_all(engine, db, operations)
    postgres = db.execute(text("SELECT version()")).scalar_one().split(" on ")[0]
    db.close()
    bulk.dispose()
    for plan in plans:
        print(f"\n{plan.operation}:\n  {plan.sql}\n  ({plan.parameters})\n{plan.text}")
    result = as_result(measured, args.sizes, loads, counts, plans, postgres)
    result.print_markdown()
    result.save(args.json)
    return 1 if result.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
