"""The local API (`make dev`) as API Gateway behaves for the template as deployed: CORS answered by the
gateway from the template's CorsConfiguration, and events shaped as API Gateway shapes them."""

from __future__ import annotations

import json

import pytest

from devtools import apigw

APP = "https://app.example.com"


@pytest.fixture
def gateway(engine):
    """`gateway(origins)`: a Flask test client of the local API, and the events its functions got."""

    def start(origins: str = ""):
        service, _, runner = apigw.create_service(parameters={"CorsAllowOrigins": origins})
        events: list[dict] = []
        invoke = runner.invoke

        def recording(function, event, stdout=None, stderr=None, **kwargs):
            events.append(json.loads(event))
            return invoke(function, event, stdout=stdout, stderr=stderr, **kwargs)

        runner.invoke = recording
        return service._app.test_client(), events

    return start


def preflight(client, path: str, origin: str, method: str = "POST"):
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )


@pytest.mark.parametrize(
    "path", ["/reservations", "/spaces/00000000-0000-0000-0000-000000000000", "/users/me"]
)
def test_the_gateway_answers_preflights_for_the_configured_origins(gateway, path):
    client, events = gateway(f"{APP},https://admin.example.com")
    response = preflight(client, path, APP, method="DELETE" if path.startswith("/spaces") else "POST")
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == APP
    assert {"POST", "DELETE", "PUT", "GET"} <= set(
        response.headers["Access-Control-Allow-Methods"].split(",")
    )
    assert {"authorization", "content-type"} <= set(
        response.headers["Access-Control-Allow-Headers"].split(",")
    )
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert events == []  # no function ran


def test_other_origins_get_no_cors_headers(gateway):
    client, events = gateway(APP)
    response = preflight(client, "/reservations", "https://evil.example")
    assert response.status_code == 204
    assert not [name for name, _ in response.headers.items() if name.lower().startswith("access-control-")]
    answer = client.get("/spaces", headers={"Origin": "https://evil.example"})
    assert answer.status_code == 200
    assert "Access-Control-Allow-Origin" not in answer.headers
    assert events and events[-1]["routeKey"] == "GET /spaces"


def test_answers_to_allowed_origins_carry_the_gateways_cors_headers(gateway):
    client, _ = gateway(APP)
    answer = client.get("/spaces", headers={"Origin": APP})
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == APP
    exposed = set(answer.headers["Access-Control-Expose-Headers"].split(","))
    assert {"location", "retry-after", "x-correlation-id"} <= exposed


def test_without_origins_there_is_no_cors_at_all(gateway):
    client, events = gateway("")
    assert preflight(client, "/reservations", APP).status_code == 404
    assert "Access-Control-Allow-Origin" not in client.get("/spaces", headers={"Origin": APP}).headers
    assert [event["routeKey"] for event in events] == ["GET /spaces"]


def test_events_are_shaped_as_api_gateway_shapes_them(gateway):
    client, events = gateway("")
    client.set_cookie("theme", "dark")
    client.get("/spaces?amenities=projector&amenities=whiteboard", headers={"X-Custom": "1"})
    [event] = events
    assert event["rawPath"] == "/spaces" and event["requestContext"]["stage"] == "$default"
    assert all(name == name.lower() for name in event["headers"])
    assert event["headers"]["x-custom"] == "1" and event["headers"]["x-forwarded-for"]
    assert "cookie" not in event["headers"] and event["cookies"] == ["theme=dark"]
    assert event["queryStringParameters"] == {"amenities": "projector,whiteboard"}
    assert "body" not in event


def test_a_trailing_slash_never_redirects_to_the_host_the_client_named(gateway):
    client, _ = gateway("")
    response = client.get("/spaces/", headers={"Host": "evil.example"})
    assert response.status_code == 404
    assert "Location" not in response.headers


def test_a_function_does_not_serve_its_openapi_document_through_an_id_route(gateway):
    client, _ = gateway("")
    response = client.get("/users/openapi.json")
    assert response.status_code in (401, 404, 422)
    assert b'"openapi"' not in response.data


@pytest.mark.parametrize(("method", "path"), [("GET", "/nowhere"), ("PATCH", "/spaces"), ("HEAD", "/spaces")])
def test_paths_and_methods_without_a_route_are_404_as_an_http_api_answers(gateway, method, path):
    client, events = gateway("")
    response = client.open(path, method=method)
    assert response.status_code == 404
    assert events == []


@pytest.mark.parametrize(
    "origins", ["https://app.example.com/", "null", "https://a.example.com, https://b.example.com"]
)
def test_origins_cloudformation_would_refuse_are_refused_locally_too(engine, origins):
    with pytest.raises(ValueError, match="CorsAllowOrigins"):
        apigw.create_service(parameters={"CorsAllowOrigins": origins})
