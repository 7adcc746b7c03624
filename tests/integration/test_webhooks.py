"""Webhooks as an admin and a receiver see them: a real HTTP receiver on 127.0.0.1 (allowed for these
tests through RESERVAS_WEBHOOK_PRIVATE_NETWORKS) verifies every request with the `standardwebhooks`
library; events come from the outbox as EventBridge hands them to the webhooks function; time passing
is simulated by handing the sweep a later `now`."""

from __future__ import annotations

import ipaddress
import json
import ssl
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from devtools.apigw import ROOT, LambdaContext, load_function_module
from reservas.tables import webhook_deliveries
from reservas.webhooks import addresses, delivery
from tests.conftest import reset_caches
from tests.integration.conftest import bearer
from tests.support import bus_events

PUBLIC = ipaddress.ip_address("93.184.216.34")


class Receiver:
    """An HTTP endpoint that answers as told (`mode`: ok, fail, redirect, hang) and verifies every
    request with each of `secrets`, recording which verified it."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.mode = "ok"
        self.hang_seconds = 3.0
        self.secrets: list[str] = []
        self.received: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                headers = dict(self.headers.items())
                verified = []
                for index, secret in enumerate(receiver.secrets):
                    try:
                        Webhook(secret).verify(body, headers)
                        verified.append(index)
                    except WebhookVerificationError:
                        pass
                with receiver.lock:
                    receiver.received.append(
                        {
                            "path": self.path,
                            "id": headers.get("webhook-id"),
                            "host": headers.get("Host"),
                            "body": json.loads(body),
                            "verified_with": verified,
                        }
                    )
                mode = receiver.mode
                if mode == "hang":
                    time.sleep(receiver.hang_seconds)
                if mode == "redirect":
                    self.send_response(302)
                    self.send_header("Location", f"http://127.0.0.1:{receiver.port}/elsewhere")
                else:
                    self.send_response(500 if mode == "fail" else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def do_GET(self) -> None:
                with receiver.lock:
                    receiver.received.append({"path": self.path, "id": None, "verified_with": []})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def ids(self) -> list[str | None]:
        with self.lock:
            return [r["id"] for r in self.received]


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def loopback_allowed(engine, monkeypatch):
    monkeypatch.setenv("RESERVAS_WEBHOOK_PRIVATE_NETWORKS", "127.0.0.0/8")
    reset_caches()
    yield
    monkeypatch.undo()
    reset_caches()


class Answer:
    """What a test send or a replay comes to once the webhooks function has attempted it."""

    def __init__(self, status_code: int, body: dict) -> None:
        self.status_code = status_code
        self.body = body
        self.text = json.dumps(body)

    def json(self) -> dict:
        return self.body


@pytest.fixture
def hooks(client_for, admin, engine):
    """The webhook routes, as the admin. A test send or a replay (`post`) is attempted by the webhooks
    function, as the stack does it: the route's `WebhookDeliveryDue` event is handed to the function,
    and the answer is the delivery as it stands after that (`answered` keeps the route's own)."""
    api = client_for("users")
    headers = bearer(admin["access_token"])
    handed: set[int] = set()

    class Hooks:
        answered = None

        def post(self, path: str):
            answer = api.post(path, headers=headers)
            self.answered = answer
            if answer.status_code != 202:
                return answer
            for event in bus_events(engine):
                if event["detail-type"] == "WebhookDeliveryDue" and event["detail"]["event_id"] not in handed:
                    handed.add(event["detail"]["event_id"])
                    webhooks_function(event)
            delivery = answer.json()
            listed = api.get(
                f"/webhooks/{delivery['webhook_id']}/deliveries", params={"limit": 100}, headers=headers
            ).json()["items"]
            return Answer(202, next(item for item in listed if item["id"] == delivery["id"]))

        def create(self, url: str, event_types=("ReservationCreated",), **extra):
            return api.post(
                "/webhooks", json={"url": url, "event_types": list(event_types), **extra}, headers=headers
            )

        def create_from(self, body):
            return api.post("/webhooks", json=body, headers=headers)

        def made(self, url: str, event_types=("ReservationCreated",)) -> dict:
            response = self.create(url, event_types)
            assert response.status_code == 201, response.text
            return response.json()

        def get(self, path: str, **params):
            return api.get(path, params=params, headers=headers)

        def delete(self, path: str):
            return api.delete(path, headers=headers)

    return Hooks()


def webhooks_function(event: dict) -> dict:
    handler = load_function_module(ROOT / "functions" / "webhooks").handler
    return handler(event, LambdaContext("WebhooksFunction", timeout_seconds=60))


def message_of(engine, event_id: int) -> str:
    """The webhook-id of the delivery of an event (of the first webhook that has one)."""
    with engine.connect() as connection:
        return connection.execute(
            select(webhook_deliveries.c.message_id).where(webhook_deliveries.c.event_id == event_id).limit(1)
        ).scalar_one()


def deliveries(engine) -> list[dict]:
    with engine.connect() as connection:
        return [
            dict(row)
            for row in connection.execute(
                select(webhook_deliveries).order_by(webhook_deliveries.c.created_at)
            )
            .mappings()
            .all()
        ]


# ---------------------------------------------------------------- Delivering events


def test_a_booking_reaches_the_receiver_signed_once_however_often_the_event_comes(
    loopback_allowed, receiver, hooks, booking, engine
):
    created = hooks.made(receiver.url)
    assert created["secret"].startswith("whsec_")
    receiver.secrets = [created["secret"]]
    # The secret is shown once: never again in a read or a list.
    assert "secret" not in hooks.get(f"/webhooks/{created['id']}").json()
    assert all("secret" not in item for item in hooks.get("/webhooks").json()["items"])

    booked = booking.post("10:00", "11:00")
    assert booked.status_code == 201, booked.text
    [event] = [e for e in bus_events(engine) if e["detail-type"] == "ReservationCreated"]

    assert webhooks_function(event) == {"deliveries": 1, "delivered": 1}
    assert webhooks_function(event) == {"deliveries": 0, "delivered": 0}  # EventBridge, again

    [received] = receiver.received
    assert received["verified_with"] == [0]
    [made] = deliveries(engine)
    assert received["id"] == made["message_id"] and made["message_id"].startswith("msg_")
    assert received["path"] == "/hooks"
    assert received["host"] == f"127.0.0.1:{receiver.port}"
    assert received["body"]["type"] == "ReservationCreated"
    assert received["body"]["data"]["id"] == booked.json()["id"]
    assert received["body"]["data"]["event_id"] == event["detail"]["event_id"]
    assert datetime.fromisoformat(received["body"]["timestamp"]) <= datetime.now(UTC)
    [listed] = hooks.get(f"/webhooks/{created['id']}/deliveries", state="delivered").json()["items"]
    assert listed["message_id"] == received["id"] and listed["attempts"] == 1


def test_only_subscribed_events_are_delivered(loopback_allowed, receiver, hooks, booking, engine):
    hooks.made(receiver.url, event_types=["ReservationCancelled"])
    booked = booking.post("10:00", "11:00").json()
    booking.api.delete(f"/reservations/{booked['id']}", headers=bearer(booking.user["access_token"]))
    for event in bus_events(engine):
        webhooks_function(event)
    assert [r["body"]["type"] for r in receiver.received] == ["ReservationCancelled"]


def test_account_mail_events_are_never_delivered(loopback_allowed, receiver, hooks, engine):
    created = hooks.made(receiver.url)
    receiver.secrets = [created["secret"]]
    event = {
        "detail-type": "PasswordResetRequested",
        "detail": {"event_id": 5, "user_id": str(uuid.uuid4()), "token_id": str(uuid.uuid4())},
    }
    assert webhooks_function(event) == {"deliveries": 0, "delivered": 0}
    assert receiver.received == []
    refused = hooks.create(receiver.url, event_types=["PasswordResetRequested"])
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"][:2] == ["body", "event_types"]


def test_a_failing_receiver_gets_every_retry_then_the_delivery_is_dead_and_replays(
    loopback_allowed, receiver, hooks, booking, engine
):
    created = hooks.made(receiver.url)
    receiver.secrets = [created["secret"]]
    receiver.mode = "fail"
    booking.post("10:00", "11:00")
    [event] = [e for e in bus_events(engine) if e["detail-type"] == "ReservationCreated"]
    assert webhooks_function(event) == {"deliveries": 1, "delivered": 0}
    now = datetime.now(UTC)

    with engine.connect() as db:
        for attempts, wait in enumerate(delivery.RETRY_DELAYS, start=1):
            assert delivery.sweep(db, now=now + wait - timedelta(seconds=1))["attempted"] == 0  # not yet
            assert len(receiver.received) == attempts
            now += wait
            assert delivery.sweep(db, now=now) == {"attempted": 1, "delivered": 0}
        # The last attempt failed: no more.
        assert delivery.sweep(db, now=now + timedelta(days=3))["attempted"] == 0

    assert len(receiver.received) == delivery.MAX_ATTEMPTS == 8
    assert set(receiver.ids()) == {deliveries(engine)[0]["message_id"]}
    assert all(r["verified_with"] == [0] for r in receiver.received)
    assert sum(delivery.RETRY_DELAYS, timedelta()) == timedelta(hours=27, minutes=36)

    [dead] = hooks.get(f"/webhooks/{created['id']}/deliveries", state="dead").json()["items"]
    assert dead["attempts"] == 8 and dead["last_status"] == 500 and dead["last_error"] == "answered 500"
    assert dead["next_attempt_at"] is None
    assert hooks.get(f"/webhooks/{created['id']}/deliveries", state="pending").json()["items"] == []

    receiver.mode = "ok"
    replayed = hooks.post(f"/webhooks/{created['id']}/deliveries/{dead['id']}/replay")
    assert replayed.status_code == 202, replayed.text
    assert replayed.json()["state"] == "delivered"
    assert replayed.json()["attempts"] == 1
    assert receiver.ids()[-1] == dead["message_id"]
    assert set(receiver.ids()) == {dead["message_id"]}  # the same webhook-id, every time
    assert receiver.received[-1]["verified_with"] == [0]
    assert hooks.get(f"/webhooks/{created['id']}/deliveries", state="dead").json()["items"] == []


def test_a_replay_that_fails_is_retried_on_the_schedule(loopback_allowed, receiver, hooks, engine):
    created = hooks.made(receiver.url)
    receiver.mode = "fail"
    sent = hooks.post(f"/webhooks/{created['id']}/test").json()
    with engine.connect() as db:
        at = datetime.now(UTC)
        for wait in delivery.RETRY_DELAYS:
            at += wait
            delivery.sweep(db, now=at)
    assert (
        hooks.get(f"/webhooks/{created['id']}/deliveries", state="dead").json()["items"][0]["id"]
        == sent["id"]
    )
    replayed = hooks.post(f"/webhooks/{created['id']}/deliveries/{sent['id']}/replay").json()
    assert replayed["state"] == "pending" and replayed["attempts"] == 1
    receiver.mode = "ok"
    with engine.connect() as db:
        assert delivery.sweep(db, now=datetime.now(UTC) + timedelta(minutes=1, seconds=1))["delivered"] == 1
    assert len(set(receiver.ids())) == 1 and len(receiver.received) == 10


def test_the_retry_schedule_runs_from_the_function(loopback_allowed, receiver, hooks, engine):
    created = hooks.made(receiver.url)
    receiver.mode = "fail"
    sent = hooks.post(f"/webhooks/{created['id']}/test").json()
    assert sent["state"] == "pending" and sent["attempts"] == 1
    with engine.begin() as connection:  # its retry is due
        connection.execute(
            webhook_deliveries.update().values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    receiver.mode = "ok"
    assert webhooks_function({"retry": True}) == {"attempted": 1, "delivered": 1}
    assert receiver.ids() == [sent["message_id"]] * 2


def test_a_test_event_reaches_the_receiver_verified(loopback_allowed, receiver, hooks):
    created = hooks.made(receiver.url)
    receiver.secrets = [created["secret"]]
    sent = hooks.post(f"/webhooks/{created['id']}/test")
    assert sent.status_code == 202, sent.text
    assert sent.json()["state"] == "delivered"
    assert sent.json()["event_type"] == "WebhookTest"
    assert sent.json()["message_id"].startswith("msg_test_")
    [received] = receiver.received
    assert received["verified_with"] == [0]
    assert received["id"] == sent.json()["message_id"]
    assert received["body"]["type"] == "WebhookTest"
    assert received["body"]["data"]["webhook_id"] == created["id"]


def test_after_a_rotation_both_secrets_sign_for_a_day_then_only_the_new_one(
    loopback_allowed, receiver, hooks, engine
):
    created = hooks.made(receiver.url)
    rotated = hooks.post(f"/webhooks/{created['id']}/secret")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new.startswith("whsec_") and new != created["secret"]
    until = datetime.fromisoformat(rotated.json()["previous_secret_until"])
    assert timedelta(hours=23, minutes=59) < until - datetime.now(UTC) <= timedelta(hours=24)
    receiver.secrets = [created["secret"], new]

    hooks.post(f"/webhooks/{created['id']}/test")
    assert receiver.received[-1]["verified_with"] == [0, 1]

    later = datetime.now(UTC) + timedelta(hours=24, minutes=1)
    with engine.connect() as db:
        [delivery_id] = delivery.fan_out(db, "ReservationCreated", {"event_id": 77}, now=later)
        assert delivery.attempt(db, uuid.UUID(str(delivery_id)), now=later) is True
    assert receiver.received[-1]["verified_with"] == [1]
    assert "secret" not in hooks.get(f"/webhooks/{created['id']}").json()


# ---------------------------------------------------------------- Where deliveries may go (SSRF)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "http://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::1]/",
        "https://localhost/hook",
        "https://10.0.0.8/hook",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "https://2130706433/hook",  # 127.0.0.1 as one number
        "https://[fe80::1]/hook",
        "https://224.0.0.1/hook",
        "https://does-not-exist.invalid/hook",
    ],
)
def test_addresses_that_are_not_public_are_refused_at_registration(hooks, url):
    refused = hooks.create(url)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["errors"][0]["loc"] == ["body", "url"]


def test_link_local_is_refused_even_when_listed(engine, hooks, monkeypatch):
    monkeypatch.setenv("RESERVAS_WEBHOOK_PRIVATE_NETWORKS", "169.254.0.0/16,127.0.0.0/8")
    reset_caches()
    try:
        refused = hooks.create("http://169.254.169.254/latest/meta-data/")
        assert refused.status_code == 422
        assert "link-local" in refused.json()["errors"][0]["msg"]
        assert hooks.create("https://169.254.169.254/").status_code == 422
    finally:
        monkeypatch.undo()
        reset_caches()


def test_http_is_only_for_allowed_networks(loopback_allowed, hooks, monkeypatch):
    monkeypatch.setattr(addresses, "resolve", lambda host, port: [PUBLIC])
    refused = hooks.create("http://hooks.example.org/hook")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "url"]
    assert hooks.create("https://hooks.example.org/hook").status_code == 201


def test_a_name_that_points_inside_at_delivery_is_not_reached(hooks, receiver, engine, monkeypatch):
    """DNS rebinding: public when registered, loopback when delivered to."""
    monkeypatch.setattr(addresses, "resolve", lambda host, port: [PUBLIC])
    created = hooks.made(f"https://rebind.example.org:{receiver.port}/hooks")
    monkeypatch.setattr(addresses, "resolve", lambda host, port: [ipaddress.ip_address("127.0.0.1")])
    sent = hooks.post(f"/webhooks/{created['id']}/test").json()
    assert sent["state"] == "pending"
    assert sent["last_status"] is None
    assert "loopback" in sent["last_error"] and "not sent" in sent["last_error"]
    assert receiver.received == []


def _certificates(folder, host: str) -> tuple[str, str, str]:
    """A certificate authority and a certificate it signed for `host`: (CA file, cert file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("Test CA"))
        .issuer_name(name("Test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name(host))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    files[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    files[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return tuple(str(f) for f in files)


def test_https_reaches_the_checked_address_and_verifies_the_urls_host_name(
    loopback_allowed, hooks, monkeypatch, tmp_path
):
    """The attempt connects to the address it checked (the name is not resolved again by the HTTP
    client), with TLS verified for the URL's host name: a certificate for another name fails."""
    ca_file, cert_file, key_file = _certificates(tmp_path, "hooks.example.org")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_file, key_file)
    receiver = Receiver(tls)
    try:
        monkeypatch.setenv("SSL_CERT_FILE", ca_file)  # the receiver's CA is trusted, as a public one is
        monkeypatch.setattr(addresses, "resolve", lambda host, port: [ipaddress.ip_address("127.0.0.1")])
        created = hooks.made(f"https://hooks.example.org:{receiver.port}/hooks")
        receiver.secrets = [created["secret"]]
        sent = hooks.post(f"/webhooks/{created['id']}/test").json()
        assert sent["state"] == "delivered", sent["last_error"]
        [received] = receiver.received
        assert received["host"] == f"hooks.example.org:{receiver.port}"
        assert received["verified_with"] == [0]

        other = hooks.made(f"https://other.example.org:{receiver.port}/hooks")
        refused = hooks.post(f"/webhooks/{other['id']}/test").json()
        assert refused["state"] == "pending"
        assert "certificate" in refused["last_error"].lower() or "hostname" in refused["last_error"].lower()
        assert len(receiver.received) == 1
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def test_a_redirect_is_a_failure_and_is_not_followed(loopback_allowed, receiver, hooks):
    created = hooks.made(receiver.url)
    receiver.mode = "redirect"
    sent = hooks.post(f"/webhooks/{created['id']}/test").json()
    assert sent["state"] == "pending"
    assert sent["last_status"] == 302
    assert "redirect" in sent["last_error"]
    assert [r["path"] for r in receiver.received] == ["/hooks"]


def test_a_receiver_that_does_not_answer_fails_the_attempt_in_time(
    loopback_allowed, receiver, hooks, monkeypatch
):
    monkeypatch.setattr(delivery, "READ_SECONDS", 0.3)
    created = hooks.made(receiver.url)
    receiver.mode = "hang"
    receiver.hang_seconds = 3
    started = time.monotonic()
    sent = hooks.post(f"/webhooks/{created['id']}/test").json()
    assert time.monotonic() - started < 2
    assert sent["state"] == "pending"
    assert sent["last_error"] == "no answer within 0.3 s"


# ---------------------------------------------------------------- Admins only


def test_only_admins_manage_webhooks(client_for, register, hooks, loopback_allowed, receiver):
    created = hooks.made(receiver.url)
    sent = hooks.post(f"/webhooks/{created['id']}/test").json()
    api = client_for("users")
    somebody = bearer(register("someone@example.com", name="Someone")["access_token"])
    base = f"/webhooks/{created['id']}"
    routes = [
        ("POST", "/webhooks", {"url": receiver.url, "event_types": ["ReservationCreated"]}),
        ("GET", "/webhooks", None),
        ("GET", base, None),
        ("DELETE", base, None),
        ("POST", f"{base}/secret", None),
        ("POST", f"{base}/test", None),
        ("GET", f"{base}/deliveries", None),
        ("POST", f"{base}/deliveries/{sent['id']}/replay", None),
    ]
    for method, path, body in routes:
        assert api.request(method, path, json=body, headers=somebody).status_code == 403, (method, path)
        assert api.request(method, path, json=body).status_code == 401, (method, path)
    assert len(receiver.received) == 1
    assert hooks.get(base).status_code == 200


def test_unknown_ids_and_another_webhooks_delivery_are_not_found(loopback_allowed, receiver, hooks):
    first = hooks.made(receiver.url)
    second = hooks.made(receiver.url)
    sent = hooks.post(f"/webhooks/{first['id']}/test").json()
    assert hooks.post(f"/webhooks/{second['id']}/deliveries/{sent['id']}/replay").status_code == 404
    nobody = uuid.uuid4()
    assert hooks.get(f"/webhooks/{nobody}").status_code == 404
    assert hooks.get(f"/webhooks/{nobody}/deliveries").status_code == 404
    assert hooks.post(f"/webhooks/{nobody}/secret").status_code == 404
    assert hooks.post(f"/webhooks/{nobody}/test").status_code == 404
    assert hooks.delete(f"/webhooks/{nobody}").status_code == 404
    assert hooks.get("/webhooks/not-a-uuid").status_code == 422


def test_a_deleted_webhook_gets_nothing_more(loopback_allowed, receiver, hooks, booking, engine):
    created = hooks.made(receiver.url)
    assert hooks.delete(f"/webhooks/{created['id']}").status_code == 204
    booking.post("10:00", "11:00")
    for event in bus_events(engine):
        webhooks_function(event)
    assert receiver.received == []
    assert hooks.get(f"/webhooks/{created['id']}").status_code == 404


def test_changes_are_audited_without_secrets(loopback_allowed, receiver, hooks, engine):
    created = hooks.made(receiver.url)
    hooks.post(f"/webhooks/{created['id']}/secret")
    hooks.delete(f"/webhooks/{created['id']}")
    log = hooks.get("/audit", entity="webhook").json()["items"]
    assert [entry["action"] for entry in log] == [
        "webhook.deleted",
        "webhook.secret_rotated",
        "webhook.created",
    ]
    assert "whsec_" not in json.dumps(log)


# ---------------------------------------------------------------- Hostile input


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://example.org/" + "a" * 10_000, "event_types": ["ReservationCreated"]}, "url"),
        ({"url": "https://exa\u0000mple.org/", "event_types": ["ReservationCreated"]}, None),
        (
            {"url": "https://example.org/", "description": "a\u0000b", "event_types": ["ReservationCreated"]},
            None,
        ),
        ({"url": "https://example.org/", "event_types": ["Nonsense"]}, "event_types"),
        (
            {"url": "https://example.org/", "event_types": ["ReservationCreated", "ReservationCreated"]},
            "event_types",
        ),
        ({"url": "https://example.org/", "event_types": []}, "event_types"),
        ({"url": "https://example.org/"}, "event_types"),
        ({"url": "http://example.org/", "event_types": ["ReservationCreated"]}, "url"),
        ({"url": "ftp://example.org/", "event_types": ["ReservationCreated"]}, "url"),
        ({"url": "https://user:pass@example.org/", "event_types": ["ReservationCreated"]}, "url"),
        ({"url": "https:///nohost", "event_types": ["ReservationCreated"]}, "url"),
        ({"url": "https://example.org:99999/", "event_types": ["ReservationCreated"]}, "url"),
        ({"url": 42, "event_types": ["ReservationCreated"]}, "url"),
        ({"url": "https://example.org/", "event_types": "ReservationCreated"}, "event_types"),
        (
            {"url": "https://example.org/", "event_types": ["ReservationCreated"], "secret": "whsec_mine"},
            "secret",
        ),
    ],
)
def test_hostile_input_is_a_clear_422(hooks, monkeypatch, body, field):
    monkeypatch.setattr(addresses, "resolve", lambda host, port: [PUBLIC])
    response = hooks.create_from(body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if field is not None:
        assert response.json()["errors"][0]["loc"][:2] == ["body", field]


# ---------------------------------------------------------------- Concurrency


def test_racing_sweeps_attempt_each_delivery_once_per_due_time(loopback_allowed, receiver, hooks, engine):
    created = hooks.made(receiver.url)
    receiver.secrets = [created["secret"]]
    receiver.mode = "fail"
    now = datetime.now(UTC)
    with engine.connect() as db:
        for event_id in range(1, 13):
            delivery.fan_out(db, "ReservationCreated", {"event_id": event_id}, now=now)

    def race(at: datetime) -> None:
        barrier = threading.Barrier(2)

        def sweep() -> None:
            with engine.connect() as db:
                barrier.wait()
                delivery.sweep(db, now=at)

        threads = [threading.Thread(target=sweep) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    race(now)
    # A receiver that is down is sent one request a sweep, not its backlog; every delivery due counts
    # the attempt, once.
    assert 1 <= len(receiver.received) <= 2
    assert len(set(receiver.ids())) == len(receiver.ids())
    assert {d["attempts"] for d in deliveries(engine)} == {1}
    race(now + timedelta(seconds=30))  # nothing due yet
    assert len(receiver.received) <= 2
    assert {d["attempts"] for d in deliveries(engine)} == {1}
    race(now + timedelta(minutes=1))
    assert {d["attempts"] for d in deliveries(engine)} == {2}
    receiver.mode = "ok"  # back up: the backlog flows, each delivery once
    before = len(receiver.received)
    race(now + timedelta(minutes=6))
    delivered = receiver.ids()[before:]
    assert sorted(delivered) == sorted(d["message_id"] for d in deliveries(engine))
    assert all(r["verified_with"] == [0] for r in receiver.received[before:])
    assert {d["state"] for d in deliveries(engine)} == {"delivered"}


def test_a_test_send_is_left_to_the_webhooks_function_and_answers_at_once(
    loopback_allowed, receiver, hooks, client_for, admin, engine
):
    """The users function never calls a receiver: a test send (or a replay) answers 202 with the delivery
    pending, and the webhooks function attempts it (the route's WebhookDeliveryDue event)."""
    created = hooks.made(receiver.url)
    receiver.secrets = [created["secret"]]
    receiver.mode = "hang"
    receiver.hang_seconds = 3
    started = time.monotonic()
    answer = client_for("users").post(
        f"/webhooks/{created['id']}/test", headers=bearer(admin["access_token"])
    )
    assert time.monotonic() - started < 1
    assert answer.status_code == 202
    assert answer.json()["state"] == "pending" and answer.json()["attempts"] == 0
    assert receiver.received == []
    [due] = [e for e in bus_events(engine) if e["detail-type"] == "WebhookDeliveryDue"]
    assert due["detail"]["delivery_id"] == answer.json()["id"]
    receiver.mode = "ok"
    webhooks_function(due)
    assert receiver.ids() == [answer.json()["message_id"]]


def test_a_pending_delivery_is_not_replayed(loopback_allowed, receiver, hooks, engine):
    """Replaying a delivery that is still being tried would send it twice at once: 409."""
    created = hooks.made(receiver.url)
    receiver.mode = "fail"
    sent = hooks.post(f"/webhooks/{created['id']}/test").json()
    assert sent["state"] == "pending"
    refused = hooks.post(f"/webhooks/{created['id']}/deliveries/{sent['id']}/replay")
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
