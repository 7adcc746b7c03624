"""Benchmark: how fast is the availability of one space for one day, on a realistically large table?

Run it with `make bench`, or directly:

    .venv/bin/python bench/availability.py [--reservations 1000000] [--runs 500]

It starts a throwaway PostgreSQL and Redis (or adopts DATABASE_URL / REDIS_URL, as `make dev` does;
an adopted database must be empty), applies the migrations, and loads its own data with set-based SQL:
one user, 1,000 spaces in Europe/Madrid open around the clock, and the reservations spread evenly over
them, one hour every two hours from 30 days ahead, so each local day of a space holds about 12 active
reservations; every 20th one is cancelled (5%). The real schema is kept, the GiST exclusion constraint
`holds_no_overlap` included. Then, for a different space and day on each run, it measures:

- the database layer, uncached: `repository.held_intervals` alone (target: p95 <= 10 ms);
- the service, uncached: `service.availability` after `bookings_changed` invalidated the space's
  availability, as a booking does (no target);
- the service, cached: `service.availability` again right after a warm call (target: p95 <= 1 ms).

Timings are taken on one open session with a warm connection, so they leave out what opening a request
adds (pool checkout with its pre-ping, BEGIN). Finally it runs EXPLAIN (ANALYZE, BUFFERS) on the exact
SQL and parameters `held_intervals` sent, and checks the plan uses the index `holds_no_overlap`.

Exit status: 0 when both targets are met and the plan uses that index, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common")]

from bench.common import Result, Row, size_label  # noqa: E402
from devtools import devservices  # noqa: E402

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from reservas.spaces.schemas import Availability

ZONE_NAME = "Europe/Madrid"
ZONE = ZoneInfo(ZONE_NAME)
SPACE_COUNT = 1_000
DAYS_AHEAD = 30  # the first reservation starts at UTC midnight this many days from today
HOURS_BETWEEN_STARTS = 2  # one-hour reservations every two hours: ~12 per day, with free hours between
CANCELLED_EVERY = 20  # every 20th reservation of a space is cancelled: 5%
BATCH_SIZE = 250_000
WARMUP_RUNS = 50
# Loading and VACUUM run far longer than the API's statement timeout (the role's default) allows, and
# VACUUM may wait for autovacuum to let go of a freshly loaded table longer than its lock timeout.
BULK_WORK = {"statement_timeout": "0", "lock_timeout": "0"}
SEED = 20261128

TARGET_DATABASE_P95_MS = 10.0
TARGET_CACHED_P95_MS = 1.0
GIST_INDEX = "holds_no_overlap"


@dataclass(frozen=True)
class Case:
    """One availability question: this space, this local day."""

    space_id: UUID
    day: date


@dataclass(frozen=True)
class Percentiles:
    p50: float
    p95: float
    p99: float


@dataclass(frozen=True)
class PlanCheck:
    index_nodes: list[tuple[str, str]]  # (node type, index name) of every node that reads an index
    execution_ms: float
    uses_gist_index: bool


@dataclass(frozen=True)
class Loaded:
    total: int
    active: int
    space_ids: list[UUID]
    insert_seconds: float
    seconds: float  # inserting plus VACUUM ANALYZE


@dataclass(frozen=True)
class Checks:
    busy_per_day: list[int]
    uncached_statements: int
    cached_statements: int
    plan: PlanCheck
    postgres_version: str


# --- setup -----------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reservations", type=int, default=1_000_000, help="rows to load (default 1,000,000)"
    )
    parser.add_argument("--runs", type=int, default=500, help="timed runs per measure (default 500)")
    parser.add_argument("--json", help="write the result here (for bench/report.py)")
    args = parser.parse_args()
    if args.reservations < SPACE_COUNT:
        parser.error(f"--reservations must be at least {SPACE_COUNT} (one per space)")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def first_reservation_start() -> datetime:
    return datetime.combine(datetime.now(UTC).date() + timedelta(days=DAYS_AHEAD), datetime.min.time(), UTC)


# --- loading ---------------------------------------------------------------------------------------

INSERT_USER = """
    INSERT INTO users (email, password_hash, name)
    VALUES ('bench@reservas.example', 'not-a-password-hash', 'Benchmark user')
    RETURNING id
"""

INSERT_SPACES = """
    INSERT INTO spaces (name, capacity, timezone, opening_hours, slot_minutes, max_advance_days)
    SELECT format('Bench space %s', lpad(k::text, 4, '0')), 4,
        CAST(:zone AS text), CAST(:opening_hours AS jsonb), 30, 730
    FROM generate_series(0, CAST(:count AS integer) - 1) AS k
"""

# Row n goes to space mod(n, spaces) as that space's reservation number j = n / spaces, which starts
# j * step hours after first_start. Active ones never overlap within a space, as the constraint demands.
# (pg8000 sends parameters untyped, hence the casts.)
INSERT_RESERVATIONS = """
    WITH params AS (
        SELECT
            CAST(:spaces AS integer) AS spaces,
            CAST(:step AS integer) AS step,
            CAST(:cancelled_every AS integer) AS cancelled_every,
            CAST(:first_start AS timestamptz) AS first_start,
            CAST(:user_id AS uuid) AS user_id
    ), numbered_spaces AS (
        SELECT id, row_number() OVER (ORDER BY name) - 1 AS k FROM spaces
    ), numbered_rows AS (
        SELECT mod(n, p.spaces) AS k, n / p.spaces AS j
        FROM params AS p, generate_series(CAST(:first_row AS integer), CAST(:last_row AS integer)) AS n
    )
    INSERT INTO reservations (user_id, space_id, start_time, end_time, status, cancelled_at)
    SELECT
        p.user_id,
        s.id,
        p.first_start + interval '1 hour' * (p.step * r.j),
        p.first_start + interval '1 hour' * (p.step * r.j + 1),
        CASE WHEN mod(r.j, p.cancelled_every) = p.cancelled_every - 1 THEN 'cancelled' ELSE 'active' END,
        CASE WHEN mod(r.j, p.cancelled_every) = p.cancelled_every - 1 THEN now() END
    FROM params AS p, numbered_rows AS r JOIN numbered_spaces AS s USING (k)
"""


def load_data(engine: Engine, reservation_count: int, first_start: datetime) -> None:
    """One user, the spaces, then the reservations in batches of BATCH_SIZE rows, each committed."""
    from sqlalchemy import text

    from reservas.spaces.calendar import DAYS

    opening_hours = json.dumps({day: [["00:00", "24:00"]] for day in DAYS})
    with engine.begin() as connection:
        existing = connection.execute(
            text("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM spaces)")
        ).scalar_one()
        if existing:
            raise SystemExit("the database already holds users or spaces: the benchmark needs an empty one")
        user_id = connection.execute(text(INSERT_USER)).scalar_one()
        connection.execute(
            text(INSERT_SPACES), {"zone": ZONE_NAME, "opening_hours": opening_hours, "count": SPACE_COUNT}
        )
    for first_row in range(0, reservation_count, BATCH_SIZE):
        last_row = min(first_row + BATCH_SIZE, reservation_count) - 1
        started = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(
                text(INSERT_RESERVATIONS),
                {
                    "spaces": SPACE_COUNT,
                    "first_row": first_row,
                    "last_row": last_row,
                    "user_id": user_id,
                    "first_start": first_start,
                    "step": HOURS_BETWEEN_STARTS,
                    "cancelled_every": CANCELLED_EVERY,
                },
            )
        print(f"  rows {first_row:,}..{last_row:,} in {time.perf_counter() - started:.1f} s", flush=True)


def vacuum_analyze(database_url: str) -> None:
    """Statistics for the planner, plus the visibility map and hint bits a table in service would have
    (and no autovacuum running in the middle of the measurements). VACUUM needs autocommit, on a fresh
    connection: a pooled one is already inside the transaction that pg8000 began for the pre-ping."""
    from sqlalchemy import text

    from reservas.database import build_engine

    engine = build_engine(database_url, session_settings=BULK_WORK)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM (ANALYZE) users, spaces, reservations, holds"))
    finally:
        engine.dispose()


def count_reservations(engine: Engine) -> tuple[int, int]:
    """(all reservations, active ones)."""
    from sqlalchemy import text

    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT count(*), count(*) FILTER (WHERE status = 'active') FROM reservations")
        ).one()
    return row[0], row[1]


def space_ids(engine: Engine) -> list[UUID]:
    from sqlalchemy import text

    with engine.connect() as connection:
        return list(connection.execute(text("SELECT id FROM spaces ORDER BY name")).scalars())


# --- what to ask -----------------------------------------------------------------------------------


def populated_days(reservation_count: int, first_start: datetime) -> list[date]:
    """Local days that every space has reservations on, the partial first and last ones left out."""
    per_space = reservation_count // SPACE_COUNT
    last_start = first_start + timedelta(hours=HOURS_BETWEEN_STARTS * (per_space - 1))
    first_day = first_start.astimezone(ZONE).date() + timedelta(days=1)
    last_day = last_start.astimezone(ZONE).date() - timedelta(days=1)
    if last_day < first_day:  # too few reservations for a full day: take the one there is
        return [first_start.astimezone(ZONE).date()]
    return [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]


def random_cases(rng: random.Random, spaces: list[UUID], days: list[date], count: int) -> list[Case]:
    return [Case(rng.choice(spaces), rng.choice(days)) for _ in range(count)]


# --- timing ----------------------------------------------------------------------------------------


def elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def ask_availability(session: Session, case: Case) -> Availability:
    from reservas.spaces import service

    return service.availability(session, case.space_id, None, day=case.day, first=None, last=None)


def time_database_layer(session: Session, case: Case) -> float:
    from reservas.spaces import calendar, repository

    window = calendar.day_window(case.day, case.day, ZONE)
    started = time.perf_counter()
    repository.held_intervals(session, case.space_id, window.start, window.end)
    return elapsed_ms(started)


def time_service_uncached(session: Session, case: Case) -> float:
    from reservas.spaces import cache as spaces_cache

    spaces_cache.bookings_changed(case.space_id)
    started = time.perf_counter()
    ask_availability(session, case)
    return elapsed_ms(started)


def time_service_cached(session: Session, case: Case) -> float:
    ask_availability(session, case)  # warms the cache for this space and day
    started = time.perf_counter()
    ask_availability(session, case)
    return elapsed_ms(started)


# (name, target p95 in ms or None when informative, timer)
MEASURES = [
    ("availability, database layer, uncached", TARGET_DATABASE_P95_MS, time_database_layer),
    ("availability, service, uncached", None, time_service_uncached),
    ("availability, service, cached (Redis)", TARGET_CACHED_P95_MS, time_service_cached),
]


def sample(
    timer: Callable[[Session, Case], float], session: Session, warmup: list[Case], cases: list[Case]
) -> list[float]:
    for case in warmup:
        timer(session, case)
    return [timer(session, case) for case in cases]


def percentiles(samples: list[float]) -> Percentiles:
    if len(samples) == 1:
        return Percentiles(samples[0], samples[0], samples[0])
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return Percentiles(p50=cuts[49], p95=cuts[94], p99=cuts[98])


# --- checks ----------------------------------------------------------------------------------------


@contextmanager
def captured_statements(engine: Engine) -> Iterator[list[tuple[str, object]]]:
    """Every (SQL, parameters) sent through the engine inside the block, exactly as sent to pg8000."""
    from sqlalchemy import event

    statements: list[tuple[str, object]] = []

    def capture(connection, cursor, statement, parameters, context, executemany) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def explain_held_intervals(session: Session, case: Case) -> PlanCheck:
    """EXPLAIN (ANALYZE, BUFFERS) of the statement held_intervals really sends, with its parameters."""
    from reservas.spaces import calendar, repository

    window = calendar.day_window(case.day, case.day, ZONE)
    with captured_statements(session.get_bind()) as statements:
        repository.held_intervals(session, case.space_id, window.start, window.end)
    [(statement, parameters)] = statements
    explain = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement
    [result] = session.connection().exec_driver_sql(explain, parameters).scalar_one()
    print_plan(statement, result["Plan"])
    index_nodes = [
        (node["Node Type"], node["Index Name"]) for node in plan_nodes(result["Plan"]) if "Index Name" in node
    ]
    return PlanCheck(
        index_nodes=index_nodes,
        execution_ms=result["Execution Time"],
        uses_gist_index=any(name == GIST_INDEX for _, name in index_nodes),
    )


def plan_nodes(node: dict) -> Iterator[dict]:
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def print_plan(statement: str, plan: dict, depth: int = 0) -> None:
    if depth == 0:
        print("\nSQL of held_intervals (as sent, parameters as %s):\n  " + " ".join(statement.split()))
        print("Plan:")
    details = [f"on {plan['Index Name']}"] if "Index Name" in plan else []
    for key in ("Index Cond", "Recheck Cond", "Filter"):
        if key in plan:
            details.append(f"{key}: {plan[key]}")
    buffers = f"shared hit={plan.get('Shared Hit Blocks', 0)} read={plan.get('Shared Read Blocks', 0)}"
    line = " ".join([f"-> {plan['Node Type']}", f"rows={plan['Actual Rows']}", buffers, *details])
    print(f"  {'  ' * depth}{line}")
    for child in plan.get("Plans", []):
        print_plan(statement, child, depth + 1)


def statements_per_call(session: Session, case: Case, *, warm: bool) -> int:
    """How many SQL statements one availability call sends: 0 proves a cached call hit Redis."""
    from reservas.spaces import cache as spaces_cache

    if warm:
        ask_availability(session, case)
    else:
        spaces_cache.bookings_changed(case.space_id)
    with captured_statements(session.get_bind()) as statements:
        ask_availability(session, case)
    return len(statements)


def busy_per_day(session: Session, cases: list[Case]) -> list[int]:
    from reservas.spaces import calendar, repository

    counts = []
    for case in cases:
        window = calendar.day_window(case.day, case.day, ZONE)
        counts.append(len(repository.held_intervals(session, case.space_id, window.start, window.end)))
    return counts


def postgres_version(session: Session) -> str:
    from sqlalchemy import text

    return session.execute(text("SELECT version()")).scalar_one()


# --- report ----------------------------------------------------------------------------------------


def load_average() -> str:
    return " / ".join(f"{load:.2f}" for load in os.getloadavg())


def verdict(value: float, target: float | None) -> str:
    if target is None:
        return "informative"
    return "pass" if value <= target else "FAIL"


def table_row(measure: str, target: float | None, result: Percentiles) -> str:
    target_text = "-" if target is None else f"p95 <= {target:g} ms"
    return (
        f"| {measure} | {target_text} | {result.p50:.3f} | {result.p95:.3f} | {result.p99:.3f} "
        f"| {verdict(result.p95, target)} |"
    )


def failures(results: dict[str, Percentiles], checks: Checks) -> list[str]:
    failed = []
    for name, target, _ in MEASURES:
        if target is not None and results[name].p95 > target:
            failed.append(f"{name}: p95 {results[name].p95:.3f} ms > {target:g} ms")
    if not checks.plan.uses_gist_index:
        failed.append(f"the plan of held_intervals does not use {GIST_INDEX}")
    if checks.cached_statements:
        failed.append(f"a cached call still sent {checks.cached_statements} SQL statement(s): no Redis hit")
    return failed


# --- main ------------------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    return devservices.serving(lambda services: run(args, services))


def run(args: argparse.Namespace, services: devservices.Services) -> int:
    from sqlalchemy.orm import Session

    from reservas.database import get_engine

    print(f"PostgreSQL: {services.database_origin}\nRedis:      {services.redis_origin}", flush=True)
    first_start = first_reservation_start()
    loaded = prepare_database(services.database_url, args.reservations, first_start)
    days = populated_days(args.reservations, first_start)
    rng = random.Random(SEED)
    with Session(get_engine(), expire_on_commit=False) as session:
        samples = measure_all(session, rng, loaded.space_ids, days, args.runs)
        checks = run_checks(session, rng, loaded.space_ids, days)
    results = {name: percentiles(values) for name, values in samples.items()}
    print_report(args, services, loaded, results, checks)
    failed = failures(results, checks)
    for failure in failed:
        print(f"FAILED: {failure}")
    result = as_result(args, loaded, results, checks, failed)
    result.samples[title(args.reservations)] = samples
    result.save(args.json)
    return 1 if failed else 0


def title(reservations: int) -> str:
    return f"Availability, {size_label(reservations)}"


def as_result(
    args: argparse.Namespace,
    loaded: Loaded,
    results: dict[str, Percentiles],
    checks: Checks,
    failed: list[str],
) -> Result:
    """The figures for bench/report.py, as every benchmark hands them over."""
    result = Result(failures=[f"availability: {failure}" for failure in failed])
    for name, target, _ in MEASURES:
        measured = results[name]
        judged = verdict(measured.p95, target)
        result.rows.append(
            Row(
                title(args.reservations),
                name.removeprefix("availability, ") + f" ({args.runs} runs)",
                f"{measured.p50:.3f} ms",
                f"{measured.p95:.3f} ms",
                judged if target is None else f"{judged} (p95 <= {target:g} ms)",
            )
        )
    plan = checks.plan
    used = ", ".join(f"{node_type} on {index}" for node_type, index in plan.index_nodes) or "no index"
    result.rows.append(
        Row(
            title(args.reservations),
            "plan of held_intervals uses the GiST index",
            "yes" if plan.uses_gist_index else "no",
            "-",
            ("pass" if plan.uses_gist_index else "FAIL") + f" ({used})",
        )
    )
    busy = checks.busy_per_day
    result.notes += [
        f"Availability: reservations: {loaded.total:,} ({loaded.active:,} active, "
        f"{loaded.total - loaded.active:,} cancelled), {SPACE_COUNT:,} spaces",
        f"Availability: busy intervals per measured day: min {min(busy)}, mean {statistics.mean(busy):.1f}, "
        f"max {max(busy)}",
        f"Availability: SQL statements per call: uncached {checks.uncached_statements}, "
        f"cached {checks.cached_statements}",
        f"Availability: load time: {loaded.seconds:.1f} s ({loaded.insert_seconds:.1f} s inserting, "
        "then VACUUM ANALYZE)",
    ]
    result.meta["postgresql"] = checks.postgres_version.split(" on ")[0]
    return result


def prepare_database(database_url: str, reservation_count: int, first_start: datetime) -> Loaded:
    from reservas.database import build_engine
    from reservas.migrations import upgrade

    engine = build_engine(database_url, session_settings=BULK_WORK)
    try:
        upgrade(engine)
        print(f"Loading {reservation_count:,} reservations over {SPACE_COUNT:,} spaces...", flush=True)
        started = time.perf_counter()
        load_data(engine, reservation_count, first_start)
        insert_seconds = time.perf_counter() - started
        vacuum_analyze(database_url)
        seconds = time.perf_counter() - started
        print(f"Loaded in {seconds:.1f} s ({insert_seconds:.1f} s inserting, the rest VACUUM ANALYZE)")
        total, active = count_reservations(engine)
        return Loaded(total, active, space_ids(engine), insert_seconds, seconds)
    finally:
        engine.dispose()


def measure_all(
    session: Session, rng: random.Random, spaces: list[UUID], days: list[date], runs: int
) -> dict[str, list[float]]:
    """The samples of each measure, in ms."""
    warmup = random_cases(rng, spaces, days, WARMUP_RUNS)
    samples = {}
    for name, _, timer in MEASURES:
        print(f"Measuring {name}: {WARMUP_RUNS} warm-up runs, then {runs}...", flush=True)
        samples[name] = sample(timer, session, warmup, random_cases(rng, spaces, days, runs))
    return samples


def run_checks(session: Session, rng: random.Random, spaces: list[UUID], days: list[date]) -> Checks:
    case = random_cases(rng, spaces, days, 1)[0]
    return Checks(
        busy_per_day=busy_per_day(session, random_cases(rng, spaces, days, 100)),
        uncached_statements=statements_per_call(session, case, warm=False),
        cached_statements=statements_per_call(session, case, warm=True),
        plan=explain_held_intervals(session, case),
        postgres_version=postgres_version(session),
    )


def print_report(
    args: argparse.Namespace,
    services: devservices.Services,
    loaded: Loaded,
    results: dict[str, Percentiles],
    checks: Checks,
) -> None:
    plan, busy = checks.plan, checks.busy_per_day
    used = ", ".join(f"{node_type} on {index}" for node_type, index in plan.index_nodes) or "no index"
    print()
    print("| measure | target | p50 ms | p95 ms | p99 ms | verdict |")
    print("|---|---|---:|---:|---:|---|")
    for name, target, _ in MEASURES:
        print(table_row(name, target, results[name]))
    print()
    print(
        f"- plan uses GiST index {GIST_INDEX}: {'yes' if plan.uses_gist_index else 'no'} ({used}; "
        f"EXPLAIN ANALYZE execution {plan.execution_ms:.3f} ms)"
    )
    print(
        f"- reservations: {loaded.total:,} ({loaded.active:,} active, "
        f"{loaded.total - loaded.active:,} cancelled), {SPACE_COUNT:,} spaces"
    )
    print(
        f"- busy intervals per measured day: min {min(busy)}, "
        f"mean {statistics.mean(busy):.1f}, max {max(busy)}"
    )
    print(
        f"- SQL statements per call: uncached {checks.uncached_statements}, cached {checks.cached_statements}"
    )
    print(
        f"- load time: {loaded.seconds:.1f} s ({loaded.insert_seconds:.1f} s inserting, then VACUUM ANALYZE)"
    )
    print(f"- runs per measure: {args.runs} after {WARMUP_RUNS} warm-up runs")
    print(
        f"- machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {load_average()} at the end (other work on the machine skews the tail)"
    )
    print(f"- PostgreSQL: {checks.postgres_version} ({services.database_origin})")
    print(f"- Redis: {services.redis_origin}")


if __name__ == "__main__":
    raise SystemExit(main())
