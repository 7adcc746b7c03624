"""Faults an unlucky operator meets: PostgreSQL or Redis frozen (SIGSTOP: the port still accepts
connections, nothing answers), then thawed. A frozen database costs a request a clear 503 within 5 s,
well inside the function's 15 s timeout; a Redis stall never leaves public answers stale for long."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from devtools.apigw import LambdaContext
from devtools.devservices import free_port
from devtools.round_trips import counting
from reservas.errors import PROBLEM_JSON
from tests.conftest import reset_caches
from tests.integration.conftest import bearer
from tests.support import (
    STRONG_PASSWORD,
    function_module,
    http_event,
    invoke,
    sign_up_through_handlers,
    space_body,
)

ANSWER_WITHIN_SECONDS = 5


def _process_tree(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(descendant for child in children for descendant in _process_tree(int(child)))]


@contextmanager
def frozen(pid: int):
    """The process and all its children stopped, as a hung host or a full disk leaves them."""
    pids = _process_tree(pid)
    for each in pids:
        os.kill(each, signal.SIGSTOP)
    try:
        yield
    finally:
        for each in pids:
            os.kill(each, signal.SIGCONT)


def timed(group: str, event: dict) -> tuple[float, int, dict, object]:
    started = time.monotonic()
    status, headers, body = invoke(group, event)
    return time.monotonic() - started, status, headers, body


def test_a_frozen_database_costs_a_clear_503_within_seconds_and_nothing_after(own_postgres):
    from reservas.database import get_engine

    credentials = {"email": "ana@example.com", "password": STRONG_PASSWORD}
    tokens = sign_up_through_handlers(get_engine(), **credentials)
    signed_in = bearer(tokens["access_token"])
    requests = [
        ("spaces", http_event("GET", "/spaces")),  # anonymous
        ("users", http_event("GET", "/users/me", headers=signed_in)),
        ("auth", http_event("POST", "/auth/login", body=credentials)),
        ("reservations", http_event("GET", "/reservations", headers=signed_in)),
    ]
    for group, event in requests:  # warm: each function holds a pooled connection, as in Lambda
        assert invoke(group, event)[0] == 200

    with frozen(own_postgres.get_pid()):
        # The catalogue the cache holds still answers; what needs the database gets a clear 503.
        seconds, status, _, body = timed(*requests[0])
        assert status == 200 and seconds < ANSWER_WITHIN_SECONDS, (status, body, seconds)
        for group, event in requests[1:]:
            seconds, status, headers, body = timed(group, event)
            assert status == 503, (group, body)
            assert headers["content-type"] == PROBLEM_JSON and headers["retry-after"]
            assert seconds < ANSWER_WITHIN_SECONDS, (group, seconds)
        seconds, status, _, body = timed("spaces", http_event("GET", "/spaces/health"))
        assert status == 503 and body["checks"]["database"] == "unavailable"
        assert seconds < ANSWER_WITHIN_SECONDS

    # The same instances, reused after the errors: right answers, nothing lost.
    for group, event in requests:
        status, _, body = invoke(group, event)
        assert status == 200, (group, body)
    status, _, me = invoke("users", http_event("GET", "/users/me", headers=signed_in))
    assert me["email"] == "ana@example.com"


def test_the_database_enforces_the_apis_time_limits_for_every_session(own_postgres):
    """Set on the role, so they hold behind RDS Proxy, where a SET after connecting would pin."""
    from reservas.database import pg8000_url

    url, connect_args = pg8000_url(os.environ["DATABASE_URL"])
    fresh = create_engine(url, connect_args=connect_args, poolclass=NullPool)
    with fresh.connect() as connection:
        assert connection.execute(text("SHOW statement_timeout")).scalar_one() == "1500ms"
        assert connection.execute(text("SHOW lock_timeout")).scalar_one() == "1s"
        assert connection.execute(text("SHOW idle_in_transaction_session_timeout")).scalar_one() == "10s"
        with pytest.raises(Exception, match="statement timeout"):
            connection.execute(text("SELECT pg_sleep(3)"))
    fresh.dispose()


@pytest.fixture
def own_redis(engine, monkeypatch):
    """A redis-server of this test's own, to freeze; cached answers live 3 s instead of 55."""
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.fail("redis-server is needed to freeze one (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while (
        subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout.strip() != b"PONG"
    ):
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{port}/0")
    monkeypatch.setenv("RESERVAS_CACHE_TTL_SECONDS", "3")
    reset_caches()
    yield process
    monkeypatch.undo()
    reset_caches()
    process.terminate()
    process.wait(timeout=10)


def another_instance() -> None:
    """From here on, the process reads as a Lambda instance that never saw Redis fail."""
    from reservas.redis_breaker import breaker

    breaker.reset()


def test_after_a_redis_stall_no_public_answer_stays_stale(own_redis, client_for, admin):
    spaces = client_for("spaces")
    admin_headers = bearer(admin["access_token"])
    first, second = (
        spaces.post("/spaces", json=space_body(name=name), headers=admin_headers).json()
        for name in ("A", "B")
    )
    for space in (first, second):  # cached for the public
        assert spaces.get(f"/spaces/{space['id']}").status_code == 200
    assert {s["name"] for s in spaces.get("/spaces").json()["items"]} == {"A", "B"}

    with frozen(own_redis.pid):
        assert spaces.delete(f"/spaces/{first['id']}", headers=admin_headers).status_code == 204
        assert spaces.get(f"/spaces/{first['id']}").status_code == 404  # read from PostgreSQL meanwhile

    # Right after the thaw, while this instance still leaves Redis alone for reads, a change:
    assert spaces.delete(f"/spaces/{second['id']}", headers=admin_headers).status_code == 204
    another_instance()
    assert spaces.get(f"/spaces/{second['id']}").status_code == 404
    # The change made during the stall could not reach Redis: stale for the cache's lifetime at most.
    deadline = time.monotonic() + 3 + 1
    while spaces.get(f"/spaces/{first['id']}").status_code != 404:
        assert time.monotonic() < deadline, "a deactivated space stayed public past the cache's lifetime"
        time.sleep(0.2)
    assert spaces.get("/spaces").json()["items"] == []


def test_a_frozen_redis_costs_the_rate_limits_not_the_requests(own_redis, limits_on):
    """Redis frozen with the rate limits on: the first request waits out Redis's timeout once, the next
    ones do not try it; after the thaw (and the pause) the limits count again."""
    limits_on(rate_limit_default="2/minute")
    me = http_event("GET", "/users/me", source_ip="198.51.100.77")
    with frozen(own_redis.pid):
        first, status, _, _ = timed("users", me)
        assert status == 401 and first < ANSWER_WITHIN_SECONDS
        with counting() as sent:
            assert [invoke("users", me)[0] for _ in range(5)] == [401] * 5
        assert sent["redis"] == 0  # Redis left alone for a while: nobody waits on it
    another_instance()
    assert [invoke("users", me)[0] for _ in range(3)] == [401, 401, 429]


def test_no_cached_answer_lives_longer_than_a_minute_by_default(client_for, spaces_api, engine, monkeypatch):
    monkeypatch.delenv("RESERVAS_CACHE_TTL_SECONDS", raising=False)
    reset_caches()
    space = spaces_api.create()
    spaces = client_for("spaces")
    assert spaces.get(f"/spaces/{space['id']}").status_code == 200
    assert spaces.get("/spaces").status_code == 200
    day = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 3 * 86400))
    assert spaces.get(f"/spaces/{space['id']}/availability", params={"date": day}).status_code == 200
    from reservas.cache import get_redis

    client = get_redis()
    lifetimes = [client.ttl(key) for key in client.scan_iter("spaces:*") if ":gen" not in key]
    assert len(lifetimes) == 3
    assert all(0 < lifetime <= 60 for lifetime in lifetimes), lifetimes


def test_a_write_redis_runs_only_after_a_stall_expires_when_it_would_have(own_redis, client_for, admin):
    """A reader's SET goes out just as Redis freezes and waits in Redis's socket buffer; the space is
    deactivated meanwhile (its invalidation is lost: Redis is frozen). Redis runs the SET when it
    thaws: the stale answer must expire when it would have without the stall, not a lifetime later."""
    from reservas import cache as cache_module

    spaces = client_for("spaces")
    admin_headers = bearer(admin["access_token"])
    space = spaces.post("/spaces", json=space_body(name="A"), headers=admin_headers).json()
    real_set = cache_module.Cache.set
    frozen_at: list[float] = []

    def set_as_redis_freezes(self, key, value):
        if "details" in key and not frozen_at:
            os.kill(own_redis.pid, signal.SIGSTOP)
            frozen_at.append(time.monotonic())
        return real_set(self, key, value)

    cache_module.Cache.set = set_as_redis_freezes
    try:
        assert spaces.get(f"/spaces/{space['id']}").status_code == 200  # the reader; its SET is in flight
    finally:
        cache_module.Cache.set = real_set
    try:
        another_instance()
        assert spaces.delete(f"/spaces/{space['id']}", headers=admin_headers).status_code == 204
        time.sleep(max(0.0, 5 - (time.monotonic() - frozen_at[0])))  # frozen for longer than the lifetime
    finally:
        os.kill(own_redis.pid, signal.SIGCONT)
    time.sleep(0.3)
    another_instance()
    assert spaces.get(f"/spaces/{space['id']}").status_code == 404


class SlowLink:
    """A unix-socket proxy in front of PostgreSQL that holds every answer back for `delay` seconds: a
    database that is slow, not frozen (an overloaded host, a saturated network)."""

    def __init__(self, target: str, delay: float) -> None:
        import socket
        import threading

        self.delay = delay
        self.folder = tempfile.mkdtemp(prefix="reservas-slow-")
        self.path = os.path.join(self.folder, ".s.PGSQL.5432")
        self.target = target
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.connect(self.target)
            threading.Thread(target=self._pipe, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, True), daemon=True).start()

    def _pipe(self, source, destination, answers: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if answers:
                    time.sleep(self.delay)
                destination.sendall(chunk)
        except OSError:
            pass
        finally:
            source.close()
            destination.close()

    def close(self) -> None:
        self.listener.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def test_a_slow_database_costs_a_request_a_clear_503_within_seconds(engine, booking, monkeypatch):
    from urllib.parse import parse_qs, urlsplit

    url = os.environ["DATABASE_URL"]
    socket_dir = parse_qs(urlsplit(url).query)["host"][0]
    link = SlowLink(os.path.join(socket_dir, ".s.PGSQL.5432"), delay=0.0)
    monkeypatch.setenv("DATABASE_URL", url.replace(socket_dir, link.folder))
    monkeypatch.setenv("RESERVAS_DB_POOL_SIZE", "1")
    reset_caches()
    try:
        assert booking.post("12:00", "13:00").status_code == 201  # a warm instance, its connection open
        # Every answer of the database now takes 0.9 s: slow, each under the 2 s timeout, and a booking's
        # five round trips would take 4.5 s, well past the request's 2.5 s budget for database work.
        link.delay = 0.9
        started = time.monotonic()
        response = booking.post("10:00", "11:00")
        seconds = time.monotonic() - started
    finally:
        monkeypatch.undo()
        reset_caches()
        link.close()
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM_JSON and response.headers["retry-after"]
    assert seconds < ANSWER_WITHIN_SECONDS, seconds


def test_calendar_feeds_answer_a_clear_503_when_the_database_freezes(own_postgres):
    from reservas.database import get_engine

    tokens = sign_up_through_handlers(get_engine(), "feeds@example.com")
    signed_in = bearer(tokens["access_token"])
    status, _, feed = invoke("users", http_event("POST", "/users/me/calendar-token", headers=signed_in))
    assert status == 201
    requests = [
        ("reservations", http_event("GET", feed["path"])),  # anonymous: the token is the key
        ("users", http_event("POST", "/users/me/calendar-token", headers=signed_in)),
    ]
    assert _status_of(*requests[0]) == 200  # warm
    with frozen(own_postgres.get_pid()):
        for group, event in requests:
            seconds, status, headers, body = timed(group, event)
            assert status == 503, (group, body)
            assert headers["content-type"] == PROBLEM_JSON and headers["retry-after"]
            assert seconds < ANSWER_WITHIN_SECONDS, (group, seconds)
    assert _status_of(*requests[0]) == 200  # nothing rotated while frozen: the feed goes on


def _status_of(group: str, event: dict) -> int:
    """The status of an answer that need not be JSON (a calendar)."""
    return function_module(group).handler(event, LambdaContext(f"{group.title()}Function"))["statusCode"]


@pytest.fixture
def no_connection_slot(engine, monkeypatch):
    """The functions log in as a role the server has no connection slot left for: what PostgreSQL
    answers at max_connections, or while it starts up or shuts down (FATAL 53300, 57P03)."""
    from sqlalchemy.engine import make_url

    with engine.begin() as connection:
        connection.execute(text("DROP ROLE IF EXISTS crowded"))
        connection.execute(text("CREATE ROLE crowded LOGIN CONNECTION LIMIT 0"))
    url = make_url(os.environ["DATABASE_URL"]).set(username="crowded")
    monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))
    reset_caches()
    yield
    monkeypatch.undo()
    reset_caches()
    with engine.begin() as connection:
        connection.execute(text("DROP ROLE crowded"))


def test_a_database_that_refuses_the_connection_for_want_of_room_answers_503(no_connection_slot):
    for group, event in [
        ("spaces", http_event("GET", "/spaces/00000000-0000-4000-8000-000000000000")),
        ("auth", http_event("POST", "/auth/login", body={"email": "a@example.com", "password": "x" * 12})),
    ]:
        status, headers, body = invoke(group, event)
        assert status == 503, (group, body)
        assert headers["content-type"] == PROBLEM_JSON and headers["retry-after"]


def test_a_connection_left_on_a_read_only_server_answers_503_and_is_replaced(own_postgres):
    """After a failover, a pooled connection can still point at the old writer, now a reader: every write
    fails with 25006 (read-only transaction). The request answers 503 with Retry-After, not 500, and the
    connection leaves the pool, so the next request connects anew (in AWS, to the new writer)."""
    from reservas.database import pg8000_url

    url, connect_args = pg8000_url(own_postgres.get_uri())
    superuser = create_engine(
        url, connect_args=connect_args, poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )

    def application_backends() -> set[int]:
        with superuser.connect() as connection:
            return set(
                connection.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend'"
                        " AND pid <> pg_backend_pid()"
                    )
                ).scalars()
            )

    def register(n: int) -> tuple[int, dict[str, str], object]:
        body = {"email": f"reader-{n}@example.com", "password": "Correct-Horse-9", "name": "Ana"}
        return invoke("auth", http_event("POST", "/auth/register", body=body))

    assert register(1)[0] == 202
    before = application_backends()
    with superuser.connect() as connection:
        connection.execute(text("ALTER SYSTEM SET default_transaction_read_only = on"))
        connection.execute(text("SELECT pg_reload_conf()"))
    try:
        time.sleep(0.2)  # the reload reaches every backend
        status, headers, body = register(2)
        assert status == 503, body
        assert headers["content-type"] == PROBLEM_JSON and headers["retry-after"]
        assert not application_backends() & before  # that connection was closed, not kept
    finally:
        with superuser.connect() as connection:
            connection.execute(text("ALTER SYSTEM RESET default_transaction_read_only"))
            connection.execute(text("SELECT pg_reload_conf()"))
        superuser.dispose()
    time.sleep(0.2)
    assert register(3)[0] == 202
