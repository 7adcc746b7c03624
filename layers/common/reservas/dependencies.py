"""What routes ask FastAPI for: a database connection (`db`), and who is calling: a person with an
access token, or an integrator with an API key on a route that names the key's scope."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection

from reservas.accounts.access import signed_in
from reservas.accounts.schemas import User
from reservas.audit import Actor
from reservas.database import get_db
from reservas.errors import Forbidden, Unauthorized
from reservas.tokens import API_KEY_PREFIX, AccessClaims, ApiKeyScope

DbDep = Annotated[Connection, Depends(get_db)]

_bearer = HTTPBearer(
    auto_error=False,
    description="An access token from /auth/login, or an API key (`rsv_...`) on the routes that name "
    "its scope (`x-api-key-scope`).",
)

API_KEY_SCOPE = "x-api-key-scope"


def api_key_scope(scope: ApiKeyScope) -> dict[str, Any]:
    """For a route's `openapi_extra`: API keys with this scope may call it. A route without one refuses
    every key: keys reach only what is named for them."""
    return {API_KEY_SCOPE: scope}


@dataclass(frozen=True)
class Caller:
    """A person signed in (`claims` of their session), or an API key acting for its account (`key_id`)."""

    user: User
    claims: AccessClaims | None
    key_id: uuid.UUID | None = None

    @property
    def session_id(self) -> uuid.UUID:
        if self.claims is None:  # routes with a session of their own never name a key scope
            raise Forbidden("This route is for people signed in, not API keys.")
        return self.claims.session_id


async def caller(
    request: Request,
    db: DbDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """Who sends a genuine access token of a live session (see accounts.access.signed_in), or a
    genuine API key whose scopes include the route's."""
    if credentials is None:
        raise Unauthorized("Authentication is required: send `Authorization: Bearer <access token>`.")
    if credentials.credentials.startswith(API_KEY_PREFIX):
        return _key_caller(request, db, credentials.credentials)
    user, claims = signed_in(db, credentials.credentials)
    return Caller(user, claims)


def _key_caller(request: Request, db: Connection, key: str) -> Caller:
    from reservas.accounts import api_keys
    from reservas.rate_limits import genuine_keys, key_digest

    try:
        holder = api_keys.holder(db, key)
    except Unauthorized:
        genuine_keys.forget(key_digest(key))
        raise
    genuine_keys.remember(key_digest(key))  # from now on counted per key (app_factory.RateLimitMiddleware)
    route = request.scope.get("route")
    scope = (getattr(route, "openapi_extra", None) or {}).get(API_KEY_SCOPE)
    if scope is None:
        raise Forbidden("API keys cannot be used on this route.", title="Not for API keys")
    if scope not in holder.scopes:
        raise Forbidden(f"This API key does not have the scope `{scope}`.", title="Missing scope")
    return Caller(holder.user, None, holder.key_id)


async def optional_user(
    request: Request,
    db: DbDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User | None:
    """Routes open to anyone: None for an anonymous caller; a token, when sent, must be good."""
    return None if credentials is None else (await caller(request, db, credentials)).user


async def current_user(who: Annotated[Caller, Depends(caller)]) -> User:
    return who.user


async def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    if not user.is_admin:
        raise Forbidden("This route is for administrators.")
    return user


async def client_address(request: Request) -> str:
    """The caller's address as API Gateway saw it (`requestContext.http.sourceIp`)."""
    return request.client.host if request.client else "unknown"


async def actor(
    who: Annotated[Caller, Depends(caller)], address: Annotated[str, Depends(client_address)]
) -> Actor:
    """Who makes a change and from where, as the audit log records it: with the key, when one was used."""
    return Actor(user_id=who.user.id, address=address, key_id=who.key_id)


CallerDep = Annotated[Caller, Depends(caller)]
ClientAddress = Annotated[str, Depends(client_address)]
CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]
AdminUser = Annotated[User, Depends(admin_user)]
ActorDep = Annotated[Actor, Depends(actor)]
