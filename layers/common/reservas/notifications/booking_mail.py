"""The messages about bookings, each with its calendar invitation, in the person's language and the
space's time zone. `notice_for` reads what an event means for its booker; `compose` writes the message.

Kinds (a person turns one off with `preferences.notifications.<kind>: false`): confirmed, pending,
approved, declined, expired, changed, cancelled, released, promoted, reminder."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from reservas import events
from reservas.notifications.account_mail import locale_of
from reservas.notifications.invitation import Method, Occasion, calendar, of_booking, recurring, uid_of
from reservas.tables import idempotency_keys, reservations, series, spaces, waitlist

KINDS = (
    "confirmed",
    "pending",
    "approved",
    "declined",
    "expired",
    "changed",
    "cancelled",
    "released",
    "promoted",
    "reminder",
)
CANCELLING = {"declined", "expired", "cancelled", "released"}


@dataclass
class Notice:
    """What an event tells a booker: the kind of message, about which bookings, and why."""

    kind: str
    user_id: uuid.UUID
    space_id: uuid.UUID
    occasions: list[Occasion]
    start: datetime  # of the booking, or a series' first occurrence
    end: datetime
    sequence: int
    reason: str = ""
    count: int = 1  # occurrences, for a series
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def method(self) -> Method:
        return "CANCEL" if self.kind in CANCELLING else "REQUEST"


def notice_for(db: Connection, event_type: str, detail: dict[str, Any], sequence: int) -> Notice | None:
    """What the event means for its booker; None when it calls for no message (a booking made for a
    waitlist entry: the promotion's own message says it)."""
    if event_type in SERIES_EVENTS:
        return _series_notice(db, event_type, detail, sequence)
    kind = _booking_kind(event_type, detail)
    if kind is None or detail.get("user_id") is None:
        return None
    reservation_id = uuid.UUID(str(detail.get("reservation_id") or detail["id"]))
    if kind == "confirmed" and _promoted(db, reservation_id, detail["user_id"]):
        return None
    row = db.execute(select(reservations).where(reservations.c.id == reservation_id)).mappings().first()
    if row is None:
        return None
    start, end = _instant(detail["start_time"]), _instant(detail["end_time"])
    # As the event saw it: its times and whether it waited for approval.
    occasion = of_booking(row, "TENTATIVE" if detail.get("status") == "pending" else "CONFIRMED")
    occasion.start, occasion.end = start, end
    return Notice(
        kind=kind,
        user_id=uuid.UUID(str(detail["user_id"])),
        space_id=uuid.UUID(str(detail["space_id"])),
        occasions=[occasion],
        start=start,
        end=end,
        sequence=sequence,
        reason=_reason(kind, detail),
        facts={
            "check_in_by": detail.get("check_in_by"),
            "decide_by": detail.get("decide_by"),
            "cause": detail.get("cause"),
        },
    )


def _reason(kind: str, detail: dict[str, Any]) -> str:
    """Why, as the message tells it: an approver's words for a decision, a cancellation's own reason
    (a closure's words). Never a note left by an earlier step."""
    if kind in ("approved", "declined"):
        return str(detail.get("decision_reason") or "")
    if kind == "cancelled":
        return str(detail.get("reason") or "")
    return ""


def reminder(row: Any) -> Notice:
    """A reminder of an active booking (a reservations row). It carries no invitation: it changes
    nothing, and an invitation needs a SEQUENCE no lower than the booking's last change."""
    occasion = of_booking(row)
    return Notice(
        kind="reminder",
        user_id=row["user_id"],
        space_id=row["space_id"],
        occasions=[occasion],
        start=row["start_time"],
        end=row["end_time"],
        sequence=0,
        facts={"check_in_by": row["check_in_by"]},
    )


SERIES_EVENTS = {
    events.SERIES_BOOKED,
    events.SERIES_CANCELLED,
    events.SERIES_APPROVED,
    events.SERIES_DECLINED,
    events.SERIES_EXPIRED,
}
ENDING_SERIES = {
    events.SERIES_CANCELLED: "cancelled",
    events.SERIES_DECLINED: "declined",
    events.SERIES_EXPIRED: "expired",
}


def _booking_kind(event_type: str, detail: dict[str, Any]) -> str | None:
    if event_type == events.RESERVATION_CREATED:
        return "pending" if detail.get("status") == "pending" else "confirmed"
    return {
        events.RESERVATION_CHANGED: "changed",
        events.RESERVATION_CANCELLED: "cancelled",
        events.RESERVATION_RELEASED: "released",
        events.RESERVATION_EXPIRED: "expired",
        events.RESERVATION_APPROVED: "approved",
        events.RESERVATION_DECLINED: "declined",
        events.WAITLIST_PROMOTED: "promoted",
    }.get(event_type)


def _promoted(db: Connection, reservation_id: uuid.UUID, user_id: object) -> bool:
    """Whether the waitlist booked it: the promotion books with the Idempotency-Key `waitlist:<entry>`,
    kept in the booking's own transaction (the entry itself is marked a moment later, in another; and
    the key is forgotten after a day, when the entry says it)."""
    by_key = db.execute(
        select(idempotency_keys.c.key).where(
            idempotency_keys.c.user_id == uuid.UUID(str(user_id)),
            idempotency_keys.c.key.startswith("waitlist:"),
            idempotency_keys.c.response_body["id"].as_string() == str(reservation_id),
        )
    ).first()
    by_entry = db.execute(select(waitlist.c.id).where(waitlist.c.reservation_id == reservation_id)).first()
    return by_key is not None or by_entry is not None


def _series_notice(db: Connection, event_type: str, detail: dict[str, Any], sequence: int) -> Notice | None:
    series_id = uuid.UUID(str(detail.get("series_id") or detail["id"]))
    row = db.execute(select(series).where(series.c.id == series_id)).mappings().first()
    if row is None or row["user_id"] is None:
        return None
    listed = detail.get("occurrences") or detail.get("cancelled") or []
    named = {str(o["id"]) for o in listed if isinstance(o, dict) and "id" in o}
    every = (
        db.execute(
            select(reservations)
            .where(reservations.c.series_id == series_id)
            .order_by(reservations.c.recurrence_id)
        )
        .mappings()
        .all()
    )
    concerned = [o for o in every if str(o["id"]) in named]
    if not concerned:
        return None
    first = concerned[0]
    uid = uid_of("series", series_id)
    if event_type in (events.SERIES_BOOKED, events.SERIES_APPROVED):
        if event_type == events.SERIES_APPROVED:
            kind = "approved"
        else:
            kind = "pending" if first["status"] == "pending" else "confirmed"
        held = [o for o in every if o["status"] in ("active", "pending", "completed")]
        if not held:  # all gone before this was delivered: their own messages say so
            return None
        occasions = _recurring(db, row, held, uid)
    else:  # cancelled, declined or expired: those instances, each by its RECURRENCE-ID
        kind = ENDING_SERIES[event_type]
        occasions = [of_booking(o) for o in concerned]
    return Notice(
        kind=kind,
        user_id=row["user_id"],
        space_id=row["space_id"],
        occasions=occasions,
        start=first["start_time"],
        end=first["end_time"],
        sequence=sequence,
        reason=_reason(kind, {**detail, "decision_reason": first["decision_reason"]}),
        count=len(concerned),
        facts={"decide_by": first["decide_by"], "cause": detail.get("cause")},
    )


def _recurring(db: Connection, row: Any, held: list[Any], uid: str) -> list[Occasion]:
    zone = ZoneInfo(db.execute(select(spaces.c.timezone).where(spaces.c.id == row["space_id"])).scalar_one())
    return recurring(row["rule"], held, uid, zone)


def _instant(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


# ---------------------------------------------------------------- the message

TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    # kind: (subject, first paragraph); {what} is the space, {when} the date and time
    "en": {
        "confirmed": ("Booked: {what}, {when}", "Your booking is confirmed."),
        "pending": (
            "Waiting for approval: {what}, {when}",
            "Your booking waits for an approver; the time is held for you meanwhile.",
        ),
        "approved": ("Approved: {what}, {when}", "Your booking was approved."),
        "declined": ("Declined: {what}, {when}", "Your booking was declined."),
        "expired": (
            "Not approved in time: {what}, {when}",
            "Nobody decided on your booking in time, so its time was freed.",
        ),
        "changed": ("Changed: {what}, {when}", "Your booking was changed. It is now:"),
        "cancelled": ("Cancelled: {what}, {when}", "Your booking was cancelled."),
        "released": (
            "Released: {what}, {when}",
            "Nobody checked in in time, so the space was released for others.",
        ),
        "promoted": (
            "From the waitlist: {what}, {when}",
            "The time you were waiting for came free, and it is booked for you.",
        ),
        "reminder": ("Reminder: {what}, {when}", "A reminder of your booking."),
    },
    "es": {
        "confirmed": ("Reservado: {what}, {when}", "Tu reserva está confirmada."),
        "pending": (
            "Pendiente de aprobación: {what}, {when}",
            "Tu reserva espera la decisión de un aprobador; mientras tanto el tiempo es tuyo.",
        ),
        "approved": ("Aprobada: {what}, {when}", "Tu reserva ha sido aprobada."),
        "declined": ("Rechazada: {what}, {when}", "Tu reserva ha sido rechazada."),
        "expired": (
            "Sin aprobar a tiempo: {what}, {when}",
            "Nadie decidió sobre tu reserva a tiempo, así que su tiempo quedó libre.",
        ),
        "changed": ("Cambiada: {what}, {when}", "Tu reserva ha cambiado. Ahora es:"),
        "cancelled": ("Cancelada: {what}, {when}", "Tu reserva ha sido cancelada."),
        "released": (
            "Liberada: {what}, {when}",
            "Nadie hizo el check-in a tiempo, así que el espacio quedó libre para otros.",
        ),
        "promoted": (
            "Desde la lista de espera: {what}, {when}",
            "El tiempo que esperabas quedó libre y está reservado para ti.",
        ),
        "reminder": ("Recordatorio: {what}, {when}", "Un recordatorio de tu reserva."),
    },
}
WORDS = {
    "en": {
        "space": "Space",
        "when": "When",
        "reason": "Reason",
        "series": "Occurrences",
        "hello": "Hello {name},",
        "check_in": "Check in by",
        "decide_by": "Decided by",
        "closure": "the space is closed then",
    },
    "es": {
        "space": "Espacio",
        "when": "Cuándo",
        "reason": "Motivo",
        "series": "Sesiones",
        "hello": "Hola, {name}:",
        "check_in": "Haz el check-in antes de",
        "decide_by": "Se decide antes de",
        "closure": "el espacio está cerrado entonces",
    },
}


def compose(notice: Notice, user: Any, space: Any, sender: str) -> EmailMessage:
    """The message to the booker: text in their language, times in the space's zone with its name, and
    the invitation as iMIP (text/calendar with its METHOD, as the message's alternative)."""
    from babel.dates import format_date, format_datetime, format_time, get_timezone_name

    locale = locale_of(user["preferences"])
    zone = space["timezone"]
    subject, opening = TEXTS[locale][notice.kind]
    words = WORDS[locale]
    start = notice.start.astimezone(_zone(zone))
    end = notice.end.astimezone(_zone(zone))
    day = format_date(start, "full", locale=locale)  # "Wednesday, December 2, 2026", "miércoles, 2 de ..."
    hours = f"{format_time(start, 'HH:mm', locale=locale)} - {format_time(end, 'HH:mm', locale=locale)}"
    zone_name = get_timezone_name(start, width="long", locale=locale)
    when = f"{day}, {hours} ({zone_name}, {zone})"
    what = space["name"] + (f" — {space['location']}" if space["location"] else "")
    lines = [
        words["hello"].format(name=user["name"]),
        "",
        opening,
        "",
        f"{words['space']}: {what}",
        f"{words['when']}: {when}",
    ]
    if notice.count > 1:
        lines.append(f"{words['series']}: {notice.count}")
    reason = notice.reason or (words["closure"] if notice.facts.get("cause") == "closure" else "")
    if reason:
        lines.append(f"{words['reason']}: {reason}")
    for fact, label in (("check_in_by", "check_in"), ("decide_by", "decide_by")):
        value = notice.facts.get(fact)
        if value and notice.kind not in CANCELLING:
            moment = _instant(value).astimezone(_zone(zone))
            lines.append(f"{words[label]}: {format_datetime(moment, 'EEEE d MMMM, HH:mm', locale=locale)}")
    for occasion in notice.occasions:
        occasion.summary = space["name"]
        occasion.location = space["location"]
    mail = EmailMessage()
    mail["To"] = user["email"]
    mail["Subject"] = subject.format(
        what=space["name"], when=format_datetime(start, "d MMM, HH:mm", locale=locale)
    )
    mail.set_content("\n".join(lines) + "\n")
    if notice.kind == "reminder":
        return mail
    invitation = calendar(
        notice.method,
        notice.occasions,
        sequence=notice.sequence,
        zone=zone,
        organizer=sender,
        attendee=user["email"],
    )
    mail.add_alternative(invitation.decode(), subtype="calendar", params={"method": notice.method})
    return mail


def space_of(db: Connection, space_id: uuid.UUID) -> Any:
    return db.execute(select(spaces).where(spaces.c.id == space_id)).mappings().first()


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)
