"""Access tokens: HS256 JWTs with the algorithm pinned, and opaque refresh tokens stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt

from reservas.credentials import get_jwt_key, get_jwt_keys
from reservas.settings import get_settings

ALGORITHM = "HS256"
ACCESS = "access"
# API keys (accounts.api_keys) begin with it; access tokens are JWTs, which begin with "eyJ".
API_KEY_PREFIX = "rsv_"
# What an API key may be allowed to do; a route names the one it needs (dependencies.api_key_scope).
ApiKeyScope = Literal["spaces:read", "reservations:read", "reservations:write"]
REQUIRED_CLAIMS = ["sub", "email", "role", "iat", "nbf", "exp", "iss", "aud", "jti", "typ", "sid"]


class InvalidToken(Exception):
    """The token is not one this API issued, or no longer valid."""


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    email: str
    role: str
    jti: str
    expires_at: datetime
    raw: dict[str, Any]


def issue_access_token(
    user_id: uuid.UUID, email: str, role: str, session_id: uuid.UUID, *, now: datetime | None = None
) -> str:
    settings = get_settings()
    now = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "email": email,
        "role": role,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=settings.access_token_minutes),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": uuid.uuid4().hex,
        "typ": ACCESS,
        "sid": str(session_id),
    }
    return jwt.encode(claims, get_jwt_key(), algorithm=ALGORITHM, headers={"typ": "JWT"})


def verify_access_token(token: str) -> AccessClaims:
    """The claims of a genuine, current access token; InvalidToken for anything else. Tokens signed
    with the previous key still pass while a key rotation settles."""
    settings = get_settings()
    error: Exception = InvalidToken("no key")
    for key in get_jwt_keys():
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.InvalidSignatureError as wrong_key:
            error = wrong_key
            continue
        except jwt.PyJWTError as invalid:
            raise InvalidToken(str(invalid)) from invalid
        return _access_claims(claims)
    raise InvalidToken(str(error)) from error


def _access_claims(claims: dict[str, Any]) -> AccessClaims:
    if claims["typ"] != ACCESS:
        raise InvalidToken("not an access token")
    try:
        return AccessClaims(
            user_id=uuid.UUID(claims["sub"]),
            session_id=uuid.UUID(claims["sid"]),
            email=claims["email"],
            role=claims["role"],
            jti=claims["jti"],
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            raw=claims,
        )
    except (ValueError, TypeError, AttributeError) as malformed:
        raise InvalidToken("malformed claims") from malformed


def new_refresh_token() -> tuple[str, bytes]:
    """A fresh opaque refresh token and the hash under which it is stored."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
