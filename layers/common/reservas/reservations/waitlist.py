"""The waitlist: a person turned away from a time waits for exactly that interval. When time frees up in
a space (a cancellation, a release, an expiry, a decline, a move), its waiting entries are tried first
come, first served: the first whose whole interval is now free and valid is booked for its person,
under the same rules as any booking, and the others wait on. Entries expire at their interval's start.

Promotion books through the booking service with an Idempotency-Key of the entry's own, so that two
promotions of one entry at once (EventBridge may deliver an event twice) book it once; the exclusion
constraint decides between a promotion and anyone booking by hand, and the loser moves on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)

from reservas import audit, events
from reservas.accounts import repository as accounts
from reservas.accounts.schemas import User
from reservas.errors import Conflict, NotFound, Problem, Unprocessable
from reservas.reservations import repository, service
from reservas.reservations.schemas import BookingRequest, WaitlistEntry
from reservas.tables import holds, reservations, spaces, waitlist

MOST_WAITING = 10  # entries one person waits with at once
MOST_TRIED = 50  # entries one promotion looks at: the first ones come first


def _entry(row: dict[str, Any]) -> WaitlistEntry:
    if row["promoted_at"] is not None:
        status = "promoted"
    elif row["start_time"] <= datetime.now(UTC):
        status = "expired"
    else:
        status = "waiting"
    return WaitlistEntry.model_validate({**row, "status": status})


_waiting = and_(waitlist.c.promoted_at.is_(None), waitlist.c.start_time > func.now())
_MINUTE: ColumnElement[Any] = literal_column("interval '1 minute'")
# Nothing holds the entry's interval (with the space's buffers) now: only such entries are worth trying,
# so that entries still blocked never stand in front of one whose time freed.
_now_free = ~(
    select(holds.c.id)
    .where(
        holds.c.space_id == waitlist.c.space_id,
        holds.c.during.op("&&")(
            func.tstzrange(
                waitlist.c.start_time - spaces.c.buffer_before_minutes * _MINUTE,
                waitlist.c.end_time + spaces.c.buffer_after_minutes * _MINUTE,
            )
        ),
        or_(holds.c.lapses_at.is_(None), holds.c.lapses_at > func.now()),
    )
    .exists()
)
# The person booked the interval themselves after joining: the entry has done its work.
_booked_since = (
    select(reservations.c.id)
    .where(
        reservations.c.user_id == waitlist.c.user_id,
        reservations.c.space_id == waitlist.c.space_id,
        reservations.c.start_time <= waitlist.c.start_time,
        reservations.c.end_time >= waitlist.c.end_time,
        reservations.c.created_at > waitlist.c.created_at,
    )
    .exists()
)


def join(db: Connection, user: User, request: BookingRequest) -> WaitlistEntry:
    """Wait for exactly this interval, which must follow the space's booking rules; joining again for
    the same interval answers the same entry."""
    space = service.bookable_space(db, request.space_id)
    service.refuse_if(service.interval_problems(space, request))
    if not service.held_around(db, space, request.start_time, request.end_time):
        raise Conflict("This time is free: book it instead of waiting.", title="Free")
    if repository.holds_time(db, user.id, space.id, request.start_time, request.end_time):
        raise Conflict("You already hold part of this time.", title="Yours already")
    same = (
        db.execute(
            select(waitlist).where(
                _waiting,
                waitlist.c.user_id == user.id,
                waitlist.c.space_id == space.id,
                waitlist.c.start_time == request.start_time,
                waitlist.c.end_time == request.end_time,
            )
        )
        .mappings()
        .first()
    )
    if same is not None:
        return _entry(dict(same))
    repository.lock_user(db, user.id)  # the limit on waiting entries holds under concurrency
    waiting = db.execute(select(func.count()).where(_waiting, waitlist.c.user_id == user.id)).scalar_one()
    if waiting >= MOST_WAITING:
        raise Unprocessable(f"You already wait for {MOST_WAITING} intervals, the most allowed.")
    row = (
        db.execute(
            insert(waitlist)
            .values(
                user_id=user.id,
                space_id=space.id,
                start_time=request.start_time,
                end_time=request.end_time,
                attendees=request.attendees,
                notes=request.notes,
            )
            .returning(waitlist)
        )
        .mappings()
        .one()
    )
    db.commit()
    return _entry(dict(row))


def mine(db: Connection, user: User) -> list[WaitlistEntry]:
    """The person's entries whose interval has not started, by start."""
    rows = db.execute(
        select(waitlist)
        .where(waitlist.c.user_id == user.id, waitlist.c.start_time > func.now())
        .order_by(waitlist.c.start_time, waitlist.c.id)
        .limit(MOST_WAITING * 10)
    ).mappings()
    return [_entry(dict(row)) for row in rows]


def leave(db: Connection, user: User, entry_id: uuid.UUID) -> None:
    gone = db.execute(
        delete(waitlist)
        .where(waitlist.c.id == entry_id, waitlist.c.user_id == user.id)
        .returning(waitlist.c.id)
    ).first()
    if gone is None:
        raise NotFound("No waitlist entry of yours has this id.")
    db.commit()


def promote(db: Connection, space_id: uuid.UUID) -> list[WaitlistEntry]:
    """Book, first come first served, the waiting entries of the space whose interval is now free and
    valid; the entries promoted."""
    candidates = (
        db.execute(
            select(waitlist)
            .join(spaces, spaces.c.id == waitlist.c.space_id)
            .where(_waiting, waitlist.c.space_id == space_id, _now_free, ~_booked_since)
            .order_by(waitlist.c.created_at, waitlist.c.id)
            .limit(MOST_TRIED)
        )
        .mappings()
        .all()
    )
    db.rollback()
    promoted = []
    for candidate in candidates:
        entry = _book_for(db, dict(candidate))
        if entry is not None:
            promoted.append(entry)
    return promoted


def _book_for(db: Connection, candidate: dict[str, Any]) -> WaitlistEntry | None:
    person = accounts.find_user_by_id(db, candidate["user_id"])
    if person is None:
        return None
    request = BookingRequest(
        space_id=candidate["space_id"],
        start_time=candidate["start_time"],
        end_time=candidate["end_time"],
        attendees=candidate["attendees"],
        notes=candidate["notes"],
    )
    try:
        booked = service.book(
            db,
            User.model_validate(dict(person)),
            request,
            f"waitlist:{candidate['id']}",
            actor=audit.OPERATOR,
        )
    except Problem:  # taken, no longer valid, or past the person's cap: it waits on
        db.rollback()
        return None
    row = (
        db.execute(
            update(waitlist)
            .where(waitlist.c.id == candidate["id"], waitlist.c.promoted_at.is_(None))
            .values(reservation_id=booked.reservation.id, promoted_at=func.now())
            .returning(waitlist)
        )
        .mappings()
        .first()
    )
    if row is None:  # another promotion of this entry marked it (and announced it) first
        db.rollback()
        return None
    entry = _entry(dict(row))
    events.record(
        db,
        events.WAITLIST_PROMOTED,
        entry.id,
        {**entry.model_dump(mode="json"), "user_id": str(row["user_id"])},
    )
    db.commit()
    return entry
