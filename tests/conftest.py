"""What every test shares: settings (set before anything imports `reservas`, which reads them once) and
real services. PostgreSQL and Redis come from `DATABASE_URL` / `REDIS_URL` when given (tests empty their
tables), else from an embedded PostgreSQL and a `redis-server` started once for the session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from devtools import devservices

TEST_JWT_KEY = "test-signing-key-0123456789-abcdefghijklmnopqrstuvwxyz"

os.environ.update(
    {
        "RESERVAS_STAGE": "test",
        "RESERVAS_JWT_SECRET": TEST_JWT_KEY,
        # Cost 4 keeps the suite fast; a test checks that the default stays 12.
        "RESERVAS_BCRYPT_ROUNDS": "4",
        "RESERVAS_DB_POOL_SIZE": "20",
        # Tests send many requests from one address; the rate-limit tests turn them on for themselves.
        "RESERVAS_RATE_LIMITS_ENABLED": "false",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
)
for name in ("RESERVAS_JWT_SECRET_ARN", "RESERVAS_DATABASE_SECRET_ARN", "RESERVAS_CORS_ORIGINS"):
    os.environ.pop(name, None)


TABLES = (
    "audit.log",
    "outbox",
    "idempotency_keys",
    "holds",
    "closures",
    "check_in_codes",
    "space_managers",
    "waitlist",
    "reservations",
    "series",
    "refresh_tokens",
    "sessions",
    "account_tokens",
    "deliveries",
    "reminders",
    "calendar_feeds",
    "api_keys",
    "webhook_deliveries",
    "webhooks",
    "spaces",
    "users",
)


@pytest.fixture(scope="session")
def services():
    # On CI a missing redis-server is an error, not a reason to fall back to an in-process stand-in.
    started = devservices.start(allow_fake_redis=os.environ.get("CI") != "true")
    os.environ["DATABASE_URL"] = started.database_url
    os.environ["REDIS_URL"] = started.redis_url
    reset_caches()
    yield started
    reset_caches()
    started.stop()


def reset_caches() -> None:
    """Forget the settings, engine and Redis client built from earlier environment variables (as a
    SnapStart restore does), and what earlier failures left (the Redis breaker, the pauses)."""
    from reservas import events, snapstart
    from reservas.redis_breaker import breaker

    snapstart.forget_connections(close=True)
    breaker.reset()
    events.resting.clear()


@pytest.fixture(scope="session")
def engine(services) -> Engine:
    from reservas.database import get_engine
    from reservas.migrations import upgrade

    engine = get_engine()
    upgrade(engine)
    return engine


@pytest.fixture(scope="session")
def patient_engine(services, engine) -> Iterator[Engine]:
    """The tests' own database work that may wait on others (emptying the tables): no socket timeout,
    unlike the API's engine, whose 2 s would cut the wait short."""
    from reservas.database import build_engine

    patient = build_engine(services.database_url)  # the session's database, whatever a test points at
    yield patient
    patient.dispose()


@pytest.fixture(autouse=True)
def clean_database(request):
    """Every integration test starts from empty tables and an empty Redis."""
    if "engine" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("engine")
    with request.getfixturevalue("patient_engine").begin() as connection:
        # The local API (tests/e2e) may still be finishing what a test's last request started (the
        # mail of an event, the pool's rollback): wait for it, past the role's 1 s lock timeout.
        connection.execute(text("SET LOCAL lock_timeout = '15s'"))
        connection.execute(text("SET LOCAL statement_timeout = '20s'"))
        connection.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
    from reservas.cache import get_redis

    client = get_redis()
    if client is not None:
        client.flushdb()
    yield


@pytest.fixture
def broken_service(engine, monkeypatch):
    """`broken_service("DATABASE_URL")`: from now on that service answers nothing (a closed port)."""

    def break_it(variable: str) -> None:
        dead = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none", "REDIS_URL": "redis://127.0.0.1:9/0"}
        monkeypatch.setenv(variable, dead[variable])
        reset_caches()

    yield break_it
    monkeypatch.undo()
    reset_caches()
