"""Who is calling, behind the stack's CloudFront distribution (ServeWebPage=true).

API Gateway sees CloudFront's addresses, not the viewers', and per-address rate limits, sign-in attempt
counts and the audit log's addresses would lump people together. The distribution's viewer-request
function puts the viewer's address in `X-Reservas-Viewer-Address` (overwriting any the viewer sent),
and the distribution adds `X-Reservas-Origin-Verify`, a secret only it and the functions know. With a
proof that matches, the viewer's address becomes the request's client address, the one every part of
the app reads (`scope["client"]`). Without one (a request straight to API Gateway) both headers are
dropped and API Gateway's address stands, so nobody can choose the address they are counted under.
The proof is read from Secrets Manager only when a request carries one."""

from __future__ import annotations

import hmac
import ipaddress
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from reservas.observability import logger
from reservas.settings import get_settings

VIEWER_HEADER = b"x-reservas-viewer-address"
PROOF_HEADER = b"x-reservas-origin-verify"


class ViewerAddressMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = viewer_scope(scope)
        await self.app(scope, receive, send)


def viewer_scope(scope: Scope) -> Scope:
    """The scope without the two headers, and with the viewer's address as its client when the proof
    is the distribution's."""
    viewer = proof = None
    kept = []
    for name, value in scope.get("headers", []):
        if name == VIEWER_HEADER:
            viewer = viewer if viewer is not None else value
        elif name == PROOF_HEADER:
            proof = proof if proof is not None else value
        else:
            kept.append((name, value))
    if viewer is None and proof is None:
        return scope
    scope = {**scope, "headers": kept}
    address = _address(viewer)
    if address is not None and proof is not None and _is_the_distribution(proof):
        scope["client"] = (address, 0)
    return scope


def _address(value: bytes | None) -> str | None:
    if value is None or len(value) > 64:
        return None
    try:
        return str(ipaddress.ip_address(value.decode("ascii").strip()))
    except (UnicodeDecodeError, ValueError):
        return None


def _is_the_distribution(proof: bytes) -> bool:
    return any(hmac.compare_digest(proof, secret) for secret in origin_secrets())


def origin_secrets() -> list[bytes]:
    """The current proof and, while a rotation settles, the one before it; none when the stack has no
    distribution, or Secrets Manager cannot be read (the request then counts under API Gateway's
    address, as without CloudFront: degraded, never refused)."""
    settings = get_settings()
    if settings.origin_secret is not None:
        return [settings.origin_secret.get_secret_value().encode()]
    if not settings.origin_secret_arn:
        return []
    if time.monotonic() < unreadable.until:
        return []
    from reservas.aws_secrets import read_previous_secret, read_secret

    try:
        values = [read_secret(settings.origin_secret_arn), read_previous_secret(settings.origin_secret_arn)]
    except Exception:  # any failure to read it means: no proof can be checked now
        # Not tried again for a while, so that an unreachable Secrets Manager slows no other request.
        unreadable.until = time.monotonic() + UNREADABLE_PAUSE_SECONDS
        logger.warning("the origin secret could not be read; viewer addresses are not trusted now")
        return []
    return [value.encode() for value in values if isinstance(value, str) and value]


UNREADABLE_PAUSE_SECONDS = 60


class _Pause:
    until = 0.0

    def reset(self) -> None:
        self.until = 0.0


unreadable = _Pause()  # after a failed read, when to try Secrets Manager again
