# ruff: noqa: F811  (the fixtures imported from test_webhooks are parameters of the tests here)
"""Attacks on the webhooks: SSRF forms, hostile receivers and resolvers, concurrency, leaks.

Tests marked HOLE failed on the webhooks as first merged and assert what an admin or a receiver should
see; the others document attacks that were defended from the start. Timeouts are scaled down (READ/CONNECT/ATTEMPT
seconds patched small) so that every test stays within a few seconds."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from reservas.tables import webhook_deliveries
from reservas.webhooks import addresses, delivery
from tests.integration.conftest import bearer
from tests.integration.test_webhooks import (  # fixtures and helpers, not tests
    PUBLIC,
    bus_events,
    deliveries,
    hooks,  # noqa: F401 (a fixture)
    loopback_allowed,  # noqa: F401 (a fixture)
    message_of,
    receiver,  # noqa: F401 (a fixture)
    webhooks_function,
)
from tests.support import STRONG_PASSWORD, http_event, invoke

LOOPBACK = ipaddress.ip_address("127.0.0.1")


# ---------------------------------------------------------------- A receiver that misbehaves at the TCP level


class RawReceiver:
    """A TCP listener on 127.0.0.1 that reads each request and then does what `behaviour(conn, stop)`
    does; records every request's webhook-id and how many were in flight at once, per id."""

    def __init__(self, behaviour) -> None:
        self.behaviour = behaviour
        self.stop = threading.Event()
        self.ids: list[str | None] = []
        self.in_flight: dict[str | None, int] = {}
        self.most_at_once: dict[str | None, int] = {}
        self.lock = threading.Lock()
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        message_id = None
        try:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            headers = {}
            for line in head.decode("latin-1").split("\r\n")[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", 0))
            while len(body) < length:
                body += conn.recv(65536)
            message_id = headers.get("webhook-id")
            with self.lock:
                self.ids.append(message_id)
                self.in_flight[message_id] = self.in_flight.get(message_id, 0) + 1
                self.most_at_once[message_id] = max(
                    self.most_at_once.get(message_id, 0), self.in_flight[message_id]
                )
            self.behaviour(conn, self.stop)
        except OSError:
            pass
        finally:
            if message_id is not None:
                with self.lock:
                    self.in_flight[message_id] -= 1
            with contextlib.suppress(OSError):
                conn.close()

    def close(self) -> None:
        self.stop.set()
        self.server.close()


def trickle_body(conn: socket.socket, stop: threading.Event) -> None:
    """200 at once, then the body one byte at a time, each well within the read timeout."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    deadline = time.monotonic() + 6
    while not stop.is_set() and time.monotonic() < deadline:
        conn.sendall(b"x")
        stop.wait(0.2)


def trickle_headers(conn: socket.socket, stop: threading.Event) -> None:
    """The status line, then a header one byte at a time: the status is never complete."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    deadline = time.monotonic() + 6
    while not stop.is_set() and time.monotonic() < deadline:
        conn.sendall(b"a")
        stop.wait(0.2)
    conn.sendall(b"\r\nContent-Length: 0\r\n\r\n")


def hang(conn: socket.socket, stop: threading.Event) -> None:
    stop.wait(8)


def huge_body(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
    chunk = b"x" * 65536
    deadline = time.monotonic() + 5
    while not stop.is_set() and time.monotonic() < deadline:
        conn.sendall(chunk)


def garbage(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"SSH-2.0-OpenSSH_9.0 " + b"\x1b[31m" * 200 + b"\r\n\r\n")


def slam(conn: socket.socket, stop: threading.Event) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def huge_headers(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 500 Oops\r\n" + b"X-A: " + b"b" * 70000 + b"\r\n\r\n")


@pytest.fixture
def raw():
    made: list[RawReceiver] = []

    def make(behaviour) -> RawReceiver:
        server = RawReceiver(behaviour)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


@pytest.fixture
def fast(monkeypatch):
    """Every timeout scaled down ~10x: connect and read 0.5 s, an attempt at most 1.5 s."""
    monkeypatch.setattr(delivery, "CONNECT_SECONDS", 0.5)
    monkeypatch.setattr(delivery, "READ_SECONDS", 0.5)
    monkeypatch.setattr(delivery, "ATTEMPT_SECONDS", 1.5)


def _timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


# ---------------------------------------------------------------- HOLE: an attempt is not bounded in time


def test_a_receiver_trickling_its_body_cannot_hold_an_attempt_past_its_time(
    loopback_allowed, hooks, raw, fast, engine
):
    """HOLE. urllib3's read timeout is per socket read: a receiver that answers 200 and then sends one
    byte of body every 0.2 s (under the 0.5 s read timeout) holds `response.read(1024)` for 1024 x 0.2 s.
    At production scale (one byte every 9 s) that is 2.5 hours per attempt; ATTEMPT_SECONDS promises 15 s."""
    slow = raw(trickle_body)
    created = hooks.made(slow.url)
    with engine.connect() as db:
        [delivery_id] = delivery.fan_out(db, "ReservationCreated", {"event_id": 9001})
        _, took = _timed(lambda: delivery.attempt(db, delivery_id))
    assert took < delivery.ATTEMPT_SECONDS + 1, f"one attempt took {took:.1f} s"
    assert created


def test_a_receiver_trickling_its_headers_cannot_hold_the_test_route_past_the_lambda(
    loopback_allowed, hooks, raw, fast
):
    """HOLE. The status line comes, then a header one byte at a time: http.client reads headers line by
    line, each recv within the read timeout, so `POST /webhooks/{id}/test` (users function, 15 s Lambda
    timeout) hangs as long as the receiver likes; the admin gets a 504 from API Gateway."""
    slow = raw(trickle_headers)
    created = hooks.made(slow.url)
    answer, took = _timed(lambda: hooks.post(f"/webhooks/{created['id']}/test"))
    assert took < delivery.ATTEMPT_SECONDS + 1, f"the test route took {took:.1f} s"
    assert answer.status_code == 202
    assert answer.json()["state"] == "pending"


def _slow_resolver(monkeypatch, slow_host: str, seconds: float) -> threading.Event:
    """socket.getaddrinfo that never answers (for `seconds`) for one name, as a resolver that drops
    queries does; every other name resolves as usual (the database's included)."""
    real = socket.getaddrinfo
    release = threading.Event()

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str) and host.rstrip(".") == slow_host:
            release.wait(seconds)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return release


def test_a_resolver_that_never_answers_cannot_hold_registration(hooks, monkeypatch):
    """HOLE. `addresses.resolve` calls socket.getaddrinfo with no bound: glibc waits timeout x attempts
    x nameservers (5 s x 2 x 3 = 30 s by default), past the users function's 15 s. A name whose
    authoritative server drops queries (anyone can set one up) makes `POST /webhooks` time out.
    Here the resolver hangs 6 s; registration should be refused within a few seconds."""
    release = _slow_resolver(monkeypatch, "blackhole.example.org", 6)
    try:
        answer, took = _timed(lambda: hooks.create("https://blackhole.example.org/hook"))
    finally:
        release.set()
    assert took < 4.5, f"POST /webhooks took {took:.1f} s waiting for DNS"
    assert answer.status_code == 422


def test_a_resolver_that_never_answers_cannot_hold_an_attempt(hooks, fast, monkeypatch, engine):
    """HOLE. The same at delivery: name resolution is part of an attempt (ATTEMPT_SECONDS says so) but
    has no timeout, so the sweep's budget (`until`, checked between attempts only) is overrun and the
    Lambda is killed mid-attempt."""
    monkeypatch.setattr(addresses, "resolve", lambda host, port: [PUBLIC])
    created = hooks.made("https://blackhole.example.org/hook")
    monkeypatch.undo()
    monkeypatch.setattr(delivery, "CONNECT_SECONDS", 0.5)
    monkeypatch.setattr(delivery, "READ_SECONDS", 0.5)
    monkeypatch.setattr(delivery, "ATTEMPT_SECONDS", 1.5)
    release = _slow_resolver(monkeypatch, "blackhole.example.org", 5)
    try:
        with engine.connect() as db:
            [delivery_id] = delivery.fan_out(db, "ReservationCreated", {"event_id": 9002})
            _, took = _timed(lambda: delivery.attempt(db, delivery_id))
    finally:
        release.set()
    assert took < delivery.ATTEMPT_SECONDS + 1, f"one attempt took {took:.1f} s resolving the name"
    assert created


def test_an_attempt_that_outlives_its_lease_is_not_sent_twice_at_once(
    loopback_allowed, hooks, raw, fast, engine
):
    """HOLE (consequence of the unbounded attempt). The lease (2 min) assumes an attempt ends within
    ATTEMPT_SECONDS; a trickling receiver keeps the first attempt going past it, the next sweep claims
    the same delivery again and the receiver gets the same message twice concurrently (and the first
    attempt's outcome is thrown away)."""
    slow = raw(trickle_body)
    hooks.made(slow.url)
    t0 = datetime.now(UTC)
    with engine.connect() as db:
        delivery.fan_out(db, "ReservationCreated", {"event_id": 9003}, now=t0)

    def first() -> None:
        with engine.connect() as db:
            delivery.sweep(db, now=t0)

    thread = threading.Thread(target=first)
    thread.start()
    time.sleep(1.0)  # the first attempt is still reading the body
    with engine.connect() as db:
        delivery.sweep(db, now=t0 + delivery.LEASE + timedelta(seconds=1))  # its lease is over
    thread.join()
    assert slow.most_at_once.get(message_of(engine, 9003), 0) <= 1, (
        "the same message was in flight twice at once"
    )


# ---------------------------------------------------------------- HOLE: one bad receiver starves the rest


def test_a_hanging_receiver_does_not_starve_other_webhooks_in_the_sweep(
    loopback_allowed, hooks, raw, receiver, fast, engine
):
    """HOLE. The sweep attempts due deliveries one after the other, oldest first, and a webhook that just
    timed out keeps being attempted for its other due deliveries. A receiver that hangs (10 s a time in
    production, 0.5 s here) with a backlog of 6 uses the whole sweep budget (45 s; 2 s here) every
    minute: the healthy webhook's delivery, due at the same time, waits indefinitely."""
    bad = raw(hang)
    hooks.made(bad.url, event_types=["ReservationCreated"])
    good = hooks.made(receiver.url, event_types=["ReservationCancelled"])
    receiver.secrets = [good["secret"]]
    t0 = datetime.now(UTC)
    with engine.connect() as db:
        for n in range(6):
            delivery.fan_out(
                db, "ReservationCreated", {"event_id": 9100 + n}, now=t0 - timedelta(minutes=10 - n)
            )
        delivery.fan_out(db, "ReservationCancelled", {"event_id": 9200}, now=t0 - timedelta(minutes=1))
        delivery.sweep(db, now=t0, until=time.monotonic() + 2.0)
    assert receiver.ids() == [message_of(engine, 9200)], "the healthy webhook got nothing in this sweep"


# ---------------------------------------------------------------- HOLE: replay races an attempt


def test_a_replay_while_the_delivery_is_being_attempted_does_not_send_it_twice_at_once(
    loopback_allowed, hooks, raw, engine, monkeypatch
):
    """HOLE. Replay resets any delivery of the webhook (pending ones included, attempts back to 0) and
    attempts it at once, without regard to the lease of an attempt in flight: the receiver gets the same
    webhook-id twice concurrently, which defeats check-then-insert deduplication. (It also lets an admin
    retry a pending delivery forever: attempts go back to 0.) Replay should refuse a pending delivery
    (409) or at least one whose lease is running."""
    monkeypatch.setattr(delivery, "READ_SECONDS", 3)

    def slow_ok(conn: socket.socket, stop: threading.Event) -> None:
        stop.wait(1.5)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    slow = raw(slow_ok)
    created = hooks.made(slow.url)
    with engine.connect() as db:
        [delivery_id] = delivery.fan_out(db, "ReservationCreated", {"event_id": 9300})

    def sweep() -> None:
        with engine.connect() as db:
            delivery.sweep(db)

    thread = threading.Thread(target=sweep)
    thread.start()
    time.sleep(0.5)
    replayed = hooks.post(f"/webhooks/{created['id']}/deliveries/{delivery_id}/replay")
    thread.join()
    assert slow.most_at_once.get(message_of(engine, 9300), 0) <= 1, (
        f"the message was sent twice concurrently; the replay answered {replayed.status_code}"
    )


# ---------------------------------------------------------------- HOLE: a person who left stays in the deliveries


def test_a_person_who_leaves_is_erased_from_the_webhook_deliveries(
    loopback_allowed, receiver, hooks, booking, engine, client_for
):
    """HOLE. A delivery keeps the event's whole detail (the reservation: user_id, notes) for 30 days,
    shown to every admin by GET /webhooks/{id}/deliveries and sent again on replay. Leaving erases the
    person from reservations and the audit log (audit.erase_person), not from webhook_deliveries: their
    notes are still readable, and replayable to a third party, after they left."""
    created = hooks.made(receiver.url)
    receiver.mode = "fail"  # typical: the receiver is down, the delivery waits in the dead-letter store
    booked = booking.post("10:00", "11:00", notes="Therapy session - private")
    assert booked.status_code == 201, booked.text
    for event in bus_events(engine):
        webhooks_function(event)

    left = client_for("users").request(
        "DELETE",
        "/users/me",
        json={"current_password": STRONG_PASSWORD},
        headers=bearer(booking.user["access_token"]),
    )
    assert left.status_code == 204, left.text
    listed = hooks.get(f"/webhooks/{created['id']}/deliveries").json()["items"]
    text = json.dumps(listed)
    assert "Therapy session" not in text
    assert booking.user["user"]["id"] not in text


# ---------------------------------------------------------------- Defended: SSRF forms


@pytest.mark.parametrize(
    "url",
    [
        "https://2130706433/",
        "https://0x7f.1/",
        "https://0x7f000001/",
        "https://127.1/",
        "https://0177.0.0.1/",
        "https://017700000001/",
        "https://0/",
        "https://[::]/",
        "https://[::ffff:7f00:1]/",
        "https://[::ffff:a9fe:a9fe]/",
        "https://[64:ff9b::a9fe:a9fe]/",
        "https://[64:ff9b:1::a9fe:a9fe]/",
        "https://[2002:a9fe:a9fe::]/",
        "https://[fe80::1%25eth0]/",
        "https://[::127.0.0.1]/",
        "HTTPS://127.0.0.1/",
        "https://LOCALHOST./",
        "https://localhost./",
        "https://169.254.169.254./latest",
        "https://example.com@127.0.0.1/",
        "https://example.com\\@127.0.0.1/",
        "https://127.0.0.1\\@example.com/",
        "https://127.0.0.1\\.example.com/",
        "https://exa\tmple.com/",
        "https://example.com/\n",
        "https://example.com:0/",  # becomes 443 (harmless), but resolves: checked below separately
        "https://example.com:65536/",
        "https://\uff11\uff12\uff17.\uff10.\uff10.\uff11/",  # fullwidth 127.0.0.1 (IDNA maps it)
        "https://\u2474.0.0.1/",
        "https://[::1]:443/",
        "ftp://example.com/",
        "//example.com/",
        "https:/example.com/",
    ],
)
def test_ssrf_forms_are_refused_at_registration(hooks, monkeypatch, url):
    real = addresses.resolve

    def resolve(host, port):
        if host in ("example.com",):
            return [ipaddress.ip_address("127.0.0.1")]  # as a rebinding name would, to be safe
        return real(host, port)

    monkeypatch.setattr(addresses, "resolve", resolve)
    refused = hooks.create(url)
    assert refused.status_code == 422, (url, refused.text)


def test_a_name_resolving_to_public_and_private_addresses_is_refused_now_and_at_delivery(
    hooks, receiver, engine, monkeypatch
):
    monkeypatch.setattr(addresses, "resolve", lambda host, port: [PUBLIC, LOOPBACK])
    assert hooks.create("https://mixed.example.org/hook").status_code == 422
    monkeypatch.setattr(addresses, "resolve", lambda host, port: [PUBLIC])
    created = hooks.made(f"https://mixed.example.org:{receiver.port}/hook")
    monkeypatch.setattr(addresses, "resolve", lambda host, port: [PUBLIC, LOOPBACK])
    sent = hooks.post(f"/webhooks/{created['id']}/test").json()
    assert "not sent" in sent["last_error"]
    assert receiver.received == []


def test_a_redirect_to_the_metadata_service_is_not_followed(loopback_allowed, hooks, raw):
    def to_metadata(conn, stop):
        conn.sendall(
            b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://169.254.169.254/latest/meta-data/\r\n"
            b"Content-Length: 0\r\n\r\n"
        )

    redirecting = raw(to_metadata)
    created = hooks.made(redirecting.url)
    sent = hooks.post(f"/webhooks/{created['id']}/test").json()
    assert sent["last_status"] == 307 and "redirect" in sent["last_error"]
    assert len(redirecting.ids) == 1


# ---------------------------------------------------------------- Defended: hostile receivers fail fast


@pytest.mark.parametrize("behaviour", [huge_body, garbage, slam, huge_headers, hang])
def test_hostile_receivers_fail_the_attempt_quickly_with_a_short_error(
    loopback_allowed, hooks, raw, fast, behaviour
):
    server = raw(behaviour)
    created = hooks.made(server.url)
    answer, took = _timed(lambda: hooks.post(f"/webhooks/{created['id']}/test"))
    assert took < 2.5
    sent = answer.json()
    if behaviour is huge_body:
        assert sent["state"] == "delivered"
    else:
        assert sent["state"] == "pending"
        assert len(sent["last_error"]) <= delivery.ERROR_LENGTH
        assert "whsec_" not in sent["last_error"]


# ---------------------------------------------------------------- Defended: concurrency


def test_the_same_event_handed_over_50_times_at_once_is_delivered_once(
    loopback_allowed, receiver, hooks, engine
):
    created = hooks.made(receiver.url)
    receiver.secrets = [created["secret"]]
    event = {
        "detail-type": "ReservationCreated",
        "time": "2026-01-01T00:00:00Z",
        "detail": {"event_id": 9400, "id": str(uuid.uuid4())},
    }
    barrier = threading.Barrier(50)
    results: list[dict] = []

    def hand_over() -> None:
        barrier.wait()
        results.append(webhooks_function(event))

    threads = [threading.Thread(target=hand_over) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r["deliveries"] for r in results) == 1
    assert receiver.ids() == [message_of(engine, 9400)]
    assert [d["state"] for d in deliveries(engine)] == ["delivered"]


def test_a_webhook_deleted_during_its_attempt_leaves_nothing_behind(
    loopback_allowed, hooks, raw, engine, monkeypatch
):
    monkeypatch.setattr(delivery, "READ_SECONDS", 3)

    def slow_ok(conn, stop):
        stop.wait(1.0)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    slow = raw(slow_ok)
    created = hooks.made(slow.url)
    with engine.connect() as db:
        delivery.fan_out(db, "ReservationCreated", {"event_id": 9500})
    outcome: dict = {}

    def sweep() -> None:
        with engine.connect() as db:
            outcome.update(delivery.sweep(db))

    thread = threading.Thread(target=sweep)
    thread.start()
    time.sleep(0.3)
    assert hooks.delete(f"/webhooks/{created['id']}").status_code == 204
    thread.join()
    assert outcome["attempted"] == 1
    with engine.connect() as db:
        assert db.execute(select(webhook_deliveries)).all() == []


# ---------------------------------------------------------------- Defended: access, input, cursors, leaks


def test_api_keys_with_every_scope_reach_no_webhook_route(
    loopback_allowed, receiver, hooks, keys, admin, client_for
):
    created = hooks.made(receiver.url)
    sent = hooks.post(f"/webhooks/{created['id']}/test").json()
    me = client_for("users").get("/users/me", headers=bearer(admin["access_token"])).json()
    key = keys.create(me["id"], ["spaces:read", "reservations:read", "reservations:write"])["key"]
    headers = {"authorization": f"Bearer {key}"}
    base = f"/webhooks/{created['id']}"
    for method, path, body in [
        ("POST", "/webhooks", {"url": receiver.url, "event_types": ["ReservationCreated"]}),
        ("GET", "/webhooks", None),
        ("GET", base, None),
        ("POST", f"{base}/secret", None),
        ("POST", f"{base}/test", None),
        ("GET", f"{base}/deliveries", None),
        ("POST", f"{base}/deliveries/{sent['id']}/replay", None),
        ("DELETE", base, None),
    ]:
        status, _, answer = invoke("users", http_event(method, path, body=body, headers=headers))
        assert status == 403, (method, path, status, answer)
        assert "whsec_" not in json.dumps(answer)
    assert len(receiver.received) == 1
    assert hooks.get(base).status_code == 200


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "W10",  # []
        "WyJ4IiwgInkiXQ",  # ["x", "y"]
        "WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgIm5vdC1hLXV1aWQiXQ",  # [instant, "not-a-uuid"]
        "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwgIjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMCJd",  # naive
        "WzEsIDJd",  # [1, 2]
        "A" * 5000,
    ],
)
def test_forged_cursors_are_422_on_both_lists(loopback_allowed, receiver, hooks, cursor):
    created = hooks.made(receiver.url)
    for path in ("/webhooks", f"/webhooks/{created['id']}/deliveries"):
        answer = hooks.get(path, cursor=cursor)
        assert answer.status_code == 422, (path, cursor, answer.status_code, answer.text)


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://example.org/", "event_types": ["PasswordResetRequested"]},
        {"url": "https://example.org/", "event_types": ["VerificationRequested"]},
        {"url": "https://example.org/", "event_types": ["AddressAlreadyRegistered"]},
        {"url": "https://example.org/", "event_types": ["WebhookTest"]},
        {"url": "https://example.org/", "event_types": ["ReservationCreated"] * 5000},
        {"url": "https://example.org/", "event_types": [f"T{n}" for n in range(5000)]},
        {"url": "https://example.org/", "event_types": ["ReservationCreated"], "description": "a\u202eb"},
        {"url": "https://example.org/", "event_types": ["ReservationCreated"], "description": "a\u0007b"},
        {"url": "https://example.org/", "event_types": ["ReservationCreated"], "description": "x" * 201},
        {"url": "https://example.org/" + "a" * 3000, "event_types": ["ReservationCreated"]},
        {"url": {"a": [[[[[[[[[[[]]]]]]]]]]]}, "event_types": ["ReservationCreated"]},
    ],
)
def test_hostile_registrations_are_422(hooks, monkeypatch, body):
    monkeypatch.setattr(addresses, "resolve", lambda host, port: [PUBLIC])
    answer = hooks.create_from(body)
    assert answer.status_code in (413, 422), answer.text  # 413: the body is over 64 KiB


def test_deeply_nested_json_is_a_client_error_not_a_500(hooks, client_for, admin):
    answer = client_for("users").post(
        "/webhooks",
        content=b"[" * 100_000 + b"]" * 100_000,
        headers={**bearer(admin["access_token"]), "content-type": "application/json"},
    )
    assert 400 <= answer.status_code < 500, answer.status_code


def test_the_secret_never_leaves_in_answers_logs_or_errors(
    loopback_allowed, hooks, raw, fast, engine, capsys
):
    server = raw(garbage)
    created = hooks.made(server.url)
    secret = created["secret"]
    rotated = hooks.post(f"/webhooks/{created['id']}/secret").json()["secret"]
    sent = hooks.post(f"/webhooks/{created['id']}/test").json()
    with engine.connect() as db:
        at = datetime.now(UTC) + timedelta(minutes=2)
        delivery.sweep(db, now=at)
    seen = json.dumps(
        [
            hooks.get(f"/webhooks/{created['id']}").json(),
            hooks.get("/webhooks").json(),
            hooks.get(f"/webhooks/{created['id']}/deliveries").json(),
            hooks.get("/audit", entity="webhook").json(),
            sent,
        ]
    )
    captured = capsys.readouterr()
    for text in (seen, captured.out, captured.err):
        assert secret not in text and rotated not in text


def test_only_booking_events_reach_a_webhook_whatever_the_bus_hands_over(
    loopback_allowed, receiver, hooks, engine
):
    hooks.made(receiver.url, event_types=["ReservationCreated"])
    for kind in (
        "PasswordResetRequested",
        "VerificationRequested",
        "AddressAlreadyRegistered",
        "WebhookTest",
    ):
        answer = webhooks_function({"detail-type": kind, "detail": {"event_id": 9600, "token_id": "t"}})
        assert answer == {"deliveries": 0, "delivered": 0}
    assert receiver.received == []
