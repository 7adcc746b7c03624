"""The warm path: cached reads and login against a trivial route, and where a warm request's time goes.

    .venv/bin/python bench/warm_path.py [--runs 400] [--login-runs 30] [--profile-runs 300] [--json out]

It starts its own PostgreSQL and Redis, sets up what bench/handlers.py sets up (its Bench), then turns
the rate limits on, as in production, with Powertools' metrics on and INFO logs. Every request comes from
an address of its own, as from many clients, so that none is refused.

Timings, side by side in one run: each round calls every route once, in the same order (a trivial
FastAPI route through Mangum, `def` and `async def`, without our middleware; the cached reads; a
booking), so the ratios compare calls made under the same conditions. Login is timed alternating with
one bcrypt verification of the same password and hash (`passwords.verify_password`, what login does
once), and "login minus bcrypt" is the difference of their medians: for an account whose hash has
bcrypt's lowest cost (4 rounds, about a millisecond), so that bcrypt's own jitter at the production cost
(12 rounds, a few milliseconds either way on a busy machine) does not drown what login adds; the
production cost's pair is shown too.

The profile: cProfile over warm calls of a cached read, a booking and login; each function's own time
is given to a category by its module (or, for a function of C such as a socket's recv, to its callers'
categories, by their calls: cProfile sees every thread, but its callers' times across threads are not
to be trusted), e.g. redis-py and its socket reads are "Redis round trips". cProfile slows Python code
more than waiting, so its milliseconds are larger than the timings: read them as shares. Time a thread
spends waiting for another (the event loop waiting for FastAPI's threadpool) is not counted: the other
thread's work is.
"""

from __future__ import annotations

import argparse
import cProfile
import inspect
import os
import pstats
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common")]

from bench.common import Result, Row, fmt_ms, summarise  # noqa: E402
from bench.handlers import BENCH_SETTINGS  # noqa: E402
from devtools import devservices  # noqa: E402

SECTION = "Warm path"
CACHED_READ_TARGET = 2.0  # p50 of a cached read, at most this many times the trivial route's
LOGIN_OVERHEAD_TARGET_S = 0.005  # login minus one bcrypt hash

Call = Callable[[], dict[str, Any]]

# (category, test on a profiled function's file and name), the first that matches; functions of C are
# given to their callers' categories.
RATE_LIMITING = "rate limiting (middleware, limiter)"
STANDARD_HEADERS = "middleware: StandardHeadersMiddleware"
CATEGORIES = [
    ("Mangum (event -> ASGI -> answer)", lambda f, n: "/mangum/" in f),
    ("Powertools (logger, metrics, tracer)", lambda f, n: "aws_lambda_powertools" in f or "/logging/" in f),
    (STANDARD_HEADERS, lambda f, n: False),  # in app_factory.py: found by its lines
    ("middleware: ViewerAddressMiddleware", lambda f, n: f.endswith("/viewer_address.py")),
    ("middleware: InputGateMiddleware", lambda f, n: f.endswith("/input_gate.py")),
    (RATE_LIMITING, lambda f, n: f.endswith("/rate_limits.py") or "/limits/" in f),
    ("Redis round trips (redis-py, sockets)", lambda f, n: "/redis/" in f),
    ("SQL round trips (SQLAlchemy, pg8000)", lambda f, n: "/sqlalchemy/" in f or "/pg8000/" in f),
    ("bcrypt", lambda f, n: "/bcrypt/" in f or f.endswith("/passwords.py")),
    (
        "auth (JWT, the session's check)",
        lambda f, n: "/jwt/" in f or f.endswith(("/tokens.py", "/access.py")),
    ),
    (
        "validation, serialisation (pydantic, FastAPI's params)",
        lambda f, n: "/pydantic" in f or "/fastapi/dependencies/" in f or f.endswith("fastapi/encoders.py"),
    ),
    (
        "event loop, threadpool hand-offs (asyncio, anyio)",
        lambda f, n: any(
            p in f for p in ("/asyncio/", "/anyio/", "/concurrency.py", "threading.py", "queue.py")
        ),
    ),
    ("FastAPI, Starlette (routing, responses)", lambda f, n: "/fastapi/" in f or "/starlette/" in f),
    ("the route's own work (functions/, reservas/)", lambda f, n: "/functions/" in f or "/reservas/" in f),
    ("other (standard library: json, uuid, ...)", lambda f, n: True),
]
# A thread waiting for another: not counted (the other thread's work is).
WAITING = (
    "{method 'poll' of 'select.epoll' objects}",
    "{method 'poll' of 'select.poll' objects}",  # bench/handlers.py's webhook receiver, idle in its thread
    "{method 'acquire' of '_thread.lock' objects}",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400, help="timed rounds of the fast routes")
    parser.add_argument("--login-runs", type=int, default=30, help="timed logins (and bcrypt hashes)")
    parser.add_argument("--profile-runs", type=int, default=300, help="profiled calls per route")
    parser.add_argument("--json", help="write the result here (for bench/report.py)")
    args = parser.parse_args()

    def measured(_: object) -> int:
        os.environ.pop("POWERTOOLS_METRICS_DISABLED")  # Powertools' metrics on, as in production
        return run(args)

    # Rate limits off for the set-up (bench/handlers.py's); run() turns them on for what is measured.
    return devservices.serving(measured, **BENCH_SETTINGS, POWERTOOLS_LOG_LEVEL="INFO")


class Addresses:
    """A new client address for every request (10.0.0.1, 10.0.0.2, ...): none reaches a rate limit."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        self.count += 1
        address = f"10.{self.count >> 16 & 255}.{self.count >> 8 & 255}.{self.count & 255}"
        request["requestContext"]["http"]["sourceIp"] = address
        request["headers"]["x-forwarded-for"] = address
        return request


def trivial_handlers() -> dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]]:
    """A trivial FastAPI route through Mangum, as a sync and as an async route: nothing of ours."""
    from fastapi import FastAPI
    from mangum import Mangum

    plain, coroutine = FastAPI(), FastAPI()

    @plain.get("/trivial")
    def trivial() -> dict[str, bool]:
        return {"ok": True}

    @coroutine.get("/trivial")
    async def trivial_async() -> dict[str, bool]:
        return {"ok": True}

    return {
        "def": Mangum(plain, lifespan="off"),
        "async def": Mangum(coroutine, lifespan="off"),
    }


def run(args: argparse.Namespace) -> int:
    import bcrypt as bcrypt_lib
    from sqlalchemy import update

    from bench.handlers import PASSWORD, Bench, event
    from devtools.apigw import v2_event
    from reservas import snapstart
    from reservas.database import get_engine
    from reservas.migrations import upgrade
    from reservas.passwords import hash_password, verify_password
    from reservas.tables import users

    upgrade(get_engine())
    bench = Bench()
    bench.setup()
    os.environ["RESERVAS_RATE_LIMITS_ENABLED"] = "true"
    snapstart.forget_connections(close=True)  # the settings read again: rate limits on
    address = Addresses()
    space_id = bench.space["id"]
    book = next(route for route in bench.routes() if route.name == "POST /reservations")
    login_body = {"email": "bench-user@example.com", "password": PASSWORD}

    def through(group: str, make: Callable[[], dict[str, Any]], expect: int) -> Call:
        handler, context = bench.handlers[group], bench.context(f"{group.title()}Function")

        def call() -> dict[str, Any]:
            response = handler(address(make()), context)
            if response["statusCode"] != expect:
                raise RuntimeError(f"expected {expect}: {response}")
            return response

        return call

    def trivial(handler: Callable[..., dict[str, Any]]) -> Call:
        return lambda: handler(address(v2_event("GET", "/trivial")), bench.context("Trivial"))

    spaces_path = f"/spaces/{space_id}"
    calls: dict[str, Call] = {
        **{f"trivial route ({kind})": trivial(handler) for kind, handler in trivial_handlers().items()},
        "GET /spaces (cached)": through("spaces", lambda: event("GET", "/spaces"), 200),
        "GET /spaces/{space_id} (cached)": through("spaces", lambda: event("GET", spaces_path), 200),
        # of another space than the one booked: each booking ends the cached availability of its space
        "GET /spaces/{space_id}/availability (cached)": through(
            "spaces",
            lambda: event(
                "GET", f"/spaces/{bench.series_space['id']}/availability", query={"date": bench.day}
            ),
            200,
        ),
        "POST /reservations": through("reservations", lambda: book.prepare(0), 201),
    }
    login = through("auth", lambda: event("POST", "/auth/login", body=login_body), 200)
    cheap_body = {"email": "bench-cheap@example.com", "password": PASSWORD}
    bench.register(cheap_body["email"])
    cheap_hash = bcrypt_lib.hashpw(PASSWORD.encode(), bcrypt_lib.gensalt(rounds=4)).decode()
    with get_engine().begin() as db:
        db.execute(update(users).where(users.c.email == cheap_body["email"]).values(password_hash=cheap_hash))
    cheap_login = through("auth", lambda: event("POST", "/auth/login", body=cheap_body), 200)
    stored_hash = hash_password(PASSWORD)

    def bcrypt() -> dict[str, Any]:
        assert verify_password(PASSWORD, stored_hash)
        return {}

    def cheap_bcrypt() -> dict[str, Any]:
        assert verify_password(PASSWORD, cheap_hash)
        return {}

    samples = interleaved(calls, warmup=20, runs=args.runs)
    login_samples = interleaved({"login": login, "bcrypt": bcrypt}, warmup=2, runs=args.login_runs) | {
        f"cheap {name}": values
        for name, values in interleaved(
            {"login": cheap_login, "bcrypt": cheap_bcrypt}, warmup=20, runs=args.runs
        ).items()
    }
    profiles = {
        "GET /spaces/{space_id} (cached)": profile(
            calls["GET /spaces/{space_id} (cached)"], args.profile_runs
        ),
        "POST /reservations": profile(calls["POST /reservations"], args.profile_runs),
        "POST /auth/login": profile(login, max(args.login_runs // 3, 5)),
    }
    return report(args, samples, login_samples, profiles)


def interleaved(calls: dict[str, Call], warmup: int, runs: int) -> dict[str, list[float]]:
    """Each call's durations, over rounds that make every call once, in the same order."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for number in range(warmup + runs):
        for name, call in calls.items():
            began = time.perf_counter()
            call()
            elapsed = time.perf_counter() - began
            if number >= warmup:
                samples[name].append(elapsed)
    return samples


def profile(call: Call, runs: int) -> tuple[Counter[str], int]:
    """Seconds of profiled time per category, over `runs` warm calls; and the runs."""
    for _ in range(3):
        call()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        call()
    profiler.disable()
    return categorised(pstats.Stats(profiler)), runs


def categorised(stats: pstats.Stats) -> Counter[str]:
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]  # pstats' documented raw data
    middleware = middleware_lines()
    found: dict[Any, str] = {}

    def category(function: Any, depth: int = 0) -> str:
        if function not in found:
            filename, line, name = function
            if filename == "~":  # a function of C: its main caller's
                callers = table.get(function, (0, 0, 0, 0, {}))[4]
                main = max(callers.items(), key=lambda item: item[1][1], default=None)
                found[function] = category(main[0], depth + 1) if main and depth < 20 else CATEGORIES[-1][0]
            elif filename.endswith("/app_factory.py") and line in middleware:
                found[function] = middleware[line]
            else:
                found[function] = next(title for title, matches in CATEGORIES if matches(filename, name))
        return found[function]

    seconds: Counter[str] = Counter()
    for function, (_, _, own, _, callers) in table.items():
        if function[2] in WAITING:
            continue
        if function[0] == "~" and callers:  # shared among its callers, by their calls
            calls = sum(entry[1] for entry in callers.values()) or 1
            for caller, entry in callers.items():
                seconds[category(caller)] += own * entry[1] / calls
        else:
            seconds[category(function)] += own
    return seconds


def middleware_lines() -> dict[int, str]:
    """The lines of app_factory.py that are our middleware's (two of them live there), by category."""
    from reservas import app_factory

    owners = {
        app_factory.StandardHeadersMiddleware: STANDARD_HEADERS,
        app_factory._correlation_id: STANDARD_HEADERS,
        app_factory.RateLimitMiddleware: RATE_LIMITING,
        app_factory._api_key: RATE_LIMITING,
    }
    lines: dict[int, str] = {}
    for owner, title in owners.items():
        source, first = inspect.getsourcelines(owner)
        lines.update(dict.fromkeys(range(first, first + len(source)), title))
    return lines


def report(
    args: argparse.Namespace,
    samples: dict[str, list[float]],
    login_samples: dict[str, list[float]],
    profiles: dict[str, tuple[Counter[str], int]],
) -> int:
    result = Result()
    result.samples[SECTION] = {name: [s * 1000 for s in values] for name, values in samples.items()}
    p50 = {name: statistics.median(values) for name, values in samples.items()}
    base = p50["trivial route (def)"]
    for name, values in samples.items():
        median, p95 = summarise(values)
        verdict = f"{median / base:.2f}x trivial (def)"
        if name.endswith("(cached)"):
            met = median <= CACHED_READ_TARGET * base
            verdict += f": {'pass' if met else 'FAILED'} (<= {CACHED_READ_TARGET:g}x)"
            if not met:
                result.failures.append(f"{SECTION}: {name} p50 is {median / base:.2f}x the trivial route's")
        result.rows.append(Row(SECTION, f"{name} ({args.runs} runs)", fmt_ms(median), fmt_ms(p95), verdict))
    p50_of = {name: statistics.median(values) for name, values in login_samples.items()}
    overhead = p50_of["cheap login"] - p50_of["cheap bcrypt"]
    met = overhead < LOGIN_OVERHEAD_TARGET_S
    for prefix, rounds, runs in (("", 12, args.login_runs), ("cheap ", 4, args.runs)):
        said = f"{rounds} rounds ({runs} runs, alternating)"
        result.rows += [
            Row(
                SECTION,
                f"POST /auth/login, {said}",
                fmt_ms(p50_of[f"{prefix}login"]),
                fmt_ms(summarise(login_samples[f"{prefix}login"])[1]),
            ),
            Row(SECTION, f"one bcrypt verification, {said}", fmt_ms(p50_of[f"{prefix}bcrypt"])),
        ]
    result.rows.append(
        Row(
            SECTION,
            "login minus one bcrypt hash (4 rounds; difference of the medians)",
            fmt_ms(overhead),
            verdict=f"{'pass' if met else 'FAILED'} (< {LOGIN_OVERHEAD_TARGET_S * 1000:g} ms)",
        )
    )
    if not met:
        result.failures.append(f"{SECTION}: login is {fmt_ms(overhead)} more than one bcrypt hash")
    result.tables.append(profile_table(profiles, p50 | {"POST /auth/login": p50_of["login"]}))
    result.notes.append(
        f"{SECTION}: rate limits on (production's), Powertools metrics on, INFO logs; every request from an "
        "address of its own; the trivial routes are a bare FastAPI app through Mangum, without our "
        "middleware. Ratios are to the trivial `def` route, the reference of issue #20 (ours are "
        "`async def`: see reservas/app_factory.py). The profile below the table: cProfile, own time per "
        "function given to a category by module (see bench/warm_path.py)."
    )
    result.print_markdown()
    result.save(args.json)
    return 0


def profile_table(profiles: dict[str, tuple[Counter[str], int]], p50: dict[str, float]) -> str:
    """Milliseconds of profiled time per request, per category and route (with its share)."""
    names = list(profiles)
    titles = [title for title, _ in CATEGORIES]
    lines = [
        "Where a warm request's time goes (cProfile; ms per request, profiled, and share):",
        "",
        "| category | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    totals = {name: sum(seconds.values()) for name, (seconds, _) in profiles.items()}
    for title in titles:
        if not any(seconds[title] for seconds, _ in profiles.values()):
            continue
        cells = [
            f"{fmt_ms(seconds[title] / runs)} ({seconds[title] / totals[name]:.0%})"
            for name, (seconds, runs) in profiles.items()
        ]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    lines.append(
        "| total, profiled | "
        + " | ".join(fmt_ms(totals[name] / runs) for name, (_, runs) in profiles.items())
        + " |"
    )
    lines.append("| p50 unprofiled (timed above) | " + " | ".join(fmt_ms(p50[name]) for name in names) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
