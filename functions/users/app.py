"""/users: one's own profile; admins look users up and change their roles, and read the audit log."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from reservas import audit_search
from reservas.accounts import profile
from reservas.accounts.api_keys import ApiKey, ApiKeyCreated, ApiKeyRequest
from reservas.accounts.requests import DeleteMeRequest, RoleChange, UpdateMeRequest
from reservas.accounts.schemas import User
from reservas.app_factory import DeferredRoute, create_app, lambda_handler
from reservas.audit import Entity
from reservas.audit_search import AuditEntry
from reservas.dependencies import ActorDep, AdminUser, CallerDep, ClientAddress, CurrentUser, DbDep
from reservas.errors import fields_from, problem_doc
from reservas.models import Model
from reservas.pagination import DEFAULT_LIMIT, Page
from reservas.route_parameters import Cursor, Limit
from reservas.timestamps import Instant
from reservas.webhooks.schemas import Delivery, DeliveryState, Webhook, WebhookCreate, WebhookWithSecret

AUTHENTICATED = {401: problem_doc("Not authenticated")}
ADMIN_ONLY = {**AUTHENTICATED, 403: problem_doc("Not an administrator")}

router = APIRouter(prefix="/users", tags=["users"], route_class=DeferredRoute)


@router.get("/me", responses=AUTHENTICATED)
async def get_me(user: CurrentUser) -> User:
    return user


@router.put("/me", responses={**AUTHENTICATED, 403: problem_doc("Wrong current password")})
async def update_me(body: UpdateMeRequest, who: CallerDep, db: DbDep, address: ClientAddress) -> User:
    return profile.update_me(db, who.user, body, session_id=who.session_id, client_address=address)


@router.delete(
    "/me", status_code=204, responses={**AUTHENTICATED, 403: problem_doc("Wrong current password")}
)
async def delete_me(body: DeleteMeRequest, user: CurrentUser, db: DbDep, address: ClientAddress) -> Response:
    """Leave: upcoming bookings are cancelled, past ones stay without your data, the account goes."""
    from reservas import leaving  # the booking rules it needs load with it, not at every cold start

    leaving.leave(db, user, body.current_password, address)
    return Response(status_code=204)


@router.get("/{user_id}", responses={**ADMIN_ONLY, 404: problem_doc("No such user")})
async def get_user(user_id: uuid.UUID, _: AdminUser, db: DbDep) -> User:
    return profile.get_user(db, user_id)


@router.get("", responses=ADMIN_ONLY)
async def list_users(
    _: AdminUser,
    db: DbDep,
    email: Annotated[str | None, Query(max_length=254, description="Part of the email, any case.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[User]:
    return profile.list_users(db, email=email.strip().lower() if email else None, limit=limit, cursor=cursor)


@router.put(
    "/{user_id}/role",
    responses={**ADMIN_ONLY, 404: problem_doc("No such user"), 409: problem_doc("The last administrator")},
)
async def change_user_role(
    user_id: uuid.UUID, body: RoleChange, _: AdminUser, actor: ActorDep, db: DbDep
) -> User:
    """Make someone an administrator, or a user again; recorded in the audit log."""
    return profile.change_role(db, user_id, body.role, actor=actor)


audit_router = APIRouter(prefix="/audit", tags=["audit"], route_class=DeferredRoute)


@audit_router.get("", responses=ADMIN_ONLY)
async def read_audit_log(
    _: AdminUser,
    db: DbDep,
    entity: Annotated[Entity | None, Query(description="What kind of thing changed.")] = None,
    entity_id: Annotated[uuid.UUID | None, Query(description="Which one.")] = None,
    actor: Annotated[uuid.UUID | None, Query(description="Who changed it (a user id).")] = None,
    api_key: Annotated[uuid.UUID | None, Query(description="Changes made with this API key.")] = None,
    from_: Annotated[Instant | None, Query(alias="from", description="Changes at or after.")] = None,
    to: Annotated[Instant | None, Query(description="Changes before.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[AuditEntry]:
    """Who changed what, when and from where, newest first."""
    return audit_search.search(
        db,
        entity=entity,
        entity_id=entity_id,
        actor_id=actor,
        key_id=api_key,
        since=from_,
        until=to,
        limit=limit,
        cursor=cursor,
    )


# ---------------------------------------------------------------- Webhooks
# The service (the signing library, the address checks) loads with the first webhook request; the schemas
# are light.

webhooks_router = APIRouter(prefix="/webhooks", tags=["webhooks"], route_class=DeferredRoute)
NO_WEBHOOK = {**ADMIN_ONLY, 404: problem_doc("No such webhook")}
NO_DELIVERY = {**ADMIN_ONLY, 404: problem_doc("No such webhook, or no such delivery of it")}


@webhooks_router.post(
    "", status_code=201, responses={**ADMIN_ONLY, 422: problem_doc("A URL webhooks may not reach")}
)
async def create_webhook(body: WebhookCreate, _: AdminUser, actor: ActorDep, db: DbDep) -> WebhookWithSecret:
    """Register an https endpoint for the events it names. The answer holds its signing secret, shown
    this once: the URL must resolve to public addresses only (private networks an operator allowed
    aside), now and at every delivery."""
    from reservas.webhooks import registry

    with fields_from("body"):
        return registry.create(db, body, actor)


@webhooks_router.get("", responses=ADMIN_ONLY)
async def list_webhooks(
    _: AdminUser, db: DbDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[Webhook]:
    """Every webhook, oldest first (without secrets)."""
    from reservas.webhooks import registry

    return registry.list_webhooks(db, limit=limit, cursor=cursor)


@webhooks_router.get("/{webhook_id}", responses=NO_WEBHOOK)
async def get_webhook(webhook_id: uuid.UUID, _: AdminUser, db: DbDep) -> Webhook:
    from reservas.webhooks import registry

    return registry.get(db, webhook_id)


@webhooks_router.delete("/{webhook_id}", status_code=204, responses=NO_WEBHOOK)
async def delete_webhook(webhook_id: uuid.UUID, _: AdminUser, actor: ActorDep, db: DbDep) -> Response:
    """No more deliveries to it; its pending and dead deliveries go with it."""
    from reservas.webhooks import registry

    registry.delete_webhook(db, webhook_id, actor)
    return Response(status_code=204)


@webhooks_router.post("/{webhook_id}/secret", responses=NO_WEBHOOK)
async def rotate_webhook_secret(
    webhook_id: uuid.UUID, _: AdminUser, actor: ActorDep, db: DbDep
) -> WebhookWithSecret:
    """A new signing secret, shown this once; for 24 hours deliveries carry a signature with the
    previous one too, so that the receiver can switch without losing any."""
    from reservas.webhooks import registry

    return registry.rotate_secret(db, webhook_id, actor)


@webhooks_router.post("/{webhook_id}/test", status_code=202, responses=NO_WEBHOOK)
async def send_webhook_test(webhook_id: uuid.UUID, _: AdminUser, actor: ActorDep, db: DbDep) -> Delivery:
    """Send a `WebhookTest` event now; the answer is its delivery, with how the attempt went (retried
    like any delivery if it failed)."""
    from reservas.webhooks import registry

    return registry.send_test(db, webhook_id, actor)


@webhooks_router.get("/{webhook_id}/deliveries", responses=NO_WEBHOOK)
async def list_webhook_deliveries(
    webhook_id: uuid.UUID,
    _: AdminUser,
    db: DbDep,
    state: Annotated[
        DeliveryState | None,
        Query(description="pending (being retried), delivered, or dead: the dead-letter store."),
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[Delivery]:
    """The webhook's deliveries, newest first."""
    from reservas.webhooks import registry

    return registry.list_deliveries(db, webhook_id, state=state, limit=limit, cursor=cursor)


@webhooks_router.post(
    "/{webhook_id}/deliveries/{delivery_id}/replay",
    status_code=202,
    responses={**NO_DELIVERY, 409: problem_doc("The delivery is still pending")},
)
async def replay_webhook_delivery(
    webhook_id: uuid.UUID, delivery_id: uuid.UUID, _: AdminUser, actor: ActorDep, db: DbDep
) -> Delivery:
    """Send a delivery again with the same `webhook-id` (a dead one, typically): attempted now, then
    retried on the usual schedule if it fails."""
    from reservas.webhooks import registry

    return registry.replay(db, webhook_id, delivery_id, actor)


keys_router = APIRouter(prefix="/api-keys", tags=["api keys"], route_class=DeferredRoute)
KEY_NOT_FOUND = {404: problem_doc("No API key has this id")}


@keys_router.post("", status_code=201, responses=ADMIN_ONLY)
async def create_api_key(body: ApiKeyRequest, _: AdminUser, actor: ActorDep, db: DbDep) -> ApiKeyCreated:
    """A key for an integrator, acting for `user_id` within `scopes`: the key is in this answer only."""
    from reservas.accounts import api_keys

    with fields_from("body"):
        return api_keys.create(db, body, actor=actor)


@keys_router.get("", responses=ADMIN_ONLY)
async def list_api_keys(
    _: AdminUser,
    db: DbDep,
    user_id: Annotated[uuid.UUID | None, Query(description="Only the keys acting for this account.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ApiKey]:
    """Every key, oldest first, with when it expires, whether it was revoked and when it was last used."""
    from reservas.accounts import api_keys

    return api_keys.list_keys(db, user_id=user_id, limit=limit, cursor=cursor)


@keys_router.delete("/{key_id}", status_code=204, responses={**ADMIN_ONLY, **KEY_NOT_FOUND})
async def revoke_api_key(key_id: uuid.UUID, _: AdminUser, actor: ActorDep, db: DbDep) -> Response:
    """The key is refused from its next request on; it stays in the list, revoked."""
    from reservas.accounts import api_keys

    api_keys.revoke(db, key_id, actor=actor)
    return Response(status_code=204)


class CalendarFeed(Model):
    """Your private calendar feed, shown once: subscribe to `url` in Google, Outlook or Apple calendar."""

    path: str = Field(description="/calendar/{token}/bookings.ics")
    url: str = Field(description="The path on the API's address.")


@router.post("/me/calendar-token", status_code=201, responses=AUTHENTICATED)
async def rotate_calendar_token(user: CurrentUser, db: DbDep, request: Request) -> CalendarFeed:
    """A new private feed of your bookings; the URL of any earlier one stops working at once."""
    from reservas.reservations import feeds

    token = feeds.rotate(db, user.id)
    db.commit()
    path = f"/calendar/{token}/bookings.ics"
    return CalendarFeed(path=path, url=_api_address(request) + path)


@router.delete("/me/calendar-token", status_code=204, responses=AUTHENTICATED)
async def revoke_calendar_token(user: CurrentUser, db: DbDep) -> Response:
    """No more feed: its URL answers 404."""
    from reservas.reservations import feeds

    feeds.revoke(db, user.id)
    db.commit()
    return Response(status_code=204)


def _api_address(request: Request) -> str:
    """Where people reach the API: the address API Gateway answered on (never the Host header, which a
    client chooses; nor RESERVAS_PUBLIC_URL, the web page's, whose host would log the feed's token)."""
    context = (request.scope.get("aws.event") or {}).get("requestContext") or {}
    stage = context.get("stage")
    prefix = "" if not stage or stage == "$default" else f"/{stage}"
    # API Gateway answers HTTPS only and says so; the local gateway answers HTTP.
    scheme = "http" if request.headers.get("x-forwarded-proto") == "http" else "https"
    return f"{scheme}://{context.get('domainName', 'localhost')}{prefix}"


app = create_app("users", router, audit_router, keys_router, webhooks_router)
handler = lambda_handler(app)
