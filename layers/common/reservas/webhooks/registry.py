"""What admins do with webhooks: register one (its secret shown once), list and read them, delete one,
rotate its secret (the previous one keeps signing for a day), send a test event, read its deliveries
and replay one. Changes are recorded in the audit log, never with a secret."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from reservas import audit
from reservas.database import after_key
from reservas.errors import Conflict, NotFound, Unprocessable
from reservas.pagination import Page, keyset, page
from reservas.tables import webhook_deliveries, webhooks
from reservas.timestamps import parse_instant
from reservas.webhooks import addresses, delivery, signing
from reservas.webhooks.schemas import Delivery, DeliveryState, Webhook, WebhookCreate, WebhookWithSecret

ROTATION_OVERLAP = timedelta(hours=24)  # the previous secret signs too, while receivers switch
_SHOWN = [c for c in webhooks.c if c.name not in ("secret", "previous_secret")]


def create(db: Connection, body: WebhookCreate, actor: audit.Actor) -> WebhookWithSecret:
    """Register a webhook whose URL reaches a public address now (a 422 naming `url` if not)."""
    try:
        addresses.check(body.url)
    except addresses.Refused as refused:
        raise Unprocessable(
            f"url: {refused}", title="Invalid request", errors=[{"loc": ["url"], "msg": str(refused)}]
        ) from None
    secret = signing.new_secret()
    row = (
        db.execute(
            insert(webhooks)
            .values(
                url=body.url,
                description=body.description,
                event_types=list(body.event_types),
                secret=secret,
                created_by=actor.user_id,
            )
            .returning(*_SHOWN)
        )
        .mappings()
        .one()
    )
    created = Webhook.model_validate(dict(row))
    audit.record(db, actor, "webhook.created", "webhook", created.id, after=_audited(created))
    db.commit()
    return WebhookWithSecret(**created.model_dump(), secret=secret)


def get(db: Connection, webhook_id: uuid.UUID) -> Webhook:
    row = db.execute(select(*_SHOWN).where(webhooks.c.id == webhook_id)).mappings().first()
    if row is None:
        raise NotFound("No such webhook.")
    return Webhook.model_validate(dict(row))


def list_webhooks(db: Connection, *, limit: int, cursor: str | None) -> Page[Webhook]:
    after = keyset(cursor, lambda created_at, last_id: (parse_instant(created_at), uuid.UUID(last_id)))
    query = select(*_SHOWN).order_by(webhooks.c.created_at, webhooks.c.id).limit(limit + 1)
    if after is not None:
        query = query.where(after_key(webhooks.c.created_at, webhooks.c.id, after))
    rows = db.execute(query).mappings().all()
    return page(
        rows,
        limit,
        lambda row: Webhook.model_validate(dict(row)),
        lambda row: (row["created_at"].isoformat(), row["id"]),
    )


def delete_webhook(db: Connection, webhook_id: uuid.UUID, actor: audit.Actor) -> None:
    """Delete a webhook and its deliveries (those not sent yet are never sent)."""
    row = (
        db.execute(delete(webhooks).where(webhooks.c.id == webhook_id).returning(*_SHOWN)).mappings().first()
    )
    if row is None:
        raise NotFound("No such webhook.")
    audit.record(
        db,
        actor,
        "webhook.deleted",
        "webhook",
        webhook_id,
        before=_audited(Webhook.model_validate(dict(row))),
    )
    db.commit()


def rotate_secret(
    db: Connection, webhook_id: uuid.UUID, actor: audit.Actor, now: datetime | None = None
) -> WebhookWithSecret:
    """A new secret; the current one keeps signing deliveries (a second signature) for a day."""
    secret = signing.new_secret()
    until = (now or datetime.now(UTC)) + ROTATION_OVERLAP
    row = (
        db.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id)
            .values(secret=secret, previous_secret=webhooks.c.secret, previous_secret_until=until)
            .returning(*_SHOWN)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("No such webhook.")
    audit.record(
        db,
        actor,
        "webhook.secret_rotated",
        "webhook",
        webhook_id,
        after={"previous_secret_until": until.isoformat()},
    )
    db.commit()
    return WebhookWithSecret(**Webhook.model_validate(dict(row)).model_dump(), secret=secret)


def send_test(db: Connection, webhook_id: uuid.UUID, actor: audit.Actor) -> Delivery:
    """A `WebhookTest` delivery, due at once: the webhooks function attempts it within a second or two
    (retried like any other if it fails); the answer is the delivery, pending."""
    get(db, webhook_id)
    delivery_id = delivery.create_test(db, webhook_id)
    delivery.ask_for_attempt(db, webhook_id, delivery_id)
    db.commit()
    return _delivery(db, webhook_id, delivery_id)


def list_deliveries(
    db: Connection, webhook_id: uuid.UUID, *, state: DeliveryState | None, limit: int, cursor: str | None
) -> Page[Delivery]:
    """The webhook's deliveries, newest first; `state="dead"`: its dead-letter store."""
    get(db, webhook_id)
    after = keyset(cursor, lambda created_at, last_id: (parse_instant(created_at), uuid.UUID(last_id)))
    query = (
        select(webhook_deliveries)
        .where(webhook_deliveries.c.webhook_id == webhook_id)
        .order_by(webhook_deliveries.c.created_at.desc(), webhook_deliveries.c.id.desc())
        .limit(limit + 1)
    )
    if state is not None:
        query = query.where(webhook_deliveries.c.state == state)
    if after is not None:
        query = query.where(
            after_key(webhook_deliveries.c.created_at, webhook_deliveries.c.id, after, descending=True)
        )
    rows = db.execute(query).mappings().all()
    return page(
        rows,
        limit,
        lambda row: Delivery.model_validate(dict(row)),
        lambda row: (row["created_at"].isoformat(), row["id"]),
    )


def replay(db: Connection, webhook_id: uuid.UUID, delivery_id: uuid.UUID, actor: audit.Actor) -> Delivery:
    """Send a finished delivery (a dead one, typically) again, with the same `webhook-id`: pending, due
    at once, attempted by the webhooks function and retried like a new one if it fails. 409 for one
    still pending: it is being tried already."""
    row = delivery.replay(db, webhook_id, delivery_id)
    if row is None:
        _delivery(db, webhook_id, delivery_id)  # 404 when the webhook has no such delivery
        raise Conflict(
            "This delivery is still being tried; replay it once it is dead or delivered.",
            title="Delivery pending",
        )
    audit.record(
        db,
        actor,
        "webhook.delivery_replayed",
        "webhook",
        webhook_id,
        after={"delivery_id": str(delivery_id), "message_id": row["message_id"]},
    )
    delivery.ask_for_attempt(db, webhook_id, delivery_id)
    db.commit()
    return Delivery.model_validate(dict(row))


def _delivery(db: Connection, webhook_id: uuid.UUID, delivery_id: uuid.UUID) -> Delivery:
    row = (
        db.execute(
            select(webhook_deliveries).where(
                webhook_deliveries.c.id == delivery_id, webhook_deliveries.c.webhook_id == webhook_id
            )
        )
        .mappings()
        .first()
    )
    if row is None:  # the webhook went meanwhile
        raise NotFound("No such delivery of this webhook.")
    return Delivery.model_validate(dict(row))


def _audited(webhook: Webhook) -> dict[str, Any]:
    return webhook.model_dump(mode="json", include={"url", "description", "event_types"})
