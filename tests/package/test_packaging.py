"""The built artifacts, as Lambda would run them: `sam build`, then each function from
.aws-sam/build through scripts/invoke, in a clean interpreter with only its code and the layer.
This catches what in-process tests cannot: a module missing from the layer, a wrong handler path,
a dependency built for the wrong platform, migrations not shipped."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from devtools.apigw import ROOT
from devtools.build import host_architecture, sam_build
from tests.support import mark_verified

BUILD = ROOT / ".aws-sam" / "build"


@pytest.fixture(scope="session")
def built():
    """Built for this machine's architecture, whose Python imports the artifacts (template.yaml's own,
    arm64, is what `make build` builds by default)."""
    result = sam_build(host_architecture())
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return BUILD


def invoke(function: str, event: str | dict, token: str | None = None) -> dict:
    if isinstance(event, dict):
        event_file = BUILD / f"event-{function}.json"
        event_file.write_text(json.dumps(event))
    else:
        event_file = ROOT / "events" / event
    command = [sys.executable, str(ROOT / "scripts" / "invoke"), function, "-e", str(event_file)]
    if token:
        command += ["--token", token]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert result.returncode == 0, result.stderr[-5000:]
    return json.loads(result.stdout)


def test_nothing_from_the_source_tree_or_the_venv_is_used(built):
    layer = built / "CommonLayer" / "python"
    assert (layer / "reservas" / "migrations" / "versions").is_dir()
    assert (layer / "fastapi").is_dir() and (layer / "pydantic_core").is_dir()
    assert not (built / "AuthFunction" / "reservas").exists()


@pytest.mark.parametrize(
    "function", ["AuthFunction", "UsersFunction", "SpacesFunction", "ReservationsFunction"]
)
def test_each_built_function_answers_its_health_check(built, engine, function):
    response = invoke(function, f"{function.removesuffix('Function').lower()}-health.json")
    assert response["statusCode"] == 200, response
    assert json.loads(response["body"])["checks"]["database"] == "ok"


def test_each_built_function_serves_a_real_route(built, engine):
    registered = invoke("AuthFunction", "auth-register.json")
    assert registered["statusCode"] == 202, registered
    assert invoke("AuthFunction", "auth-login.json")["statusCode"] == 401  # not verified yet
    mark_verified(engine, "sam@example.com")
    login = invoke("AuthFunction", "auth-login.json")
    assert login["statusCode"] == 200
    token = json.loads(login["body"])["access_token"]

    me = invoke("UsersFunction", "users-me.json", token=token)
    assert me["statusCode"] == 200 and json.loads(me["body"])["email"] == "sam@example.com"
    spaces = invoke("SpacesFunction", "spaces-list.json")
    assert spaces["statusCode"] == 200
    mine = invoke("ReservationsFunction", "reservations-list.json", token=token)
    assert mine["statusCode"] == 200 and json.loads(mine["body"])["items"] == []


def test_built_functions_serve_events_of_any_stage_with_base64_bodies_and_cookies(built, engine):
    """Events as API Gateway sends them: a stage in front of the path, a base64 body, cookies."""
    from devtools.apigw import v2_event

    credentials = {"email": "stage@example.com", "password": "Stage-local-invoke-1"}
    register = v2_event(
        "POST",
        "/auth/register",
        body={**credentials, "name": "Stage"},
        stage="prod",
        base64_body=True,
        cookies=["theme=dark"],
    )
    registered = invoke("AuthFunction", register)
    assert registered["statusCode"] == 202, registered
    mark_verified(engine, credentials["email"])
    login = invoke(
        "AuthFunction", v2_event("POST", "/auth/login", body=credentials, stage="prod", base64_body=True)
    )
    assert login["statusCode"] == 200, login
    token = json.loads(login["body"])["access_token"]
    for function, path in [("UsersFunction", "/users/me"), ("ReservationsFunction", "/reservations")]:
        answer = invoke(function, v2_event("GET", path, stage="dev"), token=token)
        assert answer["statusCode"] == 200, answer
    health = invoke("SpacesFunction", v2_event("GET", "/spaces/health", stage="staging"))
    assert health["statusCode"] == 200, health


def test_built_functions_answer_problems_as_text(built, engine):
    from devtools.apigw import v2_event

    answer = invoke("UsersFunction", v2_event("GET", "/users/me", stage="prod"))
    assert answer["statusCode"] == 401
    assert answer["isBase64Encoded"] is False
    assert json.loads(answer["body"])["status"] == 401
    assert answer["headers"]["x-content-type-options"] == "nosniff"


def test_the_built_migrate_function_applies_the_migrations(built, engine):
    result = invoke("MigrateFunction", {})
    assert result["to"] == result["from"] == "0015"  # already applied by the test session: idempotent


def test_the_built_webhooks_function_sweeps_and_takes_events(built, engine):
    """Its dependency (standardwebhooks) is in the layer; nothing to deliver, nothing sent."""
    assert invoke("WebhooksFunction", {"retry": True}) == {"attempted": 0, "delivered": 0}
    event = {"detail-type": "ReservationCreated", "source": "reservas", "detail": {"event_id": 1, "id": "x"}}
    assert invoke("WebhooksFunction", event) == {"deliveries": 0, "delivered": 0}
