"""The one way every function builds its FastAPI app and its Lambda handler.

Routes and their dependencies are `async def`, although they call PostgreSQL and Redis without
awaiting: a Lambda instance serves one request at a time, so FastAPI's threadpool, where it runs a
`def`, would only add hand-offs between threads (most of a cached read's time). The local API and the
tests' clients run each request on an event loop of its own, so requests still run side by side there.
tests/unit/test_routes_run_inline.py holds every route to it."""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security.utils import get_authorization_scheme_param
from starlette.routing import compile_path, get_name
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reservas.errors import (
    PROBLEM_JSON,
    ProblemDetails,
    install_error_handlers,
    problem_doc,
    problem_response,
    unexpected_error,
)
from reservas.health import Health, health
from reservas.input_gate import InputGateMiddleware
from reservas.observability import logger, metrics, traced
from reservas.rate_limits import genuine_keys, get_rate_limiter, key_digest
from reservas.rate_windows import parse_limits
from reservas.settings import get_settings
from reservas.tokens import API_KEY_PREFIX
from reservas.viewer_address import ViewerAddressMiddleware

CORRELATION_HEADER = "x-correlation-id"
_SAFE_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:=-]{1,128}$")

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: problem_doc(description)
    for status, description in {
        400: "Malformed request",
        422: "Invalid input",
        429: "Too many requests (see Retry-After)",
        503: "The database is unavailable",
    }.items()
}


class StandardHeadersMiddleware:
    """What every answer carries, whatever route or error produced it:

    - a correlation id (API Gateway's request id, else a safe incoming `X-Correlation-Id`, else a new
      one), also put in the logs;
    - `X-Content-Type-Options: nosniff`;
    - `Cache-Control: no-store` unless the route chose otherwise: answers carry tokens, personal data or
      availability that must not be replayed from a cache;
    - `Strict-Transport-Security` outside local runs (in AWS the API is HTTPS only)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = _correlation_id(scope)
        logger.set_correlation_id(correlation_id)
        added = [(b"x-correlation-id", correlation_id.encode()), *_SECURITY_HEADERS]
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers + added
            await send(message)

        try:
            if not get_settings().is_local:  # settings that cannot be read fail here, answered below
                added.append(_HSTS)
            await self.app(scope, receive, send_with_headers)
        except Exception as error:
            # Answered here, not by Starlette's outermost error middleware, so a 500 carries these too.
            if started:
                raise
            await unexpected_error(error)(scope, receive, send_with_headers)


_SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff")]
_HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


class RateLimitMiddleware:
    """Per client IP, counted in Redis: the auth group has its own, stricter limits; calendar feeds
    (`.ics`) their own, looser ones (calendar services fetch every feed from a few shared addresses);
    every other route shares one budget. Requests with an API key that this instance has seen accepted
    count against the key's own budget instead, wherever they come from (rate_limits.GenuineKeys).
    Health checks are not counted."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.bucket = "auth" if service == "auth" else "api"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limiter = get_rate_limiter()
        if scope["type"] != "http" or limiter is None or scope["path"].endswith("/health"):
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        bucket = "feeds" if scope["path"].endswith(".ics") else self.bucket
        counted = (scope.get("client") or ("unknown", 0))[0]
        if bucket != "auth" and (key := _api_key(scope)) is not None and key_digest(key) in genuine_keys:
            bucket, counted = "key", key_digest(key)
        notation = {
            "auth": settings.rate_limit_auth,
            "feeds": settings.rate_limit_feeds,
            "key": settings.rate_limit_api_key,
        }.get(bucket, settings.rate_limit_default)
        # Called on the event loop: Mangum runs each invocation on a loop of its own, with nothing else
        # to do meanwhile, so a thread would only add a hand-off (Redis answers within its timeout).
        retry_after = limiter.hit(parse_limits(notation), bucket, counted)
        if retry_after is None:
            await self.app(scope, receive, send)
            return
        who = "this API key" if bucket == "key" else "your address"
        response = problem_response(
            429,
            f"Too many requests from {who}; try again in {retry_after} seconds.",
            headers={"Retry-After": str(retry_after)},
        )
        await response(scope, receive, send)


def _api_key(scope: Scope) -> str | None:
    """The API key a request is sent with, if any (`Authorization: Bearer rsv_...`), read as the routes'
    HTTPBearer reads it (the first such header, the same parsing), so both agree on whether there is one."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, credential = get_authorization_scheme_param(value.decode("latin-1"))
            if scheme.lower() == "bearer" and credential.startswith(API_KEY_PREFIX):
                return credential
            return None
    return None


def _correlation_id(scope: Scope) -> str:
    request_id = (scope.get("aws.event") or {}).get("requestContext", {}).get("requestId")
    if isinstance(request_id, str) and request_id:
        return request_id
    for name, value in scope.get("headers", []):
        if name == CORRELATION_HEADER.encode():
            candidate: str = value.decode("latin-1")
            if _SAFE_CORRELATION_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


class DeferredRoute(APIRoute):
    """A route that FastAPI builds (its dependencies, validators and handler: most of a function's init)
    when something first needs more than its path and methods: a request it serves, or the OpenAPI
    document. A cold start builds the route its first request needs, not all of them. Routers use it
    (`APIRouter(..., route_class=DeferredRoute)`), and create_app adds their routes to the app as they
    were declared, so that each is built once: FastAPI builds an included router's routes again for
    the app."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        self.path = path
        self.endpoint = endpoint
        self.name = options.get("name") or get_name(endpoint)
        self.methods = {method.upper() for method in options.get("methods") or ["GET"]}
        self.path_regex, self.path_format, self.param_convertors = compile_path(path)
        self.declared = options
        self._options: dict[str, Any] | None = options
        self._building = threading.RLock()

    def __getattr__(self, name: str) -> Any:
        """Called only for an attribute not set yet: build the route, then answer."""
        state = self.__dict__
        if name.startswith("__") or "_building" not in state:
            raise AttributeError(name)
        with state["_building"]:
            options, state["_options"] = state["_options"], None
            if options is not None:
                APIRoute.__init__(self, self.path, self.endpoint, **options)
        return object.__getattribute__(self, name)

    @property
    def built(self) -> bool:
        return self.__dict__["_options"] is None

    def build(self) -> None:
        """Build it now (SnapStart: before the snapshot)."""
        self.app  # noqa: B018  # the first attribute a request reads


def operation_id(route: APIRoute) -> str:
    """A route's operationId, short and stable, for generated clients: its function's name in
    camelCase (`book_reservation` is `bookReservation`)."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def create_app(service: str, *routers: APIRouter) -> FastAPI:
    """A function's app. CORS is not here: API Gateway answers preflights and adds the CORS headers
    (template.yaml's CorsConfiguration), ignoring any an app would send. The OpenAPI document is built
    by `make openapi`, not served: `/users/{user_id}` would expose it at `/users/openapi.json`."""
    app = FastAPI(
        title=f"Reservas {service}",
        version="0.1.0",
        responses=PROBLEM_RESPONSES,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # No redirects: Starlette builds them from the Host header, which the client chooses.
        redirect_slashes=False,
        generate_unique_id_function=operation_id,
    )
    install_error_handlers(app)
    app.router.route_class = DeferredRoute

    @app.get(
        f"/{service}/health",
        tags=["health"],
        response_model=Health,
        responses={503: {"model": Health}},
        operation_id=f"{service}Health",
    )
    async def health_check() -> Any:
        result = health(service)
        if result.status == "unhealthy":
            return JSONResponse(result.model_dump(mode="json"), status_code=503)
        return result

    for router in routers:
        for route in router.routes:
            if not isinstance(route, DeferredRoute):
                raise TypeError(f"{route}: routers declare DeferredRoute routes (see DeferredRoute)")
            # What the router added (its prefix, tags and responses) is in the route's declaration already.
            declared = {**route.declared}
            declared.pop("dependency_overrides_provider")  # the app's own is the one
            app.router.add_api_route(route.path, route.endpoint, **declared)

    _document_problems(app)
    app.add_middleware(InputGateMiddleware)
    app.add_middleware(RateLimitMiddleware, service=service)
    app.add_middleware(ViewerAddressMiddleware)
    app.add_middleware(StandardHeadersMiddleware)
    return app


def _document_problems(app: FastAPI) -> None:
    """Give every problem+json response in the app's OpenAPI document the ProblemDetails schema."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        ref = {"$ref": "#/components/schemas/ProblemDetails"}
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                if "security" in operation:
                    operation["responses"].setdefault(
                        "401", problem_doc("No token, or a token that is not valid")
                    )
                for response in operation.get("responses", {}).values():
                    if PROBLEM_JSON in response.get("content", {}):
                        response["content"][PROBLEM_JSON] = {"schema": ref}
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas["ProblemDetails"] = ProblemDetails.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to adjust the document


def lambda_handler(app: FastAPI) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda entry point: Mangum (no lifespan: the app's resources live at module scope) wrapped
    in Powertools' logging context, metrics flush and (opt-in) tracing; in Lambda, the events a request
    recorded are published after its answer (event_handoff). What nearly every request needs is made
    now, during init (init_phase)."""
    from aws_lambda_powertools.logging import correlation_paths
    from mangum import Mangum
    from mangum.adapter import DEFAULT_TEXT_MIME_TYPES

    # Problem details are text: API Gateway passes them on as they are, readable in logs and tests.
    asgi_handler = Mangum(app, lifespan="off", text_mime_types=[*DEFAULT_TEXT_MIME_TYPES, "+json"])

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    # Powertools prints the cold-start metric even with POWERTOOLS_METRICS_DISABLED; asked only when enabled.
    @metrics.log_metrics(
        capture_cold_start_metric=os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() != "true"
    )
    @traced
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return _without_body_headers(asgi_handler(_without_stage_prefix(event), context))

    from reservas import init_phase, snapstart
    from reservas.event_handoff import publishing_after_response

    init_phase.prepare()
    snapstart.install(app)
    return publishing_after_response(handler)


def _without_stage_prefix(event: dict[str, Any]) -> dict[str, Any]:
    """The event with the paths the routes know. The template's API uses the `$default` stage, whose
    paths carry no prefix; a named stage (one an operator adds) puts `/{stage}` in front of them."""
    context = event.get("requestContext") or {}
    stage = context.get("stage")
    http = context.get("http")
    if not stage or stage == "$default" or not isinstance(http, dict):
        return event
    prefix = f"/{stage}"

    def strip(path: str) -> str:
        if path == prefix or path.startswith(prefix + "/"):
            return path[len(prefix) :] or "/"
        return path

    return {
        **event,
        "rawPath": strip(event.get("rawPath") or ""),
        "requestContext": {**context, "http": {**http, "path": strip(http.get("path") or "")}},
    }


def _without_body_headers(response: dict[str, Any]) -> dict[str, Any]:
    """Mangum labels every answer `application/json`, even a 204 or 304, which have no body."""
    if response.get("statusCode") in (204, 304) and not response.get("body"):
        response.get("headers", {}).pop("content-type", None)
    return response
