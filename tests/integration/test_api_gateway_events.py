"""The functions behind API Gateway as deployed: events as API Gateway sends them for the template
(a `$default` stage, or a stage an operator adds; base64 bodies; cookies), and what every answer
carries on its way back."""

from __future__ import annotations

import json

import pytest

from devtools.apigw import LambdaContext
from reservas.errors import PROBLEM_JSON
from tests.support import (
    GROUPS,
    STRONG_PASSWORD,
    function_module,
    http_event,
    invoke,
    mark_verified,
    sign_up_through_handlers,
)


def raw_invoke(group: str, event: dict) -> dict:
    """The handler's response exactly as API Gateway receives it."""
    return function_module(group).handler(event, LambdaContext(f"{group.title()}Function"))


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture
def signed_in(engine) -> dict:
    return sign_up_through_handlers(engine, "ana@example.com")


@pytest.mark.parametrize("stage", ["$default", "prod", "dev"])
@pytest.mark.parametrize("group", GROUPS)
def test_every_function_routes_the_paths_of_any_stage(engine, group, stage):
    event = http_event("GET", f"/{group}/health", stage=stage)
    if stage != "$default":
        assert event["rawPath"] == f"/{stage}/{group}/health"  # what API Gateway sends for a named stage
    status, _, body = invoke(group, event)
    assert status == 200, body
    assert body["service"] == group


def test_a_named_stage_serves_real_routes_with_path_parameters(engine, signed_in):
    status, _, me = invoke(
        "users", http_event("GET", "/users/me", stage="prod", headers=bearer(signed_in["access_token"]))
    )
    assert status == 200 and me["email"] == "ana@example.com"
    status, _, body = invoke(
        "spaces",
        http_event(
            "GET",
            "/spaces/00000000-0000-0000-0000-000000000000",
            route="/spaces/{space_id}",
            path_parameters={"space_id": "00000000-0000-0000-0000-000000000000"},
            stage="prod",
        ),
    )
    assert status == 404 and body["detail"] != "No such route."


def test_a_route_named_like_a_stage_is_not_cut(engine):
    # Only the stage of the event is taken off, and only as a whole path segment.
    status, _, body = invoke("auth", http_event("GET", "/auth/health", stage="au"))
    assert status == 200 and body["service"] == "auth"


def test_base64_bodies_and_cookies_arrive_as_api_gateway_sends_them(engine):
    body = {"email": "bo@example.com", "password": STRONG_PASSWORD, "name": "Bo"}
    event = http_event(
        "POST", "/auth/register", body=body, base64_body=True, cookies=["theme=dark", "lang=es"]
    )
    status, _, answer = invoke("auth", event)
    assert status == 202, answer
    mark_verified(engine, "bo@example.com")
    login = http_event("POST", "/auth/login", body={"email": "bo@example.com", "password": STRONG_PASSWORD})
    status, _, tokens = invoke("auth", login)
    assert status == 200 and tokens["user"]["email"] == "bo@example.com"


@pytest.mark.parametrize(
    ("group", "event", "status"),
    [
        (
            "spaces",
            http_event("GET", "/spaces/nope/availability", route="/spaces/{space_id}/availability"),
            422,
        ),
        ("users", http_event("GET", "/users/me"), 401),
        ("auth", http_event("POST", "/auth/login", body="{not json"), 400),
        ("reservations", http_event("GET", "/reservations/nowhere/else"), 404),
    ],
)
def test_problem_details_leave_the_handler_as_text(engine, group, event, status):
    response = raw_invoke(group, event)
    assert response["statusCode"] == status
    assert response["headers"]["content-type"] == PROBLEM_JSON
    assert response["isBase64Encoded"] is False
    assert json.loads(response["body"])["status"] == status


def test_a_204_carries_no_body_and_no_content_type(engine, signed_in):
    event = http_event(
        "POST",
        "/auth/logout",
        body={"refresh_token": signed_in["refresh_token"]},
        headers=bearer(signed_in["access_token"]),
    )
    response = raw_invoke("auth", event)
    assert response["statusCode"] == 204
    assert not response.get("body")
    assert "content-type" not in response["headers"]


def test_every_answer_says_nosniff(engine, signed_in):
    answers = [
        raw_invoke("auth", http_event("GET", "/auth/health")),
        raw_invoke("users", http_event("GET", "/users/me")),  # a 401
        raw_invoke("spaces", http_event("GET", "/spaces")),
        raw_invoke(
            "reservations", http_event("GET", "/reservations", headers=bearer(signed_in["access_token"]))
        ),
        raw_invoke(
            "auth",
            http_event(
                "POST", "/auth/logout", body={"refresh_token": "x"}, headers=bearer(signed_in["access_token"])
            ),
        ),
    ]
    for response in answers:
        assert response["headers"]["x-content-type-options"] == "nosniff", response


@pytest.mark.parametrize(
    ("group", "method", "path", "body"),
    [
        ("auth", "POST", "/auth/login", {"email": "ana@example.com", "password": STRONG_PASSWORD}),
        ("auth", "POST", "/auth/refresh", "REFRESH"),
        ("users", "GET", "/users/me", None),
        ("reservations", "GET", "/reservations", None),
    ],
)
def test_tokens_and_personal_data_are_never_stored_by_caches(engine, signed_in, group, method, path, body):
    if body == "REFRESH":
        body = {"refresh_token": signed_in["refresh_token"]}
    response = raw_invoke(
        group, http_event(method, path, body=body, headers=bearer(signed_in["access_token"]))
    )
    assert response["statusCode"] == 200, response
    assert response["headers"]["cache-control"] == "no-store"


def test_https_is_required_of_browsers_in_aws_not_on_a_laptop(engine, monkeypatch):
    from tests.conftest import reset_caches

    local = raw_invoke("spaces", http_event("GET", "/spaces"))
    assert "strict-transport-security" not in local["headers"]
    monkeypatch.setenv("RESERVAS_STAGE", "prod")
    reset_caches()
    try:
        deployed = raw_invoke("spaces", http_event("GET", "/spaces"))
    finally:
        monkeypatch.undo()
        reset_caches()
    assert deployed["statusCode"] == 200
    assert deployed["headers"]["strict-transport-security"].startswith("max-age=")


@pytest.mark.parametrize("path", ["/spaces/", "/users/me/", "/auth/health/"])
def test_no_redirect_is_built_from_the_host_header(engine, path):
    group = path.split("/")[1]
    response = raw_invoke(group, http_event("GET", path, headers={"host": "evil.example"}))
    assert response["statusCode"] == 404
    assert "location" not in response["headers"]
    assert "evil.example" not in json.dumps(response)


@pytest.mark.parametrize("group", GROUPS)
def test_the_functions_do_not_serve_their_own_openapi_documents(engine, group):
    # API Gateway sends /users/openapi.json to the UsersFunction (route /users/{user_id}).
    response = raw_invoke(group, http_event("GET", f"/{group}/openapi.json"))
    assert response["statusCode"] in (401, 404, 422)
    assert '"openapi"' not in response["body"]


def test_an_unexpected_error_is_a_500_problem_with_every_standard_header(engine, monkeypatch):
    import reservas.app_factory

    def broken(service: str):
        raise RuntimeError("a bug")

    monkeypatch.setattr(reservas.app_factory, "health", broken)
    response = raw_invoke("auth", http_event("GET", "/auth/health"))
    assert response["statusCode"] == 500
    assert response["headers"]["content-type"] == PROBLEM_JSON
    assert json.loads(response["body"])["detail"] == "An unexpected error occurred; it has been logged."
    for header in ("x-correlation-id", "x-content-type-options", "cache-control"):
        assert header in response["headers"], header


def test_a_booking_changes_through_a_named_stage_with_a_base64_body(engine, booking):
    made = booking.post("10:00", "11:00").json()
    event = http_event(
        "PATCH",
        f"/reservations/{made['id']}",
        route="/reservations/{reservation_id}",
        stage="prod",
        base64_body=True,
        body={"start_time": booking.at("12:00"), "end_time": booking.at("13:00"), "notes": "Moved"},
        headers=bearer(booking.user["access_token"]),
    )
    status, _, changed = invoke("reservations", event)
    assert status == 200, changed
    assert (changed["id"], changed["start_time"], changed["notes"]) == (
        made["id"],
        booking.at("12:00"),
        "Moved",
    )
