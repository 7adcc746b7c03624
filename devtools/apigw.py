"""`sam local start-api` without Docker: SAM CLI's own route parsing, event construction and HTTP
service, with a runner that calls each function's handler in this process instead of in a container.

Routes come from template.yaml only. Handlers run as they do in Lambda: an API Gateway HTTP API
payload-v2 event in, a payload-v2 response out."""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import os
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from devtools.cfn_intrinsics import NO_VALUE, parameter_problems, resolve

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
LAYER_SOURCE = ROOT / "layers" / "common"

os.environ.setdefault("SAM_CLI_TELEMETRY", "0")


@dataclass
class LambdaContext:
    """What Lambda hands a handler as `context`, as far as Powertools and Mangum read it."""

    function_name: str
    memory_limit_in_mb: int = 512
    timeout_seconds: int = 15
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:local:000000000000:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_seconds * 1000


def v2_event(
    method: str,
    path: str,
    *,
    route: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: str = "",
    path_parameters: dict[str, str] | None = None,
    source_ip: str = "203.0.113.7",
    request_id: str | None = None,
    stage: str = "$default",
    cookies: list[str] | None = None,
    base64_body: bool = False,
) -> dict:
    """An API Gateway HTTP API payload-v2 event, as API Gateway sends it for `route` (e.g.
    `/spaces/{space_id}`) called as `path` (e.g. `/spaces/3f2a...`).

    The template's API serves on the `$default` stage; a named `stage` puts `/{stage}` in front of the
    paths, as API Gateway does. Cookies arrive in `cookies`, not as a header; `base64_body` sends the
    body base64-encoded, as API Gateway does for media types it does not take for text."""
    route_key = f"{method} {route or path}"
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    domain = "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
    encoded = None
    if body is not None:
        encoded = (body if isinstance(body, str) else json.dumps(body)).encode()
    request_id = request_id or str(uuid.uuid4())
    trace = f"Root=1-6748a000-{request_id.replace('-', '')[:24]}"
    event = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": {
            "accept": "*/*",
            "host": domain,
            "user-agent": "curl/8.5.0",
            "x-amzn-trace-id": trace,
            "x-forwarded-for": source_ip,
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
            **({"content-type": "application/json", "content-length": str(len(encoded))} if encoded else {}),
            **{k.lower(): v for k, v in (headers or {}).items()},
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": domain.split(".")[0],
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": "curl/8.5.0",
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": stage,
            "time": "28/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795881600000,
        },
        "isBase64Encoded": base64_body,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        parameters: dict[str, str] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):  # repeated names: comma-joined
            parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
        event["queryStringParameters"] = parameters
    if path_parameters:
        event["pathParameters"] = path_parameters
    if encoded is not None:
        event["body"] = base64.b64encode(encoded).decode() if base64_body else encoded.decode()
    return event


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    code_dir: Path
    handler: str  # "module.attribute", relative to code_dir
    memory_mb: int
    timeout_s: int


def load_stacks(template: Path = TEMPLATE, parameters: dict[str, str] | None = None):
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

    stacks, _ = SamLocalStackProvider.get_stacks(str(template), parameter_overrides=parameters)
    return stacks


def function_specs(stacks) -> dict[str, FunctionSpec]:
    from samcli.lib.providers.sam_function_provider import SamFunctionProvider

    provider = SamFunctionProvider(stacks, ignore_code_extraction_warnings=True)
    specs = {}
    for function in provider.get_all():
        if not function.handler:
            continue
        specs[function.name] = FunctionSpec(
            name=function.name,
            code_dir=(ROOT / function.codeuri).resolve(),
            handler=function.handler,
            memory_mb=function.memory or 128,
            timeout_s=function.timeout or 3,
        )
    return specs


def load_function_module(code_dir: Path, module_name: str = "app", *, unique_name: str | None = None):
    """Import a function's handler module from its code folder, as Lambda would from /var/task. Every
    function's module is called `app`, so each gets a unique name in this process."""
    if str(LAYER_SOURCE) not in sys.path:
        sys.path.insert(0, str(LAYER_SOURCE))
    unique_name = unique_name or f"lambda_{code_dir.name}_{module_name}"
    if unique_name in sys.modules:
        return sys.modules[unique_name]
    path = code_dir / (module_name.replace(".", "/") + ".py")
    module_spec = importlib.util.spec_from_file_location(unique_name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[unique_name] = module
    module_spec.loader.exec_module(module)
    return module


class InProcessRunner:
    """Stands where SAM CLI's LocalLambdaRunner stands: `invoke` writes the handler's result to stdout.
    Each function's module is imported once, like a warm container."""

    def __init__(self, specs: dict[str, FunctionSpec]) -> None:
        self.specs = specs
        self._handlers: dict[str, Any] = {}
        self._lock = threading.Lock()
        # Given the ids of the events a request recorded, once it has answered (devtools/local_events.py).
        self.after_response: Any = None

    def is_debugging(self) -> bool:
        return False

    def handler(self, name: str):
        with self._lock:
            if name not in self._handlers:
                spec = self.specs[name]
                module_name, attribute = spec.handler.rsplit(".", 1)
                module = load_function_module(spec.code_dir, module_name, unique_name=f"lambda_{name}")
                self._handlers[name] = getattr(module, attribute)
            return self._handlers[name]

    def invoke(self, function_identifier: str, event: str, stdout=None, stderr=None, **_: Any) -> None:
        spec = self.specs[function_identifier]
        context = LambdaContext(spec.name, spec.memory_mb, spec.timeout_s)
        event = json.loads(event)
        # SAM CLI gives every event the same request id; API Gateway gives each request its own.
        event["requestContext"]["requestId"] = context.aws_request_id
        handler = self.handler(function_identifier)
        from reservas import events

        with events.collecting() as recorded:
            answer = _on_an_event_loop(handler, event, context)
        stdout.write_str(json.dumps(answer))
        if self.after_response and recorded:
            self.after_response(recorded)

    def invoke_event(self, name: str, event: dict) -> Any:
        """Call a function that events or schedules invoke (not through the HTTP API)."""
        spec = self.specs[name]
        return _on_an_event_loop(
            self.handler(name), event, LambdaContext(spec.name, spec.memory_mb, spec.timeout_s)
        )


def _on_an_event_loop(handler, event: dict, context: LambdaContext) -> dict:
    """Lambda calls handlers on its main thread, where Mangum finds an event loop; the HTTP server calls
    them from threads of its own, which need one made for them (and removed after)."""
    if threading.current_thread() is threading.main_thread():
        return handler(event, context)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return handler(event, context)
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def _local_http_api_class():
    from flask import Response, request
    from samcli.local.apigw.event_constructor import construct_v2_event_http
    from samcli.local.apigw.local_apigw_service import LocalApigwService
    from samcli.local.apigw.path_converter import PathConverter

    class LocalHttpApi(LocalApigwService):
        """SAM CLI's local API Gateway, made to do two things as API Gateway does them:

        - a body that is not UTF-8 reaches the function base64-encoded, instead of failing in the
          gateway with a 502;
        - CORS, from the HttpApi's CorsConfiguration: the gateway answers preflights itself (204, never
          a function), adds its CORS headers to the functions' answers and drops any they send. SAM CLI
          answers preflights with 200 and cannot read a conditional CorsConfiguration."""

        def __init__(self, *args: Any, gateway_cors: dict | None = None, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.gateway_cors = gateway_cors

        def _request_handler(self, **kwargs: Any):
            origin = request.headers.get("Origin")
            if request.method == "OPTIONS":
                return self._preflight(origin)
            if request.method == "HEAD":  # routes are for one method each; HEAD is none of them
                return _gateway_not_found()
            response = super()._request_handler(**kwargs)
            for name in {
                name for name, _ in response.headers.items() if name.lower().startswith("access-control-")
            }:
                del response.headers[name]
            allowed = self._allowed_origin(origin)
            if allowed:
                response.headers["Access-Control-Allow-Origin"] = allowed
                if self.gateway_cors.get("ExposeHeaders"):
                    response.headers["Access-Control-Expose-Headers"] = ",".join(
                        self.gateway_cors["ExposeHeaders"]
                    )
            return response

        def _preflight(self, origin: str | None):
            """No OPTIONS route exists: without CORS the gateway knows no such route."""
            if self.gateway_cors is None or not request.headers.get("Access-Control-Request-Method"):
                return _gateway_not_found()
            response = Response(status=204)
            del response.headers["Content-Type"]
            allowed = self._allowed_origin(origin)
            if allowed:
                cors = self.gateway_cors
                response.headers["Access-Control-Allow-Origin"] = allowed
                response.headers["Access-Control-Allow-Methods"] = ",".join(cors.get("AllowMethods", []))
                response.headers["Access-Control-Allow-Headers"] = ",".join(cors.get("AllowHeaders", []))
                if cors.get("MaxAge") is not None:
                    response.headers["Access-Control-Max-Age"] = str(cors["MaxAge"])
            return response

        def _allowed_origin(self, origin: str | None) -> str | None:
            if self.gateway_cors is None or not origin:
                return None
            origins = self.gateway_cors.get("AllowOrigins", [])
            return "*" if "*" in origins else origin if origin in origins else None

        def _generate_lambda_event(self, flask_request, route, method, endpoint):
            try:
                event = super()._generate_lambda_event(flask_request, route, method, endpoint)
            except UnicodeDecodeError:
                event = construct_v2_event_http(
                    flask_request=flask_request,
                    port=self.port,
                    binary_types=["*/*"],
                    stage_name=self.api.stage_name,
                    stage_variables=self.api.stage_variables,
                    route_key=self._v2_route_key(
                        method, PathConverter.convert_path_to_api_gateway(endpoint), route.is_default_route
                    ),
                )
            return _as_api_gateway_sends_it(event, flask_request)

    return LocalHttpApi


def _as_api_gateway_sends_it(event: dict, flask_request) -> dict:
    """SAM CLI's event, corrected where API Gateway differs: header names in lower case, repeated
    headers comma-joined, the client's address in x-forwarded-for, cookies only in `cookies` (as the
    client sent them), no `body` or `cookies` when there are none, the client's user agent, the request
    time in milliseconds, the address it answered on."""
    headers: dict[str, str] = {}
    for name, value in flask_request.headers.items():
        name = name.lower()
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    cookie_header = headers.pop("cookie", "")
    headers["x-forwarded-for"] = flask_request.remote_addr or "127.0.0.1"
    headers["x-forwarded-proto"] = event["headers"].get("X-Forwarded-Proto", "http")
    headers["x-forwarded-port"] = event["headers"].get("X-Forwarded-Port", "3000")
    event = {**event, "headers": headers}
    cookies = [cookie.strip() for cookie in cookie_header.replace(",", ";").split(";") if cookie.strip()]
    if cookies:
        event["cookies"] = cookies
    else:
        event.pop("cookies", None)
    if not event.get("body"):
        event.pop("body", None)
    event["requestContext"] = {
        **event["requestContext"],
        "timeEpoch": event["requestContext"]["timeEpoch"] * 1000,
        "domainName": flask_request.host,  # where this gateway answers, as API Gateway names its own
    }
    return event


def _gateway_not_found():
    """What an HTTP API answers for a path or method no route has (SAM CLI answers a REST API's 403)."""
    from flask import Response

    return Response('{"message":"Not Found"}', status=404, mimetype="application/json")


def gateway_cors(stacks, parameters: dict[str, str]) -> dict | None:
    """The HttpApi's CorsConfiguration as CloudFormation resolves it with these parameter values."""
    template = stacks[0].template_dict
    api = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::HttpApi")
    cors = resolve(api["Properties"].get("CorsConfiguration", NO_VALUE), template, parameters)
    return None if cors is NO_VALUE else cors


def create_service(
    host: str = "127.0.0.1",
    port: int = 3000,
    template: Path = TEMPLATE,
    parameters: dict[str, str] | None = None,
):
    """The Flask app of SAM CLI's local API Gateway, wired to the in-process runner. `parameters` are
    the template's parameter values, as `sam local start-api --parameter-overrides` takes them."""
    from samcli.lib.providers.api_provider import ApiProvider

    parameters = parameters or {}
    stacks = load_stacks(template, parameters)
    problems = parameter_problems(stacks[0].template_dict, parameters)
    if problems:
        raise ValueError("; ".join(problems))
    api = ApiProvider(stacks, cwd=str(ROOT)).api
    api.cors = None  # answered by LocalHttpApi, as API Gateway answers it
    for route in api.routes:  # preflights reach the gateway whatever the route's methods
        if "OPTIONS" not in route.methods:
            route.methods.append("OPTIONS")
    runner = InProcessRunner(function_specs(stacks))
    service = _local_http_api_class()(
        api=api, lambda_runner=runner, port=port, host=host, gateway_cors=gateway_cors(stacks, parameters)
    )
    service.create()
    for status in (404, 405):
        service._app.register_error_handler(status, lambda _: _gateway_not_found())
    _serve_api_documents(service._app)
    _serve_web_page(service._app)
    return service, api, runner


# Swagger UI's files, served at /docs/assets/<name>, with their media types.
DOCS_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon.png": "image/png",
}


def swagger_ui_files() -> Path:
    """Where Swagger UI's files are: shipped by the fastapi-offline package (pyproject.toml's dev group),
    so that /docs needs no CDN and works offline."""
    import importlib.resources

    return Path(str(importlib.resources.files("fastapi_offline") / "static"))


def _serve_api_documents(flask_app) -> None:
    """The merged OpenAPI document at /openapi.json and Swagger UI at /docs (local runs only), its files
    at /docs/assets/ from this machine: the page loads nothing from elsewhere."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from flask import Response

    document = ROOT / "docs" / "openapi.json"
    assets = swagger_ui_files()
    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Reservas",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon.png",
        # No badge from the public validator: the page would send the document there.
        swagger_ui_parameters={"validatorUrl": None},
    ).body

    def asset(name: str):
        if name not in DOCS_ASSETS:
            return _gateway_not_found()
        return Response((assets / name).read_bytes(), mimetype=DOCS_ASSETS[name])

    flask_app.add_url_rule(
        "/openapi.json",
        "openapi",
        lambda: Response(document.read_text(), mimetype="application/json"),
    )
    flask_app.add_url_rule("/docs", "docs", lambda: Response(page, mimetype="text/html"))
    flask_app.add_url_rule("/docs/assets/<name>", "docs_assets", asset)


WEB = ROOT / "web"
# The pages people reach from outside the page itself: emailed links and check-in QR codes.
WEB_ENTRY_PATHS = ("/", "/verify", "/reset-password", "/check-in")
WEB_HEADERS = {
    # Everything the page runs and loads is its own: no inline script, no other origin.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _serve_web_page(flask_app) -> None:
    """The web page (web/) on the API's own origin, as CloudFront serves it in front of both: its entry
    paths answer index.html, its modules and styles live under /app/."""
    from flask import Response, abort, send_from_directory

    def page() -> Response:
        return Response((WEB / "index.html").read_text(), mimetype="text/html", headers=WEB_HEADERS)

    def asset(name: str) -> Response:
        if not name.endswith((".js", ".css")):
            abort(404)
        answer = send_from_directory(WEB / "app", name, max_age=0)
        answer.headers.update(WEB_HEADERS)
        if name.endswith(".js"):
            answer.mimetype = "text/javascript"
        return answer

    for number, path in enumerate(WEB_ENTRY_PATHS):
        flask_app.add_url_rule(path, f"web-page-{number}", page, methods=["GET"])
    flask_app.add_url_rule("/app/<path:name>", "web-assets", asset, methods=["GET"])
