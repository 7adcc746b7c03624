"""Turn an event into the email it calls for, sent once per event and person.

A delivery is claimed (a row of `deliveries`, keyed by the outbox event's own id and the person) in the
transaction that sends it: EventBridge delivering the event twice, or the outbox publishing it again,
finds the claim and sends nothing; a send that fails undoes the claim, so a retry sends it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, exists, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from reservas import events, mail
from reservas.accounts import repository, verification
from reservas.notifications import account_mail, booking_mail
from reservas.observability import logger
from reservas.settings import get_settings
from reservas.tables import deliveries, reminders, reservations

KINDS = {
    events.VERIFICATION_REQUESTED: "verify",
    events.PASSWORD_RESET_REQUESTED: "reset",
    events.ADDRESS_ALREADY_REGISTERED: "address-taken",
}


def deliver(db: Connection, event_type: str, detail: dict[str, Any]) -> int:
    """Send what the event calls for; how many messages were sent."""
    try:
        event_id = int(detail["event_id"])
        if event_type not in KINDS:
            return _deliver_booking_notice(db, event_type, detail, event_id)
        user_id = uuid.UUID(str(detail["user_id"]))
    except (KeyError, TypeError, ValueError):
        db.rollback()
        logger.warning("an event the notifier cannot read", extra={"type": event_type})
        return 0
    kind = KINDS[event_type]
    user = repository.find_user_by_id(db, user_id)
    if user is None:  # left meanwhile
        db.rollback()
        return 0
    # One person's messages of one kind take turns, so that the hourly cap counts every one of them.
    db.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"mail:{user_id}:{kind}"))))
    if not _claim(db, event_id, user_id, kind):
        db.rollback()
        return 0
    message = _message(db, kind, user, detail)
    if message is None:
        db.commit()  # nothing to send, and never will be for this event
        return 0
    mail.send(message)
    db.commit()
    return 1


def _deliver_booking_notice(db: Connection, event_type: str, detail: dict[str, Any], event_id: int) -> int:
    """A booking's message to its booker, if they want it and their address is verified."""
    notice = booking_mail.notice_for(db, event_type, detail, sequence=event_id)
    if notice is None:
        db.rollback()
        return 0
    return _send_notice(db, notice, lambda user_id: _claim(db, event_id, user_id, notice.kind))


def send_reminders(db: Connection, until: float | None = None) -> int:
    """Remind people of their bookings that start within `reminder_minutes`, once per booking and
    start; never of one that is not active when the message goes (its row is held while it goes, so a
    cancellation waits for it), nor of one booked within that time (its booker knows). A message that
    cannot be sent is left for the next run and does not hold up the others; no new one begins after
    `until` (a `time.monotonic()`)."""
    lead = timedelta(minutes=get_settings().reminder_minutes)
    sent = 0
    failed: set[uuid.UUID] = set()
    while until is None or time.monotonic() < until:
        due = (
            select(reservations)
            .where(
                reservations.c.status == "active",
                reservations.c.user_id.is_not(None),
                reservations.c.start_time > func.now(),
                reservations.c.start_time <= func.now() + lead,
                reservations.c.created_at < reservations.c.start_time - lead,
                ~exists().where(
                    reminders.c.reservation_id == reservations.c.id,
                    reminders.c.start_time == reservations.c.start_time,
                ),
            )
            .order_by(reservations.c.start_time)
            .limit(1)
            .with_for_update(key_share=True, skip_locked=True)
        )
        if failed:
            due = due.where(reservations.c.id.not_in(failed))
        row = db.execute(due).mappings().first()
        if row is None:
            break
        taken = db.execute(
            insert(reminders)
            .values(reservation_id=row["id"], start_time=row["start_time"])
            .on_conflict_do_nothing()
            .returning(reminders.c.reservation_id)
        ).first()
        if taken is None:  # another run reminded of it meanwhile
            db.rollback()
            continue
        try:
            sent += _send_notice(db, booking_mail.reminder(row), lambda user_id: True)
        except Exception:
            db.rollback()
            failed.add(row["id"])
            logger.exception("a reminder is left for the next run", extra={"reservation_id": str(row["id"])})
    db.rollback()
    return sent


def _send_notice(db: Connection, notice: booking_mail.Notice, claim: Callable[[uuid.UUID], bool]) -> int:
    """Send a notice to its booker if they want it and `claim` (once per person) allows; commits."""
    user = repository.find_user_by_id(db, notice.user_id)
    space = booking_mail.space_of(db, notice.space_id)
    if user is None or space is None or not wants(user, notice.kind) or not claim(user["id"]):
        db.commit()  # nothing to send for it, now or later
        return 0
    mail.send(booking_mail.compose(notice, user, space, get_settings().mail_from or ""))
    db.commit()
    return 1


def wants(user: Any, kind: str) -> bool:
    """Only a verified address gets booking messages, and only the kinds its person has not turned off
    (`preferences.notifications.<kind>: false`)."""
    if user["email_verified_at"] is None:
        return False
    chosen = user["preferences"].get("notifications")
    return not (isinstance(chosen, dict) and chosen.get(kind) is False)


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
    if row["password_hash"] is not None:  # a registration's link: in its own name and language
        return account_mail.message(kind, row["email"], row["name"], {"locale": row["locale"]}, token)
    return account_mail.message(kind, row["email"], user["name"], user["preferences"], token)


def _claim(db: Connection, event_id: int, user_id: uuid.UUID, kind: str) -> bool:
    """Whether this delivery is this transaction's to send: not sent before, and its person still here."""
    try:
        with db.begin_nested():
            claimed = db.execute(
                insert(deliveries)
                .values(event_id=event_id, user_id=user_id, kind=kind)
                .on_conflict_do_nothing()
                .returning(deliveries.c.event_id)
            ).first()
    except IntegrityError:  # the person left meanwhile
        return False
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
