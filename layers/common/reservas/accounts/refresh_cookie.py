"""Browsers: the refresh token in an HttpOnly cookie instead of the body, asked for on each request with
`X-Refresh-Cookie: 1` (docs/api.md, "Browsers: the refresh token in a cookie").

- Scripts never see the refresh token: an XSS on the page can use the session while it is open, but
  cannot carry the refresh token away. The page keeps the access token in memory only.
- The cookie is `SameSite=Strict` (never sent on a request another site starts) and is read only when
  the request carries the custom header, which a cross-site form or "simple" request cannot add; a
  cross-origin fetch with it needs a CORS preflight, which only the stack's own origins pass.
- `Path=/auth`: the other functions never receive it. Its `Max-Age` is what is left of its session.

The cookie's value is never put in a body, a log line or a problem detail."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request, Response

from reservas.accounts.requests import TokenPair
from reservas.errors import Unauthorized, Unprocessable

COOKIE = "reservas_refresh"
PATH = "/auth"
_ATTRIBUTES = f"HttpOnly; Secure; SameSite=Strict; Path={PATH}"
CLEARING = f"{COOKIE}=; {_ATTRIBUTES}; Max-Age=0"
# What tokens.new_refresh_token makes (secrets.token_urlsafe), within RefreshToken's bounds: anything
# else is refused before it reaches the database.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,200}")

NO_COOKIE = "No refresh cookie came with the request; sign in again."
SEVERAL_COOKIES = f"Several `{COOKIE}` cookies came with the request; sign in again."
REFRESH_FAILED = "The refresh token is invalid, expired or already used; sign in again."

HEADER = "x-refresh-cookie"
# Read by `wants_cookie`, documented by hand: FastAPI would document a Header of Literal["1"] | None as
# a nullable union, which client generators refuse for headers (openapi-python-client skips the route).
HEADER_PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string", "enum": ["1"]},
    "description": f"`1`: the refresh token travels in the HttpOnly cookie `{COOKIE}` (Path={PATH}) "
    "instead of the body: answers with tokens set it (their `refresh_token` is null), refresh reads "
    'it, logout clears it. For browsers (docs/api.md, "Browsers: the refresh token in a cookie").',
}
OPENAPI = {"parameters": [HEADER_PARAMETER]}


async def wants_cookie(request: Request) -> bool:
    """Whether the request asks for the cookie (`X-Refresh-Cookie: 1`); any other value is a 422."""
    values = request.headers.getlist(HEADER)
    if not values:
        return False
    if values == ["1"]:
        return True
    raise Unprocessable(
        "header.x-refresh-cookie: Input should be '1'",
        title="Invalid request",
        errors=[{"loc": ["header", HEADER], "msg": "Input should be '1'"}],
    )


WantsCookie = Annotated[bool, Depends(wants_cookie)]


def setting(token: str, expires_at: datetime) -> str:
    """The Set-Cookie value that stores `token` until `expires_at` (its session's end)."""
    max_age = max(0, int((expires_at - datetime.now(UTC)).total_seconds()))
    return f"{COOKIE}={token}; {_ATTRIBUTES}; Max-Age={max_age}"


def into_cookie(pair: TokenPair, response: Response) -> TokenPair:
    """Put the pair's refresh token in the cookie; the pair to answer with, without it."""
    assert pair.refresh_token is not None and pair.refresh_expires_at is not None
    response.headers.append("set-cookie", setting(pair.refresh_token, pair.refresh_expires_at))
    return pair.model_copy(update={"refresh_token": None})


def refused(detail: str) -> Unauthorized:
    """A refusal that also clears the cookie, so that the browser stops sending it."""
    return Unauthorized(
        detail,
        title="Refresh failed",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"', "Set-Cookie": CLEARING},
    )


@contextmanager
def cleared_on_refusal() -> Iterator[None]:
    """A 401 raised inside (a token unknown, spent, expired) clears the cookie too."""
    try:
        yield
    except Unauthorized as refusal:
        refusal.headers = {**refusal.headers, "Set-Cookie": CLEARING}
        raise


def presented(request: Request) -> str:
    """The refresh token of the request's cookie; a refusal (401, clearing it) when there is none,
    several, or one that cannot be a refresh token. The raw header is read, not Starlette's parsed
    cookies, which keep the last of several with one name: several are a sign of a cookie planted
    from elsewhere (a sibling domain) and are refused, not guessed between."""
    values = [
        value.strip()
        for header in request.headers.getlist("cookie")
        for name, _, value in (pair.partition("=") for pair in header.split(";"))
        if name.strip() == COOKIE
    ]
    if not values:
        raise refused(NO_COOKIE)
    if len(values) > 1:
        raise refused(SEVERAL_COOKIES)
    if not _TOKEN.fullmatch(values[0]):
        raise refused(REFRESH_FAILED)
    return values[0]


def found(request: Request) -> str | None:
    """The cookie's refresh token when there is exactly one well-formed; None otherwise."""
    try:
        return presented(request)
    except Unauthorized:
        return None


def field_required() -> Unprocessable:
    """What a body without `refresh_token` gets when the cookie was not asked for (as before the cookie)."""
    return Unprocessable(
        "body.refresh_token: Field required (or send `X-Refresh-Cookie: 1` with the cookie)",
        title="Invalid request",
        errors=[{"loc": ["body", "refresh_token"], "msg": "Field required"}],
    )


def not_both() -> Unprocessable:
    return Unprocessable(
        "body.refresh_token: send the refresh token in the body or in the cookie "
        "(`X-Refresh-Cookie: 1`), not both",
        title="Invalid request",
        errors=[{"loc": ["body", "refresh_token"], "msg": "Not allowed with X-Refresh-Cookie: 1"}],
    )
