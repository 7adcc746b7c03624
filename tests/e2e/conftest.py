"""The local API (`make dev`) as a user meets it: a process serving HTTP on a loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx2 as httpx
import pytest

from scripts.apigw import ROOT
from scripts.devservices import free_port


@dataclass
class LocalApi:
    url: str
    process: subprocess.Popen
    output: list[str]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)


def start_local_api(env: dict[str, str], *args: str, timeout: float = 90) -> LocalApi:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-u", str(ROOT / "scripts" / "local_api.py"), "--port", str(port), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    deadline = time.monotonic() + timeout
    for line in process.stdout:
        output.append(line.rstrip("\n"))
        if "Reservas local API on" in line:
            break
        if time.monotonic() > deadline:
            break
    if process.poll() is not None or not output or "Reservas local API on" not in output[-1]:
        process.kill()
        raise RuntimeError("the local API did not start:\n" + "\n".join(output))
    # Keep draining its output so the process never blocks on a full pipe.
    import threading

    threading.Thread(target=lambda: [output.append(line) for line in process.stdout], daemon=True).start()
    return LocalApi(f"http://127.0.0.1:{port}", process, output)


def stop_local_api(api: LocalApi) -> int:
    api.process.send_signal(signal.SIGINT)  # what Ctrl-C sends
    try:
        return api.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        api.process.kill()
        raise


@pytest.fixture(scope="session")
def local_api(services) -> Iterator[LocalApi]:
    """The local API on the test session's PostgreSQL and Redis, without demo data."""
    env = {**os.environ, "DATABASE_URL": services.database_url, "REDIS_URL": services.redis_url}
    api = start_local_api(env, "--no-seed")
    yield api
    stop_local_api(api)


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
