"""Reservas through HTTP: the local API (`devtools/local_api.py`) under a read-heavy load, and the race
checker against it next to the naive check-then-insert baseline.

    .venv/bin/python bench/local_api_load.py load [--clients 8,32] [--rounds 3] [--seconds 5]
    .venv/bin/python bench/local_api_load.py race [--clients 16] [--operations 30] [--seeds 1,2,3]

Both start a PostgreSQL and a redis-server of their own (devtools/devservices.py), then
`devtools/local_api.py --ephemeral --no-seed` on a free loopback port, as a subprocess pointed at them,
with rate limits off (every client comes from 127.0.0.1) and room for 10,000 upcoming reservations per
user. Accounts and spaces are made through HTTP; the only SQL is the one that makes an account admin.

load: N client threads (httpx2, one connection pool each) send, for a bounded time and count, a mix
of 45% GET /spaces/{id}/availability?date=... (14 days x 5 spaces), 35% GET /spaces (anonymous), 15%
GET /reservations and 5% POST /reservations (random 30/60-minute slots over 60 days). Each level runs
`--rounds` rounds of `--seconds` after an untimed warm-up; throughput and latency percentiles are the
medians of the rounds' own. The clients share the machine with the server: on a small machine their
own CPU use lowers what the server gets.

race: bench/race_checker.py's Workload (clients x operations, 3 new spaces per run, 30-minute grid
from 09:00 on a day ahead) through the local API, checked against the database; then the same
Workload against run_naive_baseline. Repeated once per seed.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import os
import random
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common")]

import httpx2 as httpx  # noqa: E402

from bench.common import Result, Row, fmt_ms, percentile  # noqa: E402
from devtools import devservices, local_api_process  # noqa: E402
from devtools.local_api_process import LocalApi  # noqa: E402

ZONE_NAME = "Europe/Madrid"
ZONE = ZoneInfo(ZONE_NAME)
PASSWORD = "Bench-Horse-2718"  # noqa: S105 (the benchmark accounts' password)
EVERY_DAY = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
MIX = (("availability", 45), ("spaces", 35), ("my reservations", 15), ("book", 5))
MAX_REQUESTS_PER_ROUND = 50_000


# --- the local API as a subprocess -----------------------------------------------------------------


def start_local_api(services: devservices.Services) -> LocalApi:
    env = {
        **os.environ,
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "RESERVAS_RATE_LIMITS_ENABLED": "false",
        "RESERVAS_MAX_ACTIVE_RESERVATIONS": "10000",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    return local_api_process.start_local_api(env, "--ephemeral", "--no-seed")


def versions(services: devservices.Services) -> dict[str, str]:
    import redis
    from sqlalchemy import text

    from reservas.database import build_engine

    engine = build_engine(services.database_url)
    try:
        with engine.connect() as connection:
            postgres = connection.execute(text("SELECT version()")).scalar_one().split(" on ")[0]
    finally:
        engine.dispose()
    client = redis.Redis.from_url(services.redis_url)
    try:
        redis_version = f"redis-server {client.info('server')['redis_version']}"
    finally:
        client.close()
    return {"postgresql": postgres, "redis": redis_version}


# --- accounts and spaces through HTTP ----------------------------------------------------------------


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def register(http: httpx.Client, email: str, database_url: str) -> dict:
    """A new account, its address verified (in the database: the mail is not what is measured), signed
    in: the sign-in's answer."""
    from sqlalchemy import text

    from reservas.database import build_engine

    response = http.post("/auth/register", json={"email": email, "password": PASSWORD, "name": "Bench"})
    response.raise_for_status()
    engine = build_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE users SET email_verified_at = now() WHERE email = :e"), {"e": email}
            )
    finally:
        engine.dispose()
    response = http.post("/auth/login", json={"email": email, "password": PASSWORD})
    response.raise_for_status()
    return response.json()


def register_many(url: str, database_url: str, prefix: str, count: int) -> list[str]:
    """Access tokens of `count` new accounts (a few registrations at a time: bcrypt is the cost)."""

    def one(number: int) -> str:
        with httpx.Client(base_url=url, timeout=60) as http:
            return register(http, f"{prefix}{number}@example.com", database_url)["access_token"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, range(count)))


def make_admin(http: httpx.Client, database_url: str) -> str:
    from reservas.database import build_engine
    from scripts.create_admin import make_admin as promote

    register(http, "bench-admin@example.com", database_url)
    engine = build_engine(database_url)
    try:
        with engine.connect() as connection:
            promote(connection, "bench-admin@example.com", "Bench admin", None)
    finally:
        engine.dispose()
    response = http.post("/auth/login", json={"email": "bench-admin@example.com", "password": PASSWORD})
    response.raise_for_status()
    return response.json()["access_token"]


def create_spaces(http: httpx.Client, admin_token: str, names: list[str]) -> list[str]:
    ids = []
    for name in names:
        body = {
            "name": name,
            "capacity": 8,
            "location": "Madrid",
            "timezone": ZONE_NAME,
            "opening_hours": EVERY_DAY,
            "max_advance_days": 730,
            "price_per_hour": "20.00",
            "max_duration_minutes": 480,
        }
        response = http.post("/spaces", json=body, headers=_auth(admin_token))
        response.raise_for_status()
        ids.append(response.json()["id"])
    return ids


# --- load --------------------------------------------------------------------------------------------


@dataclass
class Sample:
    operation: str
    status: int  # 0: no answer (transport error)
    seconds: float


@dataclass
class Round:
    clients: int
    seconds: float
    samples: list[Sample]

    @property
    def throughput(self) -> float:
        return len(self.samples) / self.seconds

    def latencies(self, operation: str | None = None) -> list[float]:
        return [s.seconds for s in self.samples if operation is None or s.operation == operation]


class Load:
    def __init__(self, url: str, spaces: list[str], tokens: list[str], first_day: date) -> None:
        self.url, self.spaces, self.tokens = url, spaces, tokens
        self.days = [(first_day + timedelta(days=n)).isoformat() for n in range(14)]
        self.first_day = first_day
        self.operations = [name for name, _ in MIX]
        self.weights = [weight for _, weight in MIX]

    def request(self, http: httpx.Client, rng: random.Random, token: str) -> tuple[str, httpx.Response]:
        operation = rng.choices(self.operations, self.weights)[0]
        if operation == "availability":
            space = rng.choice(self.spaces)
            return operation, http.get(
                f"/spaces/{space}/availability", params={"date": rng.choice(self.days)}
            )
        if operation == "spaces":
            return operation, http.get("/spaces")
        if operation == "my reservations":
            return operation, http.get("/reservations", headers=_auth(token))
        day = self.first_day + timedelta(days=rng.randrange(60))
        start = datetime(day.year, day.month, day.day, 8, tzinfo=ZONE) + timedelta(
            minutes=30 * rng.randrange(24)
        )
        end = start + timedelta(minutes=rng.choice((30, 60)))
        body = {
            "space_id": rng.choice(self.spaces),
            "start_time": start.isoformat(),
            "end_time": end.isoformat(),
        }
        return operation, http.post("/reservations", json=body, headers=_auth(token))

    def run(self, clients: int, seconds: float, seed: int) -> Round:
        samples: list[Sample] = []
        lock = threading.Lock()
        barrier = threading.Barrier(clients + 1)
        window: dict[str, float] = {}
        sent = itertools.count()

        def client(number: int) -> None:
            rng = random.Random(seed * 1000 + number)
            token = self.tokens[number % len(self.tokens)]
            mine = []
            with httpx.Client(base_url=self.url, timeout=30) as http:
                barrier.wait()
                while time.monotonic() < window["end"] and next(sent) < MAX_REQUESTS_PER_ROUND:
                    began = time.perf_counter()
                    try:
                        operation, response = self.request(http, rng, token)
                        status = response.status_code
                    except httpx.HTTPError:
                        operation, status = "error", 0
                    mine.append(Sample(operation, status, time.perf_counter() - began))
            with lock:
                samples.extend(mine)

        threads = [threading.Thread(target=client, args=(n,), name=f"client-{n}") for n in range(clients)]
        for thread in threads:
            thread.start()
        window["end"] = time.monotonic() + seconds
        started = time.perf_counter()
        barrier.wait()
        for thread in threads:
            thread.join()
        return Round(clients, time.perf_counter() - started, samples)


def run_load(args: argparse.Namespace, result: Result) -> None:
    services = devservices.start(data_dir=None, allow_fake_redis=False)
    api = None
    try:
        result.meta.update(versions(services))
        api = start_local_api(services)
        levels = [int(n) for n in args.clients.split(",")]
        with httpx.Client(base_url=api.url, timeout=60) as http:
            admin = make_admin(http, services.database_url)
            spaces = create_spaces(http, admin, [f"Bench room {n}" for n in range(5)])
        tokens = register_many(api.url, services.database_url, "bench-load-", 8)
        first_day = datetime.now(UTC).astimezone(ZONE).date() + timedelta(days=2)
        load = Load(api.url, spaces, tokens, first_day)
        load.run(max(levels), 3, seed=999)  # warm-up, untimed: every handler imported, caches filled
        print("warm-up done", flush=True)
        for clients in levels:
            rounds = []
            for number in range(args.rounds):
                rounds.append(load.run(clients, args.seconds, seed=clients * 100 + number))
                print(
                    f"  {clients} clients, round {number + 1}: {rounds[-1].throughput:.0f} req/s", flush=True
                )
            report_level(result, clients, rounds, args)
        if api.errors:
            result.notes.append(
                f"Local API: its log shows {len(api.errors)} error line(s), first: {api.errors[0]}"
            )
    finally:
        if api is not None:
            api.stop()
        services.stop()


def report_level(result: Result, clients: int, rounds: list[Round], args: argparse.Namespace) -> None:
    section = "Local API"
    statuses = collections.Counter()
    for round_ in rounds:
        statuses.update(s.status // 100 for s in round_.samples)
    total = sum(statuses.values())
    server_errors, transport_errors = statuses[5], statuses[0]
    throughput = statistics.median(r.throughput for r in rounds)
    p50 = statistics.median(statistics.median(r.latencies()) for r in rounds)
    p95 = statistics.median(percentile(r.latencies(), 95) for r in rounds)
    counts = f"{total} requests: 2xx {statuses[2]}, 4xx {statuses[4]}, 5xx {server_errors}"
    counts += f", no answer {transport_errors}" if transport_errors else ""
    ok = not server_errors and not transport_errors
    shape = f"{args.rounds} rounds x {args.seconds:g} s"
    result.rows += [
        Row(
            section,
            f"read-heavy mix, {clients} clients: throughput ({shape})",
            f"{throughput:.0f} req/s",
            "-",
            f"{'pass' if ok else 'FAIL'}: {counts}",
        ),
        Row(section, f"read-heavy mix, {clients} clients: latency", fmt_ms(p50), fmt_ms(p95), "-"),
    ]
    if not ok:
        result.failures.append(
            f"local API, {clients} clients: {server_errors} 5xx, {transport_errors} without answer"
        )
    per_operation = []
    for operation, _ in MIX:
        latencies = [s for r in rounds for s in r.latencies(operation)]
        if latencies:
            per_operation.append(
                f"{operation} {fmt_ms(statistics.median(latencies))} / {fmt_ms(percentile(latencies, 95))}"
            )
    refused = sum(1 for r in rounds for s in r.samples if s.operation == "book" and s.status == 409)
    result.notes.append(
        f"Local API, {clients} clients: p50 / p95 per operation (all rounds pooled): "
        f"{'; '.join(per_operation)}. "
        f"Bookings refused as taken (409): {refused}."
    )


# --- race --------------------------------------------------------------------------------------------

RESERVAS, NAIVE = "Reservas", "naive check-then-insert"


@dataclass
class RaceRun:
    seed: int
    seconds: float
    deadlocks: int  # PostgreSQL's count of deadlocks it broke during the run
    verdict: object | None = None  # race_checker.Verdict; None when the run did not finish
    error: str | None = None
    overlapping_pairs: int = 0  # checked even when the run did not finish


def deadlock_count(engine) -> int:
    from sqlalchemy import text

    with engine.connect() as connection:
        return connection.execute(
            text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        ).scalar_one()


def timed_run(engine, seed: int, run) -> RaceRun:
    """One run of the race checker; a run that raises (a client that waited past its 30 s timeout) is
    kept as a failed run, with the database still checked for overlaps."""
    from bench.race_checker import overlapping_pairs

    deadlocks_before = deadlock_count(engine)
    started = time.perf_counter()
    try:
        verdict, error = run(), None
    except Exception as failure:  # httpx2's ReadTimeout from race_checker's clients, mostly
        verdict, error = None, f"{type(failure).__name__}: {failure}"
    seconds = time.perf_counter() - started
    outcome = RaceRun(seed, seconds, deadlock_count(engine) - deadlocks_before, verdict, error)
    outcome.overlapping_pairs = verdict.overlapping_pairs if verdict else overlapping_pairs(engine)
    return outcome


def run_race(args: argparse.Namespace, result: Result) -> None:
    from bench.race_checker import Workload, check, run_against_api, run_naive_baseline
    from reservas.database import build_engine

    services = devservices.start(data_dir=None, allow_fake_redis=False)
    api = None
    engine = None
    try:
        result.meta.update(versions(services))
        api = start_local_api(services)
        # One connection per client for the naive baseline, or its clients would take turns on one.
        engine = build_engine(services.database_url, pool_size=args.clients + 2)
        with httpx.Client(base_url=api.url, timeout=60) as http:
            admin = make_admin(http, services.database_url)
        tokens = register_many(api.url, services.database_url, "bench-race-", args.clients)
        runs: dict[str, list[RaceRun]] = {RESERVAS: [], NAIVE: []}
        seeds = [int(s) for s in args.seeds.split(",")]
        for number, seed in enumerate(seeds):
            with httpx.Client(base_url=api.url, timeout=60) as http:
                spaces = create_spaces(http, admin, [f"Race {seed} room {n}" for n in range(3)])
            day = datetime.now(UTC).astimezone(ZONE).date() + timedelta(days=3 + number)
            workload = Workload(
                spaces=spaces,
                first_start=datetime(day.year, day.month, day.day, 9, tzinfo=ZONE),
                clients=args.clients,
                operations_per_client=args.operations,
                max_seconds=args.max_seconds,
                seed=seed,
            )
            runs[RESERVAS].append(
                timed_run(engine, seed, lambda w=workload: check(run_against_api(w, api.url, tokens), engine))
            )
            runs[NAIVE].append(timed_run(engine, seed, lambda w=workload: run_naive_baseline(w, engine)))
            for system, found in runs.items():
                print(f"  seed {seed}: {system}: {found[-1]}", flush=True)
        for system, found in runs.items():
            report_race(result, system, found, args)
        if api.errors:
            result.notes.append(
                f"Race checker: the local API logged {len(api.errors)} error line(s), first: {api.errors[0]}"
            )
    finally:
        if engine is not None:
            engine.dispose()
        if api is not None:
            api.stop()
        services.stop()


def report_race(result: Result, system: str, runs: list[RaceRun], args: argparse.Namespace) -> None:
    section = "Race checker"
    finished = [r.verdict for r in runs if r.verdict is not None]
    aborted = [r for r in runs if r.verdict is None]
    seeds = ",".join(str(r.seed) for r in runs)
    shape = f"{args.clients} clients x {args.operations} ops, 3 spaces, seeds {seeds}"
    if finished:
        counts = " / ".join(
            f"{statistics.median(getattr(v, name) for v in finished):.0f}"
            for name in ("acknowledged_bookings", "refused_bookings", "cancellations")
        )
    else:
        counts = "no run finished"
    per_run = "; ".join(
        f"seed {r.seed}: {r.seconds:.1f} s, {r.deadlocks} deadlocks"
        + (" (aborted)" if r.verdict is None else "")
        for r in runs
    )
    result.rows.append(
        Row(
            section,
            f"{system}: acknowledged / refused (409) bookings / cancellations ({shape})",
            counts,
            "-",
            f"medians of {len(finished)} finished runs; {per_run}",
        )
    )
    doubles = sum(r.overlapping_pairs for r in runs)
    lost = sum(len(v.lost_bookings) for v in finished)
    wrong = sum(len(v.wrong_status) for v in finished)
    server_errors = sum(v.server_errors for v in finished)
    safety = f"{doubles} / {lost} / {wrong} / {server_errors}"
    if system == RESERVAS:
        ok = not (doubles or lost or wrong or server_errors or aborted)
        verdict = "pass" if ok else "FAIL"
        if aborted:
            verdict += f"; {len(aborted)} run(s) aborted: {aborted[0].error}"
        if not ok:
            result.failures.append(
                f"race checker: Reservas had {doubles} double bookings, {lost} lost bookings, {wrong} wrong "
                f"statuses, {server_errors} 5xx and {len(aborted)} aborted run(s) over {len(runs)} runs"
                + (f" ({aborted[0].error})" if aborted else "")
            )
    else:
        verdict = "expected, reported only: double bookings per run " + ", ".join(
            str(r.overlapping_pairs) for r in runs
        )
    result.rows.append(
        Row(
            section,
            f"{system}: double bookings (overlapping pairs) / lost / wrong status / 5xx, total",
            safety,
            "-",
            verdict,
        )
    )


# --- main --------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parts = parser.add_subparsers(dest="part", required=True)
    load = parts.add_parser("load", help="throughput and latency of a read-heavy mix")
    load.add_argument("--clients", default="8,32", help="comma-separated client counts")
    load.add_argument("--rounds", type=int, default=3)
    load.add_argument("--seconds", type=float, default=5.0, help="per round")
    race = parts.add_parser("race", help="the race checker, Reservas and the naive baseline")
    race.add_argument("--clients", type=int, default=16)
    race.add_argument("--operations", type=int, default=30, help="per client")
    race.add_argument("--seeds", default="1,2,3")
    race.add_argument("--max-seconds", type=float, default=45, help="per run: no new operations after it")
    for part in (load, race):
        part.add_argument("--json", help="write the result here (for bench/report.py)")
    args = parser.parse_args()

    result = Result()
    if args.part == "load":
        run_load(args, result)
        result.notes.insert(
            0,
            "Local API: devtools/local_api.py (SAM CLI's gateway, handlers in process, threaded) on "
            "loopback, rate limits off; clients are httpx2 threads in another process on the same "
            "machine; mix "
            + ", ".join(f"{weight}% {name}" for name, weight in MIX)
            + f"; throughput and p50/p95 are medians over {args.rounds} rounds of {args.seconds:g} s "
            "after a warm-up.",
        )
    else:
        run_race(args, result)
        result.notes.insert(
            0,
            "Race checker: bench/race_checker.py's run_against_api and check through the local API (one "
            "account per client, 3 new spaces per seed, operations start until --max-seconds "
            f"{args.max_seconds:g} s), and run_naive_baseline with the same Workload on a table without the "
            "exclusion constraint; a refusal is any 409. Deadlocks: PostgreSQL's own count "
            "(pg_stat_database) during each run; each one it breaks costs a booking deadlock_timeout (1 s).",
        )
    result.print_markdown()
    result.save(args.json)
    return 1 if result.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
