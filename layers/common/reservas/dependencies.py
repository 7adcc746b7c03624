"""What routes ask FastAPI for: a database session and the authenticated user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from reservas.accounts import repository
from reservas.accounts.schemas import User
from reservas.database import get_session
from reservas.errors import Forbidden, Unauthorized
from reservas.tokens import InvalidToken, verify_access_token

SessionDep = Annotated[Session, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="An access token from /auth/login or /auth/register.")


def current_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None:
        raise Unauthorized("Authentication is required: send `Authorization: Bearer <access token>`.")
    try:
        claims = verify_access_token(credentials.credentials)
    except InvalidToken:
        raise Unauthorized("The access token is invalid or has expired.") from None
    row = repository.find_user_by_id(session, claims.user_id)
    if row is None:
        raise Unauthorized("The account of this access token no longer exists.")
    return User.model_validate(dict(row))


def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    if user.role != "admin":
        raise Forbidden("This route is for administrators.")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
AdminUser = Annotated[User, Depends(admin_user)]
