"""The cache and the rate limits on a Redis cluster, as ElastiCache Serverless is one: a real redis-server
in cluster mode (one node holding every slot, which refuses multi-key commands across slots all the
same). Nothing may fail there, and a failure is never silent: it is logged and counted."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from devtools.devservices import free_port
from tests.conftest import reset_caches
from tests.support import http_event, invoke, space_body

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")


def a_cluster_port() -> int:
    """A free port whose cluster bus (10,000 above it, so at most 55535) is free too."""
    import socket

    while True:
        port = free_port()
        if port > 55535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


@pytest.fixture(scope="module")
def cluster_url():
    import redis

    folder = Path(tempfile.mkdtemp(prefix="reservas-cluster-"))
    port = a_cluster_port()
    server = subprocess.Popen(
        [
            "redis-server", "--port", str(port), "--cluster-enabled", "yes", "--save", "",
            "--appendonly", "no", "--dir", str(folder), "--cluster-config-file", "nodes.conf",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
                break
            except redis.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"redis-server in cluster mode did not start: {server.stdout.read()}"
                    ) from None
                time.sleep(0.1)
        while client.cluster("info")["cluster_state"] != "ok":
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _on_a_cluster_at(url: str, monkeypatch):
    """The functions as the data tier deploys them (cluster clients, rate limits on), on `url`; yields
    the Redis breaker, which says whether Redis is being left alone and how often it failed."""
    monkeypatch.setenv("REDIS_URL", url)
    monkeypatch.setenv("RESERVAS_REDIS_CLUSTER", "true")
    monkeypatch.setenv("RESERVAS_RATE_LIMITS_ENABLED", "true")
    reset_caches()
    from reservas.redis_breaker import breaker

    yield breaker
    monkeypatch.undo()
    reset_caches()


@pytest.fixture
def on_the_cluster(cluster_url, monkeypatch, engine):
    yield from _on_a_cluster_at(cluster_url, monkeypatch)


def test_a_space_and_its_day_are_cached_on_a_cluster_without_a_failure(on_the_cluster, admin, cluster_url):
    import redis

    token = {"authorization": f"Bearer {admin['access_token']}"}
    status, _, space = invoke("spaces", http_event("POST", "/spaces", headers=token, body=space_body()))
    assert status == 201, space
    failures = on_the_cluster.failures
    path = f"/spaces/{space['id']}"
    for _ in range(2):  # the second reads what the first stored
        assert invoke("spaces", http_event("GET", path, route="/spaces/{space_id}"))[0] == 200
        day = http_event(
            "GET", f"{path}/availability", route="/spaces/{space_id}/availability", query="date=2030-01-07"
        )
        assert invoke("spaces", day)[0] == 200
    assert on_the_cluster.failures == failures and not on_the_cluster.open
    stored = redis.Redis.from_url(cluster_url).keys(f"spaces:{{{space['id']}}}:*")
    assert len(stored) >= 3  # its versions and values, under its own hash tag


def test_the_rate_limits_count_on_a_cluster(on_the_cluster, limits_on):
    limits_on(rate_limit_auth="2/minute", redis_cluster="true")
    body = {"email": "nobody@example.com", "password": "wrong-password-1"}
    statuses = [
        invoke("auth", http_event("POST", "/auth/login", body=body, source_ip="198.51.100.200"))[0]
        for _ in range(3)
    ]
    assert statuses == [401, 401, 429]
    assert not on_the_cluster.open


def test_a_redis_failure_is_logged_and_counted(on_the_cluster, caplog):
    from reservas.cache import cache

    failures = on_the_cluster.failures
    assert cache.get_many("spaces:{a}:x", "spaces:{b}:y") == [None, None]  # keys of two slots: refused
    assert on_the_cluster.failures == failures + 1
    assert on_the_cluster.open  # the cache leaves Redis alone for a while, and says so


@pytest.fixture
def on_a_cluster_that_is_down(monkeypatch, engine):
    """A cluster whose node does not answer (ElastiCache being replaced, a security group that does
    not admit the functions): nothing listens where REDIS_URL points."""
    yield from _on_a_cluster_at(f"redis://127.0.0.1:{a_cluster_port()}/0", monkeypatch)


def test_a_cluster_that_is_down_leaves_the_api_answering_from_postgresql(on_a_cluster_that_is_down, admin):
    """HOLE. redis.Redis connects on first use, but RedisCluster connects as it is made, to learn the
    slots: made outside any try (the rate limits' storage, get_redis() in the cache and the health
    check), it raised when the cluster was out of reach. Every request answered 500 (the rate limits
    come first; signing up, creating a space, reading it, the health check) instead of PostgreSQL's
    answer, and nothing tripped the breaker, so every request tried the cluster again."""
    token = {"authorization": f"Bearer {admin['access_token']}"}
    status, _, space = invoke("spaces", http_event("POST", "/spaces", headers=token, body=space_body()))
    assert status == 201, space
    read = invoke("spaces", http_event("GET", f"/spaces/{space['id']}", route="/spaces/{space_id}"))
    assert read[0] == 200, read
    assert on_a_cluster_that_is_down.open  # counted once, then left alone for a while
    status, _, health = invoke("spaces", http_event("GET", "/spaces/health"))
    assert status == 200 and health["status"] == "degraded" and health["checks"]["cache"] == "unavailable"
