"""What routes ask FastAPI for: a database connection (`db`), and who is calling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection

from reservas.accounts.access import signed_in
from reservas.accounts.schemas import User
from reservas.audit import Actor
from reservas.database import get_db
from reservas.errors import Forbidden, Unauthorized
from reservas.tokens import AccessClaims

DbDep = Annotated[Connection, Depends(get_db)]

_bearer = HTTPBearer(auto_error=False, description="An access token from /auth/login or /auth/register.")


@dataclass(frozen=True)
class Caller:
    user: User
    claims: AccessClaims


def caller(
    db: DbDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """Who sends a genuine access token of a live session (see accounts.access.signed_in)."""
    if credentials is None:
        raise Unauthorized("Authentication is required: send `Authorization: Bearer <access token>`.")
    return Caller(*signed_in(db, credentials.credentials))


def optional_user(
    db: DbDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User | None:
    """Routes open to anyone: None for an anonymous caller; a token, when sent, must be good."""
    return None if credentials is None else caller(db, credentials).user


def current_user(who: Annotated[Caller, Depends(caller)]) -> User:
    return who.user


def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    if not user.is_admin:
        raise Forbidden("This route is for administrators.")
    return user


def client_address(request: Request) -> str:
    """The caller's address as API Gateway saw it (`requestContext.http.sourceIp`)."""
    return request.client.host if request.client else "unknown"


def actor(
    user: Annotated[User, Depends(current_user)], address: Annotated[str, Depends(client_address)]
) -> Actor:
    """Who makes a change and from where, as the audit log records it."""
    return Actor(user_id=user.id, address=address)


CallerDep = Annotated[Caller, Depends(caller)]
ClientAddress = Annotated[str, Depends(client_address)]
CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]
AdminUser = Annotated[User, Depends(admin_user)]
ActorDep = Annotated[Actor, Depends(actor)]
