"""`sam local start-api` without Docker: SAM CLI's own route parsing, event construction and HTTP
service, with a runner that calls each function's handler in this process instead of in a container.

Routes come from template.yaml only. Handlers run as they do in Lambda: an API Gateway HTTP API
payload-v2 event in, a payload-v2 response out."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
) -> dict:
    """An API Gateway HTTP API payload-v2 event, as API Gateway sends it for `route` (e.g.
    `/spaces/{space_id}`) called as `path` (e.g. `/spaces/3f2a...`)."""
    route_key = f"{method} {route or path}"
    event = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"content-type": "application/json", **{k.lower(): v for k, v in (headers or {}).items()}},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": "curl/8.5.0",
            },
            "requestId": request_id or str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": "28/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795881600000,
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(part.split("=", 1) for part in query.split("&"))
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    return event


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    code_dir: Path
    handler: str  # "module.attribute", relative to code_dir
    memory_mb: int
    timeout_s: int


def load_stacks(template: Path = TEMPLATE):
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

    stacks, _ = SamLocalStackProvider.get_stacks(str(template))
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
        # Lambda calls handlers on its main thread, where Mangum finds an event loop; the HTTP server
        # calls this from a thread of its own, which needs one made for it.
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            response = handler(event, context)
        finally:
            asyncio.set_event_loop(None)
            loop.close()
        stdout.write_str(json.dumps(response))


def _local_http_api_class():
    from samcli.local.apigw.event_constructor import construct_v2_event_http
    from samcli.local.apigw.local_apigw_service import LocalApigwService
    from samcli.local.apigw.path_converter import PathConverter

    class LocalHttpApi(LocalApigwService):
        """SAM CLI's local API Gateway with one fix: a body that is not UTF-8 reaches the function
        base64-encoded, as API Gateway sends it, instead of failing in the gateway with a 502."""

        def _generate_lambda_event(self, flask_request, route, method, endpoint):
            try:
                return super()._generate_lambda_event(flask_request, route, method, endpoint)
            except UnicodeDecodeError:
                return construct_v2_event_http(
                    flask_request=flask_request,
                    port=self.port,
                    binary_types=["*/*"],
                    stage_name=self.api.stage_name,
                    stage_variables=self.api.stage_variables,
                    route_key=self._v2_route_key(
                        method, PathConverter.convert_path_to_api_gateway(endpoint), route.is_default_route
                    ),
                )

    return LocalHttpApi


def create_service(host: str = "127.0.0.1", port: int = 3000, template: Path = TEMPLATE):
    """The Flask app of SAM CLI's local API Gateway, wired to the in-process runner."""
    from samcli.lib.providers.api_provider import ApiProvider

    stacks = load_stacks(template)
    api = ApiProvider(stacks, cwd=str(ROOT)).api
    runner = InProcessRunner(function_specs(stacks))
    service = _local_http_api_class()(api=api, lambda_runner=runner, port=port, host=host)
    service.create()
    _serve_api_documents(service._app)
    return service, api, runner


def _serve_api_documents(flask_app) -> None:
    """The merged OpenAPI document at /openapi.json and Swagger UI at /docs (local runs only)."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from flask import Response

    document = ROOT / "docs" / "openapi.json"
    flask_app.add_url_rule(
        "/openapi.json",
        "openapi",
        lambda: Response(document.read_text(), mimetype="application/json"),
    )
    flask_app.add_url_rule(
        "/docs",
        "docs",
        lambda: Response(
            get_swagger_ui_html(openapi_url="/openapi.json", title="Reservas").body, mimetype="text/html"
        ),
    )
