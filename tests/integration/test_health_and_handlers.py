"""Each function as Lambda runs it: API Gateway v2 events through Mangum, Powertools and the app."""

from __future__ import annotations

import pytest

from devtools.apigw import ROOT
from reservas.errors import PROBLEM_JSON
from scripts.sample_events import SAMPLES
from tests.conftest import reset_caches
from tests.support import GROUPS, STRONG_PASSWORD, http_event, invoke, load_event, mark_verified


@pytest.mark.parametrize("group", GROUPS)
def test_every_function_answers_its_health_check(engine, group):
    status, headers, body = invoke(group, http_event("GET", f"/{group}/health"))
    assert status == 200
    assert body["status"] == "healthy"
    assert body["service"] == group
    assert body["checks"] == {"database": "ok", "cache": "ok"}
    assert headers["x-correlation-id"]


def test_the_correlation_id_is_api_gateways_request_id(engine):
    event = http_event("GET", "/auth/health")
    _, headers, _ = invoke("auth", event)
    assert headers["x-correlation-id"] == event["requestContext"]["requestId"]


def test_health_is_503_when_the_database_is_down(broken_service):
    broken_service("DATABASE_URL")
    status, _, body = invoke("spaces", http_event("GET", "/spaces/health"))
    assert status == 503
    assert body["status"] == "unhealthy"
    assert body["checks"]["database"] == "unavailable"


def test_routes_answer_503_not_500_when_the_database_is_down(broken_service, register):
    token = register()["access_token"]
    broken_service("DATABASE_URL")
    status, headers, body = invoke(
        "users", http_event("GET", "/users/me", headers={"authorization": f"Bearer {token}"})
    )
    assert status == 503
    assert headers["content-type"] == PROBLEM_JSON
    assert headers["retry-after"]
    assert "database is unavailable" in body["detail"]


def test_settings_that_cannot_be_read_fail_every_request_as_a_logged_bug(engine, monkeypatch, caplog):
    """A deployment's mistake (here an unreadable rate limit) is a 500, but one like any other: problem
    details with the correlation id, and the error logged naming the setting. The headers' middleware read
    the settings before it guarded what follows, and Mangum answered a bare `Internal Server Error`."""
    monkeypatch.setenv("RESERVAS_RATE_LIMIT_DEFAULT", "100/fortnight")
    reset_caches()
    try:
        for group in ("spaces", "users"):
            status, headers, body = invoke(group, http_event("GET", f"/{group}/health"))
            assert status == 500
            assert headers["content-type"] == PROBLEM_JSON
            assert headers["x-correlation-id"]
            assert "unexpected error" in body["detail"]
        assert "100/fortnight" in caplog.text
    finally:
        monkeypatch.undo()
        reset_caches()


def test_a_redis_outage_degrades_health_but_fails_nothing(broken_service, register):
    broken_service("REDIS_URL")
    status, _, body = invoke("auth", http_event("GET", "/auth/health"))
    assert status == 200
    assert body["status"] == "degraded"
    assert body["checks"] == {"database": "ok", "cache": "unavailable"}
    register()


def test_the_sample_events_work_as_sam_local_invoke_would_use_them(engine):
    expected = {
        "auth-register.json": 202,
        "auth-verify.json": 400,  # carries a placeholder token
        "auth-login.json": 401,  # the address is not verified yet
        "auth-password-reset.json": 202,
        "auth-password-reset-confirm.json": 400,
        "auth-refresh.json": 401,  # carries a placeholder token
        "auth-validate.json": 401,
        "spaces-list.json": 200,
        "spaces-available.json": 200,
        "spaces-get.json": 404,  # the nil id
        "spaces-busy-feed.json": 404,
        "spaces-availability.json": 404,
        "spaces-closures-of-one.json": 404,
        "reservations-calendar-feed.json": 404,  # carries a placeholder token
    }
    assert {f"{name}.json" for name, *_ in SAMPLES} == {
        path.name for path in (ROOT / "events").glob("*.json")
    }
    for name, *_ in SAMPLES:  # in the order written: register before login
        path = ROOT / "events" / f"{name}.json"
        status = invoke(name.split("-")[0], load_event(path.name))[0]
        if path.name in expected:
            assert status == expected[path.name], path.name
        elif path.name.endswith("health.json"):
            assert status == 200, path.name
        else:
            assert status == 401, path.name  # every other route needs a real token


def test_register_then_profile_through_the_handlers(engine):
    body = {"email": "lee@example.com", "password": STRONG_PASSWORD, "name": "Lee"}
    status, headers, _ = invoke("auth", http_event("POST", "/auth/register", body=body))
    assert status == 202
    assert headers["cache-control"] == "no-store"
    mark_verified(engine, "lee@example.com")
    login = http_event("POST", "/auth/login", body={"email": "lee@example.com", "password": STRONG_PASSWORD})
    status, _, tokens = invoke("auth", login)
    assert status == 200
    status, _, me = invoke(
        "users",
        http_event("GET", "/users/me", headers={"authorization": f"Bearer {tokens['access_token']}"}),
    )
    assert status == 200
    assert me["email"] == "lee@example.com"


def test_a_base64_body_is_decoded_like_api_gateway_sends_it(engine):
    body = {"email": "x@example.com", "password": "Nope-1234"}
    status, _, body = invoke("auth", http_event("POST", "/auth/login", body=body, base64_body=True))
    assert status == 401
    assert body["detail"] == "The email or password is incorrect, or the address is not verified yet."
