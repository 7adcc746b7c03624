"""`make dev` from a user's side: curl-like calls to the local API, which routes by template.yaml."""

from __future__ import annotations

import email
import email.policy
import os
import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from devtools.local_api_process import start_local_api
from reservas.errors import PROBLEM_JSON
from tests.support import GROUPS, STRONG_PASSWORD, sign_up, space_body


@pytest.mark.parametrize("group", GROUPS)
def test_each_group_answers_health(http, group):
    response = http.get(f"/{group}/health")
    assert response.status_code == 200
    assert response.json()["service"] == group
    assert response.json()["checks"] == {"database": "ok", "cache": "ok"}


def test_register_verify_by_the_mail_in_the_folder_and_read_the_profile(http, mail_folder):
    """`make dev` sends nothing out: the verification message lands in a folder, as a .eml file a
    developer opens; its link verifies the address and signs the person in."""
    before = set(mail_folder.glob("*.eml"))
    registered = http.post(
        "/auth/register", json={"email": "Kim@Example.com", "password": STRONG_PASSWORD, "name": "Kim"}
    )
    assert registered.status_code == 202, registered.text
    deadline = time.monotonic() + 10
    while not (new := set(mail_folder.glob("*.eml")) - before) and time.monotonic() < deadline:
        time.sleep(0.1)
    [path] = new
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == "kim@example.com" and message["From"] == "reservas@localhost"
    link = re.search(r"(http://\S+/verify\?token=(\S+))", message.get_content())
    assert link and link.group(1).startswith(http.base_url.join("/").__str__().rstrip("/"))

    verified = http.post("/auth/verify", json={"token": link.group(2), "password": STRONG_PASSWORD})
    assert verified.status_code == 200, verified.text
    me = http.get("/users/me", headers={"Authorization": f"Bearer {verified.json()['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == "kim@example.com"
    login = http.post("/auth/login", json={"email": "kim@example.com", "password": STRONG_PASSWORD})
    assert login.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        (
            "post",
            "/auth/register",
            {"content": "{not json", "headers": {"content-type": "application/json"}},
            400,
        ),
        ("post", "/auth/register", {"json": {"email": "kim@example.com"}}, 422),
        ("post", "/auth/login", {"json": {"email": "nobody@example.com", "password": "Whatever-123"}}, 401),
        ("get", "/users/me", {}, 401),
        ("get", "/users/me", {"headers": {"Authorization": "Bearer not-a-jwt"}}, 401),
    ],
)
def test_bad_requests_get_problem_details_through_the_gateway(http, method, path, kwargs, status):
    response = getattr(http, method)(path, **kwargs)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["status"] == status


def test_every_route_in_the_template_reaches_its_function(http):
    from tests.unit.test_template import template_routes, yaml_template

    template = yaml_template()
    for function in ("AuthFunction", "UsersFunction", "SpacesFunction", "ReservationsFunction"):
        for method, path in template_routes(template, function):
            concrete = re.sub(r"\{[a-z_]+\}", "00000000-0000-0000-0000-000000000000", path)
            response = http.request(method, concrete, json={})
            # The gateway's own "no such route" is a 403/404 with `message`; every function answers problem+json.
            assert response.headers["content-type"] in (PROBLEM_JSON, "application/json"), (method, path)
            assert "message" not in response.json(), (method, path, response.text)
            assert response.status_code < 500, (method, path, response.text)


def test_every_request_gets_its_own_correlation_id(http):
    ids = {http.get("/auth/health").headers["x-correlation-id"] for _ in range(3)}
    assert len(ids) == 3


def test_concurrent_registrations_of_one_email_create_one_account(http, local_api, engine):
    body = {"email": "race@example.com", "password": STRONG_PASSWORD, "name": "Racer"}

    def register(_):
        with local_api.client() as client:
            return client.post("/auth/register", json=body).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(register, range(24)))

    assert statuses == [202] * 24  # the same answer for each: none tells the address is taken
    with engine.connect() as connection:
        accounts = connection.execute(
            text("SELECT count(*) FROM users WHERE email = 'race@example.com'")
        ).scalar_one()
    assert accounts == 1


def test_a_fresh_start_brings_its_own_database_and_redis_and_seeds_demo_accounts():
    """What `make dev` does on a fresh machine: no DATABASE_URL, no REDIS_URL."""
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "RESERVAS_JWT_SECRET"}
    }
    api = start_local_api(env, "--ephemeral")
    try:
        banner = "\n".join(api.output)
        assert "embedded PostgreSQL" in banner
        admin_line = next(line for line in api.output if "admin@reservas.example" in line)
        password = admin_line.split()[-1]
        with api.client() as client:
            assert client.get("/reservations/health").json()["checks"]["database"] == "ok"
            login = client.post("/auth/login", json={"email": "admin@reservas.example", "password": password})
            assert login.status_code == 200
            me = client.get("/users/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
            assert me.json()["role"] == "admin"
    finally:
        assert api.stop() == 0


def test_the_local_api_serves_the_contract_and_swagger_ui(http):
    document = http.get("/openapi.json")
    assert document.status_code == 200
    assert document.json()["openapi"].startswith("3.1")
    assert "/reservations" in document.json()["paths"]
    docs = http.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text.lower()


@pytest.mark.parametrize("path", ["/auth/login", "/auth/register", "/spaces", "/users/me"])
def test_a_body_that_is_not_utf8_is_a_client_error_not_a_gateway_error(http, path):
    """Found by fuzzing: SAM CLI's gateway answered 502 to such bodies; API Gateway base64-encodes them."""
    method = "put" if path == "/users/me" else "post"
    response = http.request(
        method.upper(), path, content=b"\xf6\xa7\xff", headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"] == PROBLEM_JSON


def test_the_waitlist_is_promoted_within_seconds_through_the_local_event_bus(http, admin_headers, engine):
    """`make dev` runs the template's event rule too: a cancellation reaches the promotion function,
    which books the freed time for the person waiting, without AWS and without waiting for a sweep."""
    from tests.support import EVERY_DAY

    space = http.post("/spaces", json=space_body(opening_hours=EVERY_DAY), headers=admin_headers).json()
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    interval = {
        "space_id": space["id"],
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(hours=1)).isoformat(),
    }
    tokens = [
        {
            "Authorization": f"Bearer {sign_up(http, engine, f'{name.lower()}@example.com', name=name)['access_token']}"
        }
        for name in ("Holder", "Waiter")
    ]
    holder, waiter = tokens
    taken = http.post("/reservations", json=interval, headers=holder)
    assert taken.status_code == 201, taken.text
    assert http.post("/waitlist", json=interval, headers=waiter).status_code == 201
    assert http.delete(f"/reservations/{taken.json()['id']}", headers=holder).status_code == 200

    deadline = time.monotonic() + 10
    while (
        not (mine := http.get("/reservations", headers=waiter).json()["items"])
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert [(datetime.fromisoformat(r["start_time"]), r["status"]) for r in mine] == [(start, "active")]
    assert [entry["status"] for entry in http.get("/waitlist", headers=waiter).json()] == ["promoted"]


def test_a_calendar_feed_url_works_as_given(http, engine):
    """The URL a person pastes into their calendar is where the local API answers."""
    import httpx2 as httpx

    person = sign_up(http, engine, "feeder@example.com", name="Feeder")
    feed = http.post(
        "/users/me/calendar-token", headers={"Authorization": f"Bearer {person['access_token']}"}
    )
    assert feed.status_code == 201
    fetched = httpx.get(feed.json()["url"], timeout=30)
    assert fetched.status_code == 200 and fetched.text.startswith("BEGIN:VCALENDAR")


def test_ctrl_c_stops_it_even_when_its_parent_ignores_ctrl_c(services):
    """A job a shell starts in the background (`make bench &`) inherits SIGINT ignored, and Python then
    leaves it ignored: the local API never stopped, and `make bench` failed its Local API and race
    sections on the stop's 30 s timeout."""
    env = {**os.environ, "DATABASE_URL": services.database_url, "REDIS_URL": services.redis_url}
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # what the child inherits
    try:
        api = start_local_api(env, "--no-seed", "--no-schedules")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert api.stop() == 0
