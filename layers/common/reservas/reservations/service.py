"""The rules of booking: what may be booked, by whom, and what a refusal says.

PostgreSQL's exclusion constraint is what keeps two active reservations of a space from overlapping;
the checks here come first only so that a refusal can explain itself."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Connection
from sqlalchemy.engine import RowMapping
from sqlalchemy.sql.dml import UpdateBase

from reservas import audit, events
from reservas.accounts.schemas import User
from reservas.database import Contention, Overlap, commit_with, domain_errors, present
from reservas.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable
from reservas.money import Money, booking_cost, rounded
from reservas.pagination import Page, keyset, page
from reservas.reservations import idempotency, repository
from reservas.reservations.schemas import BookingChange, BookingRequest, Reservation, Suggestion
from reservas.settings import get_settings
from reservas.spaces import cache as spaces_cache
from reservas.spaces import calendar
from reservas.spaces import repository as spaces_repository
from reservas.spaces.rules import booking_problems
from reservas.spaces.schemas import LONGEST_BUFFER, HeldTime, Space
from reservas.timestamps import parse_instant

RETRIES = 3  # for deadlocks and serialization failures, which a second try resolves
SUGGESTIONS = 3


Outcome = TypeVar("Outcome")


@dataclass(frozen=True)
class Booked:
    reservation: Reservation
    replayed: bool  # the answer to an earlier request with the same Idempotency-Key


def to_reservation(row: RowMapping) -> Reservation:
    zone = ZoneInfo(row["timezone"])
    return Reservation(
        id=row["id"],
        user_id=row["user_id"],
        space_id=row["space_id"],
        start_time=row["start_time"].astimezone(zone),
        end_time=row["end_time"].astimezone(zone),
        status=row["status"],
        attendees=row["attendees"],
        notes=row["notes"],
        duration_minutes=int((row["end_time"] - row["start_time"]).total_seconds() // 60),
        cost=Money(amount=rounded(row["cost"], row["currency"]), currency=row["currency"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        cancelled_at=row["cancelled_at"],
        series_id=row["series_id"],
        check_in_by=_local(row["check_in_by"], zone),
        checked_in_at=row["checked_in_at"],
        released_at=row["released_at"],
        decide_by=_local(row["decide_by"], zone),
        decided_at=row["decided_at"],
        decision_reason=row["decision_reason"],
    )


def _local(instant: datetime | None, zone: ZoneInfo) -> datetime | None:
    return None if instant is None else instant.astimezone(zone)


def book(
    db: Connection,
    user: User,
    request: BookingRequest,
    idempotency_key: str | None = None,
    *,
    actor: audit.Actor,
) -> Booked:
    """Book, or explain why not."""

    def attempt() -> Booked:
        return retried(db, lambda: _book_once(db, user, request, idempotency_key, actor))

    try:
        return attempt()
    except Overlap:
        db.rollback()
    try:
        if released_in_the_way(db, request.space_id, request.start_time, request.end_time):
            return attempt()  # the time was held by bookings nobody checked in to
    except Overlap:
        db.rollback()
    raise _overlap(db, request) from None


def released_in_the_way(
    db: Connection, space_id: uuid.UUID, start: datetime, end: datetime, moving: uuid.UUID | None = None
) -> bool:
    """A write met held time: the bookings of the space around [start, end) that nobody checked in to
    in time (which read as free already) are released now, committed, waiting for those another
    transaction is releasing; whether [start, end) now reads free, so that the write may try again."""
    released = release_due(db, space_id=space_id, around=(start, end), wait=True)
    db.commit()
    if released:
        spaces_cache.bookings_changed(space_id)
    space = Space.model_validate(dict(present(spaces_repository.find_space(db, space_id))))
    return not held_around(db, space, start, end, moving)


def release_due(
    db: Connection,
    *,
    space_ids: list[uuid.UUID] | None = None,
    space_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    around: tuple[datetime, datetime] | None = None,
    wait: bool = False,
) -> list[Reservation]:
    """Release the bookings nobody checked in to by their check_in_by, and expire those nobody decided
    by their decide_by (of some spaces, around an interval, when given): each reads `released` or
    `expired`, frees the rest of its time, and is announced (ReservationReleased, ReservationExpired)
    and recorded as done by no one. With `wait`, rows another transaction holds
    are waited for (a write that needs the time), else skipped (the scheduled release). The caller
    commits."""
    if space_id is not None:
        space_ids = [space_id]
    if around is not None:  # what holds time around it, buffers included
        around = (around[0] - LONGEST_BUFFER, around[1] + LONGEST_BUFFER)
    ids = repository.release_lapsed(db, space_ids=space_ids, user_id=user_id, around=around, wait=wait)
    released = [to_reservation(row) for row in repository.find_all(db, ids)]
    no_shows = [r for r in released if r.status == "released"]  # each at its own check-in time
    expired = [r for r in released if r.status == "expired"]  # a series' occurrences together
    events.record_all(
        db,
        [(events.RESERVATION_RELEASED, r.id, r.model_dump(mode="json")) for r in no_shows]
        + announcements(expired, events.RESERVATION_EXPIRED, events.SERIES_EXPIRED),
    )
    entries = [
        audit.change_entry(
            f"reservation.{r.status}",
            "reservation",
            r.id,
            {"status": "pending" if r.status == "expired" else "active", "released_at": None},
            {"status": r.status, "released_at": r.model_dump(mode="json")["released_at"]},
            subject_id=r.user_id,
        )
        for r in released
    ]
    audit.record_all(db, audit.OPERATOR, [entry for entry in entries if entry is not None])
    return released


def retried(db: Connection, attempt: Callable[[], Outcome]) -> Outcome:
    """`attempt`, tried again after a deadlock or a serialization failure, which a second try resolves;
    the database's other refusals pass through as domain errors (database.domain_errors)."""
    for tries in range(1, RETRIES + 1):
        try:
            with domain_errors():
                return attempt()
        except Contention:
            db.rollback()
            if tries == RETRIES:
                raise Conflict("The space is busy with other bookings right now; try again.") from None
            time.sleep(random.uniform(0.01, 0.05) * tries)  # noqa: S311 (jitter, not security)
    raise AssertionError("unreachable")


def _book_once(
    db: Connection, user: User, request: BookingRequest, key: str | None, actor: audit.Actor
) -> Booked:
    # Five round trips with the access token's check: each statement below does all it can.
    # This user's bookings take turns (the limit on upcoming ones holds), then this space's; the
    # Idempotency-Key is claimed with the user's lock.
    asked = idempotency.request_hash(request.model_dump(mode="json")) if key is not None else ""
    if key is None:
        exists, claimed = repository.lock_user(db, user.id), True
    else:
        exists, claimed = repository.lock_user_claiming(
            db, user.id, idempotency.claiming(user.id, key, asked)
        )
    if not exists:
        raise Unauthorized("The account of this access token no longer exists.")
    if key is not None and not claimed:
        replay = idempotency.earlier(db, user.id, key, asked)
        db.rollback()
        return Booked(Reservation.model_validate(replay.body), replayed=True)
    space, holdings = space_and_holdings(db, request.space_id, user.id)
    refuse_if(interval_problems(space, request) + limit_problems(holdings))
    start, end = request.start_time, request.end_time
    row = repository.insert_reservation(
        db,
        {
            "user_id": user.id,
            "space_id": space.id,
            "start_time": start,
            "end_time": end,
            "attendees": request.attendees,
            "notes": request.notes,
            "cost": booking_cost(space.price_per_hour, space.currency, start, end),
            "currency": space.currency,
            **approval_terms(space, start),
        },
    )
    reservation = to_reservation(row)
    body = reservation.model_dump(mode="json")
    entry = audit.Entry("reservation.created", "reservation", reservation.id, user.id, None, body)
    also: list[UpdateBase] = [audit.recording(actor, entry)]
    if key is not None:
        also.append(idempotency.remembering(user.id, key, body))
    commit_with(
        db, lambda: events.record(db, events.RESERVATION_CREATED, reservation.id, body, together_with=also)
    )
    spaces_cache.bookings_changed(space.id)
    return Booked(reservation, replayed=False)


def approval_terms(space: Space, start: datetime) -> dict[str, Any]:
    """A booking of a space that requires approval starts pending, to be decided within
    RESERVAS_APPROVAL_HOURS and by its start at the latest."""
    if not space.requires_approval:
        return {}
    decide_by = min(datetime.now(UTC) + timedelta(hours=get_settings().approval_hours), start)
    return {"status": "pending", "decide_by": decide_by}


def bookable_space(db: Connection, space_id: uuid.UUID, *, lock: bool = False) -> Space:
    # Locked, bookings of one space take turns. Without it, two overlapping inserts each wait on the
    # other's row in the exclusion index, a deadlock PostgreSQL breaks only after deadlock_timeout.
    # The constraint still decides; the lock only spares that wait.
    return _active(spaces_repository.find_space(db, space_id, lock=lock))


def space_and_holdings(db: Connection, space_id: uuid.UUID, holder_id: uuid.UUID) -> tuple[Space, int]:
    """The space to book, locked as bookable_space(lock=True) does, and the upcoming holdings of the
    holder, whose row the caller holds (repository.lock_user)."""
    row = repository.space_to_book(db, space_id, holder_id)
    if row is None:
        return _active(None), 0
    values = dict(row)
    holdings: int = values.pop("holdings")
    return _active(values), holdings


def _active(row: Mapping[str, Any] | RowMapping | None) -> Space:
    if row is None or not row["is_active"]:
        raise Unprocessable(
            "No active space has this id.",
            errors=[{"loc": ["space_id"], "msg": "no active space has this id"}],
        )
    return Space.model_validate(dict(row))


Problems = list[tuple[list[str], str]]


def interval_problems(space: Space, request: BookingRequest) -> Problems:
    problems: Problems = [
        (["start_time"], problem)
        for problem in booking_problems(space, request.start_time, request.end_time, datetime.now(UTC))
    ]
    if request.attendees > space.capacity:
        problems.append((["attendees"], f"this space holds at most {space.capacity} people"))
    return problems


def holding_problems(db: Connection, user_id: uuid.UUID) -> Problems:
    """The cap on upcoming holdings (repository.count_active_future says what one is), for the holder
    of one more; the caller holds the holder's row (repository.lock_user)."""
    return limit_problems(repository.count_active_future(db, user_id))


def limit_problems(holdings: int) -> Problems:
    limit = get_settings().max_active_reservations
    if holdings >= limit:
        return [([], f"you already hold {limit} upcoming reservations, the most allowed")]
    return []


def refuse_if(problems: Problems) -> None:
    if problems:
        errors = [{"loc": loc, "msg": msg} for loc, msg in problems]
        detail = problems[0][1][0].upper() + problems[0][1][1:] + "."
        raise Unprocessable(detail, title="Booking refused", errors=errors)


def _overlap(
    db: Connection, request: BookingRequest, moving: uuid.UUID | None = None, *, suggest: bool = True
) -> Conflict:
    """A 409 that shows what is in the way and what could be booked instead (unless not `suggest`).
    For a booking being moved (`moving`), its own time is not in the way, and it moves within its space."""
    start, end = request.start_time, request.end_time
    space = Space.model_validate(dict(present(spaces_repository.find_space(db, request.space_id))))
    in_the_way = held_around(db, space, start, end, moving)
    suggestions = same_space_suggestions(db, space, start, end, moving) if suggest else []
    if moving is None:
        suggestions += _other_space_suggestions(db, space, request)
    db.rollback()
    closed = bool(in_the_way) and all(h.held_by == "closure" for h in in_the_way)
    return Conflict(
        f"The space is {'closed' if closed else 'already booked'} for part of that time.",
        title="Closed" if closed else "Already booked",
        conflicts=[c.model_dump(mode="json") for c in in_the_way],
        suggestions=[s.model_dump(mode="json") for s in suggestions],
    )


def held_around(
    db: Connection, space: Space, start: datetime, end: datetime, moving: uuid.UUID | None = None
) -> list[HeldTime]:
    """What holds the space's time where a booking of [start, end) would, its buffers included."""
    zone = ZoneInfo(space.timezone)
    held = spaces_repository.held_intervals(
        db,
        space.id,
        start - timedelta(minutes=space.buffer_before_minutes),
        end + timedelta(minutes=space.buffer_after_minutes),
        excluding=moving,
    )
    return [
        HeldTime(
            start_time=h.start.astimezone(zone),
            end_time=h.end.astimezone(zone),
            held_by="closure" if h.closed else "booking",
        )
        for h in held
    ]


def same_space_suggestions(
    db: Connection, space: Space, start: datetime, end: datetime, moving: uuid.UUID | None = None
) -> list[Suggestion]:
    """The nearest free intervals of the same length in this space, on the same local day."""
    from reservas.spaces import service as spaces_service  # a 409's suggestions: loaded when one comes

    zone = ZoneInfo(space.timezone)
    day = start.astimezone(zone).date()
    free = spaces_service.free_time(db, space, calendar.day_window(day, day, zone), excluding=moving)
    length, now = end - start, datetime.now(UTC)
    candidates = [
        point
        for interval in free
        for point in calendar.grid_points(interval, zone, space.slot_minutes)
        if point + length <= interval.end and not booking_problems(space, point, point + length, now)
    ]
    nearest = sorted(candidates, key=lambda point: (abs(point - start), point))[:SUGGESTIONS]
    return [
        Suggestion(space_id=space.id, start_time=p.astimezone(zone), end_time=(p + length).astimezone(zone))
        for p in sorted(nearest)
    ]


def _other_space_suggestions(db: Connection, space: Space, request: BookingRequest) -> list[Suggestion]:
    """Other spaces free for the very interval asked for, big enough for the party."""
    from reservas.spaces import service as spaces_service

    others = spaces_service.available_spaces(
        db,
        start=request.start_time,
        end=request.end_time,
        capacity_min=request.attendees,
        amenities=[],
        limit=SUGGESTIONS + 1,
        cursor=None,
    ).items
    return [
        Suggestion(space_id=other.id, start_time=request.start_time, end_time=request.end_time)
        for other in others
        if other.id != space.id
    ][:SUGGESTIONS]


def get(db: Connection, user: User, reservation_id: uuid.UUID) -> Reservation:
    """The owner's or, for admins and the managers of its space, anyone's; 404 for everyone else, so
    its existence stays private."""
    row = repository.find(db, reservation_id)
    if row is None or not (
        row["user_id"] == user.id or user.is_admin or repository.manages(db, user.id, row["space_id"])
    ):
        raise NotFound("No reservation of yours has this id.")
    return to_reservation(row)


def _own(db: Connection, user: User, reservation_id: uuid.UUID, *, lock: bool = False) -> RowMapping:
    """The reservation, when it is the user's or the user is an admin; 404 for anyone else."""
    row = repository.find(db, reservation_id, lock=lock)
    if row is None or (row["user_id"] != user.id and not user.is_admin):
        raise NotFound("No reservation of yours has this id.")
    return row


def _replay(db: Connection, user: User, key: str | None, asked: dict[str, Any]) -> Booked | None:
    """With an Idempotency-Key: the key is claimed for this request, or the answer to the earlier
    request that used it is given again (a 422 when that request asked something else)."""
    if key is None:
        return None
    replay = idempotency.claim(db, user.id, key, idempotency.request_hash(asked))
    if replay is None:
        return None
    db.rollback()
    return Booked(Reservation.model_validate(replay.body), replayed=True)


def cancel(db: Connection, user: User, reservation_id: uuid.UUID, *, actor: audit.Actor) -> Reservation:
    """Owners until the start, admins until the end. Cancelling again changes nothing."""
    row = _own(db, user, reservation_id, lock=True)
    if row["status"] == "cancelled":
        return to_reservation(row)
    if row["status"] == "completed":
        raise Conflict("This reservation has already taken place.", title="Already completed")
    if row["status"] == "released":
        raise Conflict("This reservation was released: nobody checked in to it.", title="Released")
    if row["status"] in ("declined", "expired"):
        raise Conflict(f"This reservation was {row['status']}: it holds no time.", title="Not held")
    if not user.is_admin and row["start_time"] <= datetime.now(UTC):
        raise Conflict("This reservation has already started; only an administrator can cancel it now.")
    before = to_reservation(row)
    reservation = _cancelled(db, before, repository.cancel(db, reservation_id), actor)
    db.commit()
    spaces_cache.bookings_changed(reservation.space_id)
    return reservation


def check_in(db: Connection, user: User, reservation_id: uuid.UUID, *, actor: audit.Actor) -> Reservation:
    """The owner (or an admin for them) checks in, from check_in_opens_minutes before the start until
    check_in_by; after that the booking is released. Checking in again changes nothing."""
    row = _own(db, user, reservation_id, lock=True)
    if row["checked_in_at"] is not None:
        return to_reservation(row)
    if row["status"] != "active":
        raise Conflict(
            f"This reservation is {row['status']}; only an active one takes a check-in.", title="Not active"
        )
    if row["check_in_by"] is None:
        raise Conflict("This booking's space does not ask for check-in.", title="No check-in needed")
    space = Space.model_validate(dict(present(spaces_repository.find_space(db, row["space_id"]))))
    opens = row["start_time"] - timedelta(minutes=space.check_in_opens_minutes)
    if datetime.now(UTC) < opens:
        local = opens.astimezone(ZoneInfo(space.timezone)).isoformat()
        raise Conflict(f"Check-in for this booking opens at {local}.", title="Check-in not open yet")
    before = to_reservation(row)
    repository.check_in(db, reservation_id)
    reservation = to_reservation(present(repository.find(db, reservation_id)))
    body = reservation.model_dump(mode="json")
    events.record(db, events.RESERVATION_CHECKED_IN, reservation.id, body)
    audit.record_change(
        db,
        actor,
        "reservation.checked_in",
        "reservation",
        reservation.id,
        before.model_dump(mode="json"),
        body,
        subject_id=reservation.user_id,
    )
    db.commit()
    return reservation


def decide(
    db: Connection,
    user: User,
    reservation_id: uuid.UUID,
    *,
    approve: bool,
    reason: str,
    actor: audit.Actor,
) -> Reservation:
    """An approver (an administrator, or a manager of the space) approves a pending booking, which then
    holds its time as any other, or declines it, which frees it. Deciding again the same way changes
    nothing."""
    row = repository.find(db, reservation_id, lock=True)
    if row is None or not (user.is_admin or repository.manages(db, user.id, row["space_id"])):
        raise NotFound("No booking you may decide has this id.")
    if row["user_id"] == user.id and not user.is_admin:
        raise Forbidden("Your own bookings are decided by another approver.")
    if not approve and not reason.strip():
        raise Unprocessable(
            "Say why the booking is declined.", errors=[{"loc": ["reason"], "msg": "required"}]
        )
    wanted = "active" if approve else "declined"
    decided_so = row["status"] == wanted or (approve and row["status"] == "completed")
    if row["decided_at"] is not None and decided_so:
        return to_reservation(row)
    if row["status"] != "pending":
        raise Conflict(
            f"This reservation is {row['status']}; only a pending one can be decided.", title="Not pending"
        )
    before = to_reservation(row)
    repository.decide(db, reservation_id, wanted, user.id, reason)
    reservation = to_reservation(present(repository.find(db, reservation_id)))
    body = reservation.model_dump(mode="json")
    event = events.RESERVATION_APPROVED if approve else events.RESERVATION_DECLINED
    events.record(db, event, reservation.id, body)
    audit.record_change(
        db,
        actor,
        "reservation.approved" if approve else "reservation.declined",
        "reservation",
        reservation.id,
        before.model_dump(mode="json"),
        body,
        subject_id=reservation.user_id,
    )
    db.commit()
    if not approve:
        spaces_cache.bookings_changed(reservation.space_id)
    return reservation


def check_in_with_code(
    db: Connection, user: User, space_id: uuid.UUID, code: str, *, actor: audit.Actor
) -> Reservation:
    """A person at the space, with its check-in code (its QR code), checks in to their booking there
    whose check-in is open; the same again changes nothing."""
    from reservas.spaces import check_in as codes

    if not codes.matches(db, space_id, code):
        raise NotFound("This is not the check-in code of a space (it may have been replaced).")
    space = Space.model_validate(dict(present(spaces_repository.find_space(db, space_id))))
    row = repository.to_check_in_to(db, user.id, space_id, space.check_in_opens_minutes)
    if row is None:
        raise NotFound("You have no booking here whose check-in is open now.", title="Nothing to check in to")
    return check_in(db, user, row["id"], actor=actor)


def change(
    db: Connection,
    user: User,
    reservation_id: uuid.UUID,
    request: BookingChange,
    idempotency_key: str | None = None,
    *,
    actor: audit.Actor,
) -> Booked:
    """Move, extend, shorten or end early a booking, or change its attendees or notes, in one
    transaction: it keeps its id, and its old time stays held unless the new time is secured (the
    exclusion constraint decides, as for a new booking)."""

    def attempt() -> Booked:
        return retried(db, lambda: _change_once(db, user, reservation_id, request, idempotency_key, actor))

    try:
        return attempt()
    except _TimeTaken as taken:
        db.rollback()  # the booking keeps its old time
        wanted, movable = taken.wanted, taken.movable
    try:
        if released_in_the_way(db, wanted.space_id, wanted.start_time, wanted.end_time, reservation_id):
            return attempt()  # the time was held by bookings nobody checked in to
    except _TimeTaken as taken:
        db.rollback()
        wanted, movable = taken.wanted, taken.movable
    raise _overlap(db, wanted, moving=reservation_id, suggest=movable)


class _TimeTaken(Exception):
    """The new time of a booking being changed is someone else's."""

    def __init__(self, wanted: BookingRequest, movable: bool) -> None:
        super().__init__("the new time is taken")
        self.wanted = wanted
        self.movable = movable  # False for a booking under way: it keeps its start, nothing to suggest


def _change_once(
    db: Connection,
    user: User,
    reservation_id: uuid.UUID,
    request: BookingChange,
    key: str | None,
    actor: audit.Actor,
) -> Booked:
    asked = {"reservation_id": str(reservation_id), **request.model_dump(mode="json", exclude_unset=True)}
    replayed = _replay(db, user, key, asked)
    if replayed is not None:
        return replayed
    row = _own(db, user, reservation_id, lock=True)
    if row["status"] != "active":
        raise Conflict(
            f"This reservation is {row['status']}; only an active one can change.", title="Not active"
        )
    before = to_reservation(row).model_dump(mode="json")
    start = request.start_time or row["start_time"]
    end = request.end_time or row["end_time"]
    attendees = request.attendees or row["attendees"]
    now = datetime.now(UTC)
    if row["start_time"] <= now and end < now:
        end = now  # a booking under way ends now at the earliest: ending it early frees the rest at once
    leaves_its_place = row["start_time"] == row["recurrence_id"] != start
    if leaves_its_place and row["user_id"] is not None:  # an occurrence moved off its rule's time
        repository.lock_user(db, row["user_id"])
        refuse_if(holding_problems(db, row["user_id"]))
    space = Space.model_validate(dict(present(spaces_repository.find_space(db, row["space_id"], lock=True))))
    refuse_if(_change_problems(space, row, start, end, attendees, now))
    values: dict[str, Any] = {
        "start_time": start,
        "end_time": end,
        "attendees": attendees,
        "notes": row["notes"] if request.notes is None else request.notes,
    }
    if (start, end) != (row["start_time"], row["end_time"]):  # a new time costs what the space asks now
        values["cost"] = booking_cost(space.price_per_hour, space.currency, start, end)
        values["currency"] = space.currency
    if not (row["start_time"] <= start and end <= row["end_time"]) and space.requires_approval:
        # Time beyond what was approved is approved again.
        values |= {
            **approval_terms(space, start),
            "decided_at": None,
            "decided_by": None,
            "decision_reason": "",
        }
    try:
        with domain_errors():
            changed_row = repository.change(db, reservation_id, values)
    except Overlap:
        wanted = BookingRequest(space_id=space.id, start_time=start, end_time=end, attendees=attendees)
        raise _TimeTaken(wanted, movable=row["start_time"] > now) from None
    reservation = to_reservation(changed_row)
    body = reservation.model_dump(mode="json")
    changed = audit.record_change(
        db,
        actor,
        "reservation.changed",
        "reservation",
        reservation.id,
        before,
        body,
        subject_id=reservation.user_id,
    )
    if changed:
        events.record(db, events.RESERVATION_CHANGED, reservation.id, {**body, "before": before})
    if key is not None:
        idempotency.remember(db, user.id, key, body)
    db.commit()
    spaces_cache.bookings_changed(space.id)
    return Booked(reservation, replayed=False)


def _change_problems(
    space: Space, row: RowMapping, start: datetime, end: datetime, attendees: int, now: datetime
) -> Problems:
    """The rules of a new booking for the new interval. A booking under way keeps its start, and
    ending it earlier is always allowed; a longer one follows the rules but for its start being past."""
    problems: Problems = []
    if attendees > space.capacity:
        problems.append((["attendees"], f"this space holds at most {space.capacity} people"))
    times_change = (start, end) != (row["start_time"], row["end_time"])
    if not times_change:
        return problems
    within_its_time = row["start_time"] <= start and end <= row["end_time"]
    if not space.is_active and not within_its_time:
        problems.append((["start_time"], "this space takes no new bookings: a booking may only shrink"))
    elif row["start_time"] > now:
        problems += [(["start_time"], problem) for problem in booking_problems(space, start, end, now)]
    elif start != row["start_time"]:
        problems.append((["start_time"], "a booking under way keeps its start time"))
    elif end > row["end_time"]:
        problems += [
            (["end_time"], problem)
            for problem in booking_problems(space, start, end, start)  # judged as of its start
        ]
    return problems


def _cancelled(db: Connection, before: Reservation, after: RowMapping, actor: audit.Actor) -> Reservation:
    """The reservation as cancelled, announced and recorded: what every cancellation shares."""
    reservation = to_reservation(after)
    body = reservation.model_dump(mode="json")
    events.record(db, events.RESERVATION_CANCELLED, reservation.id, body)
    audit.record_change(
        db,
        actor,
        "reservation.cancelled",
        "reservation",
        reservation.id,
        before.model_dump(mode="json"),
        body,
        subject_id=reservation.user_id,
    )
    return reservation


def release_bookings_of(db: Connection, user_id: uuid.UUID, *, actor: audit.Actor) -> set[uuid.UUID]:
    """For someone leaving: their upcoming reservations are cancelled and announced (see
    announce_cancelled) and the notes of all of them erased, in a few statements however many they
    hold; the spaces whose availability changed. The caller commits."""
    repository.erase_notes_of(db, user_id)
    ended = release_due(db, user_id=user_id, wait=True)  # no-shows and undecided ones end as such
    cancelled = announce_cancelled(db, repository.cancel_upcoming_of(db, user_id), actor=actor)
    return {reservation.space_id for reservation in [*ended, *cancelled]}


def cancel_together(
    db: Connection, reservation_ids: list[uuid.UUID], *, actor: audit.Actor, because: dict[str, Any]
) -> list[Reservation]:
    """Cancel these reservations (those still active), announced and recorded as announce_cancelled
    says, each event saying why (`because`). The caller holds their rows and commits."""
    cancelled = repository.cancel_all(db, reservation_ids)
    return announce_cancelled(db, cancelled, actor=actor, because=because)


def announce_cancelled(
    db: Connection,
    had: dict[uuid.UUID, str],
    *,
    actor: audit.Actor,
    because: dict[str, Any] | None = None,
) -> list[Reservation]:
    """For reservations just cancelled together (`had`: the status each had): each recorded in the
    audit log; a
    booking on its own announced by a ReservationCancelled, the occurrences of a series by one
    SeriesCancelled per series, as cancelling "this and the following" does. `because` goes into
    every event (the reason and what caused it). A few statements, however many they are."""
    cancelled = [to_reservation(row) for row in repository.find_all(db, list(had))]
    events.record_all(
        db,
        announcements(
            cancelled,
            events.RESERVATION_CANCELLED,
            events.SERIES_CANCELLED,
            because or {},
            listed_as="cancelled",
        ),
    )
    entries = [
        audit.change_entry(
            "reservation.cancelled",
            "reservation",
            reservation.id,
            {"status": had[reservation.id], "cancelled_at": None},
            {"status": "cancelled", "cancelled_at": reservation.model_dump(mode="json")["cancelled_at"]},
            subject_id=reservation.user_id,
        )
        for reservation in cancelled
    ]
    audit.record_all(db, actor, [entry for entry in entries if entry is not None])
    return cancelled


def search(
    db: Connection,
    user: User,
    *,
    user_id: uuid.UUID | None = None,
    space_id: uuid.UUID | None = None,
    status: str | None = None,
    starts_before: datetime | None = None,
    ends_after: datetime | None = None,
    text: str | None = None,
    limit: int,
    cursor: str | None,
) -> Page[Reservation]:
    """Users see their own reservations only; admins anyone's (all, or one user's with `user_id`)."""
    if not user.is_admin:
        if user_id is not None and user_id != user.id:
            raise Forbidden("Only administrators search other users' reservations.")
        user_id = user.id
    after = keyset(cursor, lambda start, last_id: (parse_instant(start), uuid.UUID(last_id)))
    rows = repository.search(
        db,
        user_id=user_id,
        space_id=space_id,
        status=status,
        starts_before=starts_before,
        ends_after=ends_after,
        text=text,
        after=after,
        limit=limit + 1,
    )
    return page(rows, limit, to_reservation, lambda row: (row["start_time"].isoformat(), row["id"]))


def pending_decisions(db: Connection, user: User, *, limit: int, cursor: str | None) -> Page[Reservation]:
    """The pending bookings the user may decide, by start: every one for an administrator, those of the
    spaces they manage for anyone else (none for most people)."""
    after = keyset(cursor, lambda start, last_id: (parse_instant(start), uuid.UUID(last_id)))
    rows = repository.search(
        db,
        user_id=None,
        space_id=None,
        managed_by=None if user.is_admin else user.id,
        status="pending",
        starts_before=None,
        ends_after=None,
        text=None,
        after=after,
        limit=limit + 1,
    )
    return page(rows, limit, to_reservation, lambda row: (row["start_time"].isoformat(), row["id"]))


def approve_all_pending(db: Connection, space_id: uuid.UUID, *, actor: audit.Actor) -> None:
    """The space no longer requires approval: its pending bookings (not yet expired) are approved, each
    announced. The caller commits."""
    approved = [
        to_reservation(row) for row in repository.find_all(db, repository.approve_all_pending(db, space_id))
    ]
    events.record_all(db, announcements(approved, events.RESERVATION_APPROVED, events.SERIES_APPROVED))
    entries = [
        audit.change_entry(
            "reservation.approved",
            "reservation",
            r.id,
            {"status": "pending"},
            {"status": "active", "decision_reason": r.decision_reason},
            subject_id=r.user_id,
        )
        for r in approved
    ]
    audit.record_all(db, actor, [entry for entry in entries if entry is not None])


def announcements(
    changed: list[Reservation],
    single: str,
    of_series: str,
    extra: dict[str, Any] | None = None,
    *,
    listed_as: str = "occurrences",
) -> list[tuple[str, uuid.UUID, dict[str, Any]]]:
    """The events of bookings changed together: a booking on its own announced as `single`, the
    occurrences of a series by one `of_series` per series, listing them slim under `listed_as` (so that
    its booker hears of the series once, and any number fits in one event); `extra` in every event."""
    extra = extra or {}
    announced: list[tuple[str, uuid.UUID, dict[str, Any]]] = []
    by_series: dict[uuid.UUID, list[Reservation]] = {}
    for reservation in changed:
        if reservation.series_id is None:
            announced.append((single, reservation.id, {**reservation.model_dump(mode="json"), **extra}))
        else:
            by_series.setdefault(reservation.series_id, []).append(reservation)
    for series_id, occurrences in by_series.items():
        payload = {
            "series_id": str(series_id),
            "space_id": str(occurrences[0].space_id),
            listed_as: [occurrence_summary(o) for o in occurrences],
            **extra,
        }
        announced.append((of_series, series_id, payload))
    return announced


def occurrence_summary(reservation: Reservation) -> dict[str, Any]:
    """An occurrence as a series' events carry it: what a calendar and the waitlist need, no notes, so
    that a series of any length fits in one EventBridge event (256 KB)."""
    return reservation.model_dump(
        mode="json", include={"id", "space_id", "user_id", "series_id", "start_time", "end_time", "status"}
    )
