"""Access tokens: HS256 JWTs with the algorithm pinned, and opaque refresh tokens stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from reservas.settings import get_jwt_key, get_settings

ALGORITHM = "HS256"
ACCESS = "access"
REQUIRED_CLAIMS = ["sub", "email", "role", "iat", "exp", "iss", "aud", "jti", "typ"]


class InvalidToken(Exception):
    """The token is not one this API issued, or no longer valid."""


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    email: str
    role: str
    jti: str
    expires_at: datetime


def issue_access_token(user_id: uuid.UUID, email: str, role: str, *, now: datetime | None = None) -> str:
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
    }
    return jwt.encode(claims, get_jwt_key(), algorithm=ALGORITHM, headers={"typ": "JWT"})


def verify_access_token(token: str) -> AccessClaims:
    settings = get_settings()
    try:
        claims = jwt.decode(
            token,
            get_jwt_key(),
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": REQUIRED_CLAIMS},
        )
        if claims["typ"] != ACCESS:
            raise InvalidToken("not an access token")
        return AccessClaims(
            user_id=uuid.UUID(claims["sub"]),
            email=claims["email"],
            role=claims["role"],
            jti=claims["jti"],
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )
    except (jwt.PyJWTError, ValueError, TypeError) as error:
        raise InvalidToken(str(error)) from error


def new_refresh_token() -> tuple[str, bytes]:
    """A fresh opaque refresh token and the hash under which it is stored."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
