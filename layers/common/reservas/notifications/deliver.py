"""Turn an event into the email it calls for, sent once per event and person.

A delivery is claimed (a row of `deliveries`, keyed by the outbox event's own id and the person) in the
transaction that sends it: EventBridge delivering the event twice, or the outbox publishing it again,
finds the claim and sends nothing; a send that fails undoes the claim, so a retry sends it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.postgresql import insert

from reservas import events, mail
from reservas.accounts import repository, verification
from reservas.notifications import account_mail
from reservas.observability import logger
from reservas.settings import get_settings
from reservas.tables import deliveries

KINDS = {
    events.VERIFICATION_REQUESTED: "verify",
    events.PASSWORD_RESET_REQUESTED: "reset",
    events.ADDRESS_ALREADY_REGISTERED: "address-taken",
}


def deliver(db: Connection, event_type: str, detail: dict[str, Any]) -> int:
    """Send what the event calls for; how many messages were sent."""
    kind = KINDS.get(event_type)
    try:
        event_id = int(detail["event_id"])
        user_id = uuid.UUID(str(detail["user_id"]))
    except (KeyError, TypeError, ValueError):
        logger.warning("an event the notifier cannot read", extra={"type": event_type})
        return 0
    if kind is None or not _claim(db, event_id, user_id, kind):
        db.rollback()
        return 0
    user = repository.find_user_by_id(db, user_id)
    message = None if user is None else _message(db, kind, user, detail)
    if message is None:
        db.commit()  # nothing to send, and never will be for this event
        return 0
    mail.send(message)
    db.commit()
    return 1


def _message(db: Connection, kind: str, user: Any, detail: dict[str, Any]) -> Any:
    if kind == "address-taken":
        if _sent_lately(db, user["id"], kind) >= get_settings().account_mails_per_hour:
            return None
        return account_mail.message(kind, user["email"], user["name"], user["preferences"])
    try:
        token_id = uuid.UUID(str(detail["token_id"]))
    except (KeyError, ValueError):
        return None
    issued = verification.issue(db, token_id)
    if issued is None:
        return None
    row, token = issued
    return account_mail.message(kind, row["email"], user["name"], user["preferences"], token)


def _claim(db: Connection, event_id: int, user_id: uuid.UUID, kind: str) -> bool:
    claimed = db.execute(
        insert(deliveries)
        .values(event_id=event_id, user_id=user_id, kind=kind)
        .on_conflict_do_nothing()
        .returning(deliveries.c.event_id)
    ).first()
    return claimed is not None


def _sent_lately(db: Connection, user_id: uuid.UUID, kind: str) -> int:
    """Messages of this kind sent to the person in the last hour, this one's claim excluded."""
    count: int = db.execute(
        select(func.count()).where(
            deliveries.c.user_id == user_id,
            deliveries.c.kind == kind,
            deliveries.c.sent_at > func.now() - timedelta(hours=1),
        )
    ).scalar_one()
    return count - 1
