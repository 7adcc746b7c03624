"""Warm latency of the Lambda handlers, in process, with API Gateway payload-v2 events:
POST /reservations (a real booking each time) next to GET /spaces/{id}, measured in the same run.

    .venv/bin/python scripts/bench_handlers.py [--runs 300]    (or `make bench`)

It starts its own PostgreSQL and Redis (or uses DATABASE_URL / REDIS_URL), like `make dev --ephemeral`."""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common")]

from scripts import devservices  # noqa: E402

ZONE = ZoneInfo("Europe/Madrid")


def configure(services: devservices.Services) -> None:
    os.environ.update(
        {
            "RESERVAS_STAGE": "local",
            "DATABASE_URL": services.database_url,
            "REDIS_URL": services.redis_url,
            "RESERVAS_JWT_SECRET": secrets.token_urlsafe(48),
            "RESERVAS_RATE_LIMITS_ENABLED": "false",  # measured: the handler, not the limiter
            "RESERVAS_MAX_ACTIVE_RESERVATIONS": "10000",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )


def event(method: str, path: str, token: str, body: dict | None = None) -> dict:
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"authorization": f"Bearer {token}", "content-type": "application/json"},
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.1"},
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} {path}",
            "stage": "$default",
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()

    services = devservices.start(data_dir=None, allow_fake_redis=False)
    configure(services)
    from sqlalchemy.orm import Session

    from reservas.accounts import service as accounts
    from reservas.accounts.schemas import RegisterRequest
    from reservas.database import get_engine
    from reservas.migrations import upgrade
    from reservas.spaces import service as spaces
    from reservas.spaces.schemas import SpaceSettings
    from scripts.apigw import LambdaContext, load_function_module

    upgrade(get_engine())
    with Session(get_engine()) as session:
        token = accounts.register(
            session,
            RegisterRequest(
                email="bench@example.com", password=secrets.token_urlsafe(12) + "A1", name="Bench"
            ),
        ).access_token
        every_day = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
        space = spaces.create_space(
            session,
            SpaceSettings(
                name="Bench room",
                capacity=4,
                timezone="Europe/Madrid",
                opening_hours=every_day,
                max_advance_days=730,
                price_per_hour="12.50",
            ),
        )
    reservations = load_function_module(ROOT / "functions" / "reservations").handler
    spaces_handler = load_function_module(ROOT / "functions" / "spaces").handler

    first = datetime.now(UTC).astimezone(ZONE).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    warmup = 20

    def book(n: int) -> float:
        start = first + timedelta(minutes=30 * n)
        body = {
            "space_id": str(space.id),
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(minutes=30)).isoformat(),
        }
        began = time.perf_counter()
        response = reservations(
            event("POST", "/reservations", token, body), LambdaContext("ReservationsFunction")
        )
        elapsed = time.perf_counter() - began
        assert response["statusCode"] == 201, response
        return elapsed

    def read(_: int) -> float:
        began = time.perf_counter()
        response = spaces_handler(event("GET", f"/spaces/{space.id}", token), LambdaContext("SpacesFunction"))
        elapsed = time.perf_counter() - began
        assert response["statusCode"] == 200, response
        return elapsed

    results = {}
    for name, call, offset in (("POST /reservations", book, 0), ("GET /spaces/{id}", read, 0)):
        for n in range(warmup):
            call(offset + n)
        results[name] = [call(warmup + n) for n in range(args.runs)]

    print(
        f"Warm handler latency, in process, API Gateway v2 events, {args.runs} runs each "
        f"after {warmup} warm-up"
    )
    print(f"({platform.platform()}, {os.cpu_count()} CPUs, PostgreSQL: {services.database_origin})\n")
    print("| route | p50 ms | p95 ms |")
    print("|---|---|---|")
    medians = {}
    for name, samples in results.items():
        p50, p95 = percentiles(samples)
        medians[name] = p50
        print(f"| {name} | {p50:.2f} | {p95:.2f} |")
    ratio = medians["POST /reservations"] / medians["GET /spaces/{id}"]
    print(f"\nPOST /reservations p50 is {ratio:.1f}x GET /spaces/{{id}} p50 (same run).")
    services.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
