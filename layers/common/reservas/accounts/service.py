"""The rules of signing in: registration, login, sessions and their refresh tokens, token validation."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.engine import RowMapping

from reservas.accounts import repository
from reservas.accounts.access import signed_in
from reservas.accounts.requests import LoginRequest, TokenPair, TokenValidation
from reservas.accounts.schemas import Account, User
from reservas.errors import TooManyRequests, Unauthorized
from reservas.observability import logger
from reservas.passwords import burn_verification_time, verify_password
from reservas.rate_limits import Count, get_rate_limiter
from reservas.rate_windows import parse_limits
from reservas.settings import get_settings
from reservas.tokens import (
    hash_refresh_token,
    issue_access_token,
    new_refresh_token,
)

LOGIN_FAILED = "The email or password is incorrect, or the address is not verified yet."
TOO_MANY_SIGN_INS = "Too many failed sign-ins for this account; try again later."
REFRESH_FAILED = "The refresh token is invalid, expired or already used; sign in again."


def login(db: Connection, request: LoginRequest, client_address: str) -> TokenPair:
    row = authenticate(db, request.email, request.password, client_address)
    if row is None:
        raise Unauthorized(LOGIN_FAILED, title="Login failed")
    if (
        row["email_verified_at"] is None
    ):  # as a wrong password: anyone may set the password of such an address
        raise Unauthorized(LOGIN_FAILED, title="Login failed")
    pair = start_session(db, row)
    db.commit()
    return pair


def authenticate(
    db: Connection, email: str, password: str, client_address: str, password_hash: str | None = None
) -> RowMapping | None:
    """The user whose password this is (or whose `password_hash` it matches, when given: a registration
    waiting for its link), or None. Takes as long whether the account exists or not.

    Guessing is limited per account *and client address* (5 in 15 minutes), so that someone else's
    failures from their address never keep the owner out, and per account across addresses with a
    higher bound (50), so that guesses from many addresses are still slowed; unknown accounts alike,
    so a refusal tells nothing about who has an account. Each attempt takes its place in the counts
    atomically *before* the password is hashed, so parallel guesses cannot outrun the limit; a correct
    password gives the places back."""
    limiter = get_rate_limiter()
    attempts = _attempt_counts(email, client_address)
    if limiter is not None:
        retry_after = limiter.hit_all(attempts)
        if retry_after is not None:
            raise TooManyRequests(retry_after, "Too many failed sign-ins for this account; try again later.")
    row = repository.find_user_with_hash(db, email=email)
    if row is None:
        burn_verification_time(password)
        return None
    if not verify_password(password, password_hash or row["password_hash"]):
        return None
    if limiter is not None:
        limiter.clear_all(attempts)
    return row


def _attempt_counts(email: str, client_address: str) -> list[Count]:
    """Each count a sign-in attempt takes a place in: per account and address, and per account."""
    settings = get_settings()
    return [
        *(
            (limit, ("login-attempts", email, client_address))
            for limit in parse_limits(settings.login_failure_limit)
        ),
        *(
            (limit, ("login-attempts", email))
            for limit in parse_limits(settings.login_failure_limit_per_account)
        ),
    ]


def refresh(db: Connection, refresh_token: str) -> TokenPair:
    """Rotate: the presented token is spent and a new pair issued in the same session. A token that was
    already spent means it leaked (or a client replayed it), so its whole session ends."""
    token = repository.lock_refresh_token(db, hash_refresh_token(refresh_token))
    if token is None or token["revoked_at"] is not None or token["expires_at"] <= datetime.now(UTC):
        raise Unauthorized(REFRESH_FAILED, title="Refresh failed")
    if token["used_at"] is not None:
        repository.revoke_sessions(db, session_ids=[token["session_id"]], reason="refresh-token-reuse")
        db.commit()
        logger.warning(
            "refresh token reused: session revoked", extra={"session_id": str(token["session_id"])}
        )
        raise Unauthorized(REFRESH_FAILED, title="Refresh failed")
    user = repository.find_user_by_id(db, token["user_id"])
    if user is None:
        raise Unauthorized(REFRESH_FAILED, title="Refresh failed")
    repository.mark_refresh_token_used(db, token["id"])
    pair = _token_pair(db, user, token["session_id"], token["expires_at"])
    db.commit()
    return pair


def logout(db: Connection, user: User, access_session_id: uuid.UUID, refresh_tokens: Collection[str]) -> None:
    """End the session of the access token and those of the refresh tokens (the ones that are the
    user's)."""
    ended = {access_session_id}
    for refresh_token in refresh_tokens:
        other = repository.find_session_of_refresh_token(db, hash_refresh_token(refresh_token))
        if other is not None and other["user_id"] == user.id:
            ended.add(other["id"])
    repository.revoke_sessions(db, session_ids=ended, reason="logout")
    db.commit()


def end_sessions(db: Connection, user_id: uuid.UUID, reason: str, keep: uuid.UUID | None = None) -> None:
    """End every session of the user, but `keep` when given."""
    repository.revoke_sessions(db, user_id=user_id, reason=reason, keep=keep)


def validate(db: Connection, token: str) -> TokenValidation:
    """For other services: is this a current access token of a live session? Its claims if so."""
    try:
        user, claims = signed_in(db, token)
    except Unauthorized:
        raise Unauthorized("The token is invalid or has expired.") from None
    # The account as it is now: a token issued before an email or role change still names the old.
    return TokenValidation(valid=True, claims={**claims.raw, "email": user.email, "role": user.role})


def start_session(db: Connection, user: RowMapping) -> TokenPair:
    expires_at = datetime.now(UTC) + timedelta(days=get_settings().refresh_token_days)
    session_id = repository.insert_session(db, user_id=user["id"], expires_at=expires_at)
    return _token_pair(db, user, session_id, expires_at)


def _token_pair(db: Connection, user: RowMapping, session_id: uuid.UUID, expires_at: datetime) -> TokenPair:
    """A new pair in the session, which ends at `expires_at` (and its refresh token with it)."""
    refresh_token, token_hash = new_refresh_token()
    repository.insert_refresh_token(db, session_id=session_id, token_hash=token_hash)
    pair = TokenPair(
        user=Account.model_validate(dict(user)),
        access_token=issue_access_token(user["id"], user["email"], user["role"], session_id),
        refresh_token=refresh_token,
        expires_in=get_settings().access_token_minutes * 60,
    )
    pair._refresh_expires_at = expires_at
    return pair
