"""The local API (`make dev`) as a user meets it: a process serving HTTP on a loopback port."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from devtools.local_api_process import LocalApi, start_local_api


@pytest.fixture(scope="session")
def mail_folder(tmp_path_factory) -> Path:
    """Where the local API writes the messages it would send."""
    return tmp_path_factory.mktemp("mail")


@pytest.fixture(scope="session")
def local_api(services, mail_folder) -> Iterator[LocalApi]:
    """The local API on the test session's PostgreSQL and Redis, without demo data."""
    env = {
        **os.environ,
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "RESERVAS_MAIL_FOLDER": str(mail_folder),
    }
    # No schedules: the session's other tests share its database, and a release or an outbox sweep
    # of the local API's own would act on their bookings and events.
    api = start_local_api(env, "--no-seed", "--no-schedules")
    yield api
    api.stop()


@pytest.fixture
def http(local_api, engine) -> Iterator[httpx.Client]:
    with local_api.client() as client:
        yield client


@pytest.fixture
def admin_headers(http, engine) -> dict[str, str]:
    """An administrator signed in through the API (promoted by `make admin`'s function)."""
    from scripts.create_admin import make_admin
    from tests.support import STRONG_PASSWORD

    http.post(
        "/auth/register", json={"email": "root@example.com", "password": STRONG_PASSWORD, "name": "Root"}
    )
    with engine.connect() as connection:
        make_admin(connection, "root@example.com", "Root", None)
    login = http.post("/auth/login", json={"email": "root@example.com", "password": STRONG_PASSWORD}).json()
    return {"Authorization": f"Bearer {login['access_token']}"}
