"""Real PostgreSQL and Redis: `DATABASE_URL` / `REDIS_URL` when given (tests empty their tables), else
an embedded PostgreSQL and a `redis-server` started once for the session."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from scripts import devservices
from tests.support import STRONG_PASSWORD, function_module

TABLES = ("reservations", "refresh_tokens", "spaces", "users")


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
    """Forget the settings, engine and Redis client built from earlier environment variables."""
    from reservas.cache import get_redis
    from reservas.database import get_engine
    from reservas.settings import get_settings

    if get_engine.cache_info().currsize:
        get_engine().dispose()
    for cached in (get_settings, get_engine, get_redis):
        cached.cache_clear()


@pytest.fixture(scope="session")
def engine(services) -> Engine:
    from reservas.database import get_engine
    from reservas.migrations import upgrade

    engine = get_engine()
    upgrade(engine)
    return engine


@pytest.fixture(autouse=True)
def clean_database(request):
    """Every integration test starts from empty tables and an empty Redis."""
    if "engine" not in request.fixturenames:
        yield
        return
    engine = request.getfixturevalue("engine")
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
    from reservas.cache import get_redis

    client = get_redis()
    if client is not None:
        client.flushdb()
    yield


@pytest.fixture
def client_for(engine):
    """`client_for("auth")`: a TestClient on that function's app."""
    clients = {}

    def make(group: str) -> TestClient:
        if group not in clients:
            clients[group] = TestClient(function_module(group).app, raise_server_exceptions=False)
        return clients[group]

    return make


@pytest.fixture
def register(client_for):
    """Register a user through the API; returns the 201 body."""

    def make(email: str = "ana@example.com", password: str = STRONG_PASSWORD, name: str = "Ana") -> dict:
        response = client_for("auth").post(
            "/auth/register", json={"email": email, "password": password, "name": name}
        )
        assert response.status_code == 201, response.text
        return response.json()

    return make
