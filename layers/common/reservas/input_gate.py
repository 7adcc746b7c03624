"""The one gate every request passes before any route reads it: what no field of this API can hold is
refused here, once for all inputs, with a clear 4xx instead of a failure deep in the database.

- NUL (U+0000) anywhere: in the path, in a query parameter, in the body (raw, or as JSON's `\\u0000`).
  PostgreSQL stores no NUL in text or jsonb, and no name, note or search needs one.
- Bodies larger than any request of this API needs (413)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reservas.errors import problem_response

MAX_BODY_BYTES = 64 * 1024  # a space with its longest description and opening hours needs about 20 KiB
_NUL_MESSAGE = "must not contain NUL (\\u0000) characters"
# JSON's escape for NUL, unless its backslash is itself escaped (an odd count of backslashes before `u`).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


class InputGateMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        location = _nul_in_url(scope)
        if location is not None:
            await _refused(location)(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            response = problem_response(
                413, f"The request body is larger than {MAX_BODY_BYTES // 1024} KiB.", title="Too large"
            )
            await response(scope, receive, send)
            return
        if b"\x00" in body or _JSON_NUL.search(body):
            await _refused(["body"])(scope, receive, send)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _nul_in_url(scope: Scope) -> list[str] | None:
    """Where a NUL is in the path or the query string, as a problem's `loc`; None when there is none."""
    if "\x00" in scope.get("path", ""):
        return ["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    if "\x00" in unquote(query):
        for name, value in parse_qsl(query, keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return ["query", name.replace("\x00", "")]
        return ["query"]
    return None


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body; None when it is too large."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _refused(location: list[str]) -> JSONResponse:
    where = ".".join(location)
    return problem_response(
        422,
        f"{where}: {_NUL_MESSAGE}",
        title="Invalid request",
        errors=[{"loc": location, "msg": _NUL_MESSAGE}],
    )
