"""Helpers shared by the tests: function apps, API Gateway events, users."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

from scripts.apigw import ROOT, LambdaContext, load_function_module

GROUPS = ("auth", "users", "spaces", "reservations")
STRONG_PASSWORD = "Correct-Horse-9"


def function_module(group: str):
    return load_function_module(ROOT / "functions" / group)


def http_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: str = "",
    source_ip: str = "203.0.113.7",
) -> dict:
    """An API Gateway HTTP API payload-v2 event, as API Gateway sends it."""
    raw_body = body if isinstance(body, str) or body is None else json.dumps(body)
    headers = {"content-type": "application/json", **(headers or {})}
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": "pytest",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": "28/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795881600000,
        },
        "body": raw_body,
        "isBase64Encoded": False,
    }


def invoke(group: str, event: dict) -> tuple[int, dict[str, str], Any]:
    """Call a function's Lambda handler with an event; return status, headers and the decoded body."""
    response = function_module(group).handler(event, LambdaContext(f"{group.title()}Function"))
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return response["statusCode"], response.get("headers", {}), json.loads(body) if body else None


def load_event(name: str) -> dict:
    return json.loads((Path(ROOT) / "events" / name).read_text())
