"""The rules of accounts: who may register, log in, and what a session hands out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from reservas.accounts import repository
from reservas.accounts.schemas import LoginRequest, RegisterRequest, TokenPair, User
from reservas.errors import Conflict, NotFound, Unauthorized
from reservas.passwords import burn_verification_time, hash_password, verify_password
from reservas.settings import get_settings
from reservas.tokens import issue_access_token, new_refresh_token

LOGIN_FAILED = "The email or password is incorrect."


def register(session: Session, request: RegisterRequest) -> TokenPair:
    row = repository.insert_user(
        session, email=request.email, password_hash=hash_password(request.password), name=request.name
    )
    if row is None:
        raise Conflict("An account with this email already exists.", title="Email taken")
    pair = _start_session(session, row)
    session.commit()
    return pair


def login(session: Session, request: LoginRequest) -> TokenPair:
    row = repository.find_user_with_hash_by_email(session, request.email)
    if row is None:
        burn_verification_time(request.password)
        raise Unauthorized(LOGIN_FAILED, title="Login failed")
    if not verify_password(request.password, row["password_hash"]):
        raise Unauthorized(LOGIN_FAILED, title="Login failed")
    pair = _start_session(session, row)
    session.commit()
    return pair


def get_user(session: Session, user_id: uuid.UUID) -> User:
    row = repository.find_user_by_id(session, user_id)
    if row is None:
        raise NotFound("No such user.")
    return User.model_validate(dict(row))


def _start_session(session: Session, row: RowMapping) -> TokenPair:
    """A new access token and a refresh token that starts a new family."""
    settings = get_settings()
    refresh_token, token_hash = new_refresh_token()
    repository.insert_refresh_token(
        session,
        user_id=row["id"],
        family_id=uuid.uuid4(),
        token_hash=token_hash,
        expires_at=datetime.now(UTC) + timedelta(days=settings.refresh_token_days),
    )
    return TokenPair(
        user=User.model_validate({k: v for k, v in row.items() if k != "password_hash"}),
        access_token=issue_access_token(row["id"], row["email"], row["role"]),
        refresh_token=refresh_token,
        expires_in=settings.access_token_minutes * 60,
    )
