"""Closures: time when a space, or every space at a location, takes no bookings (holidays, maintenance,
events).

A closure holds each space it covers with a row in `holds`, the table whose exclusion constraint keeps
bookings apart (migrations/versions/0006), so a closure and a booking never overlap, whatever the
concurrency: the database decides, and the code here only asks it and explains its answer. Closures may
overlap each other. A location's closure covers every space whose location is exactly its text, and
the spaces created at or moved to that location while it lasts (spaces.service sees to those).

Locks, always in this order, so that no two requests wait for each other in a circle: the location's
advisory lock (closing a location, deleting its closure, creating a space there, moving one to or from
it), then the rows of the bookings a closure cancels (changing a booking locks its row first too), then
the covered spaces' rows in id order (as a booking locks its space)."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection
from sqlalchemy.engine import RowMapping

from reservas import audit, events
from reservas.accounts.schemas import User
from reservas.database import Contention, Overlap, domain_errors
from reservas.errors import Conflict, NotFound, Unprocessable
from reservas.pagination import Page, keyset, page
from reservas.spaces import cache
from reservas.spaces import closures_repository as repository
from reservas.spaces.admin_schemas import Closure, ClosureCreated, ClosureRequest, LocationClosureRequest
from reservas.spaces.closures_repository import Cover
from reservas.spaces.service import LISTED_CONFLICTS, get_space
from reservas.timestamps import parse_instant

LONGEST_CLOSURE = timedelta(days=366)  # longer is what deactivating a space is for
MOST_CANCELLED = 1000  # bookings one closure cancels, so that its request ends within its time
RETRIES = 3


class _WayChanged(Exception):
    """The bookings in the closure's way changed while it was tried: one was made after those in the
    way were locked, or the one the database refused it for was cancelled since."""


def close_space(
    db: Connection,
    space_id: uuid.UUID,
    request: ClosureRequest,
    *,
    actor: audit.Actor,
    now: datetime | None = None,
) -> ClosureCreated:
    return _close(db, Cover(space_id=space_id), request, actor, now or datetime.now(UTC))


def close_location(
    db: Connection, request: LocationClosureRequest, *, actor: audit.Actor, now: datetime | None = None
) -> ClosureCreated:
    return _close(db, Cover(location=request.location), request, actor, now or datetime.now(UTC))


def _close(
    db: Connection, cover: Cover, request: ClosureRequest, actor: audit.Actor, now: datetime
) -> ClosureCreated:
    start, end = _closure_time(request.start_time, request.end_time, now)
    for tries in range(1, RETRIES + 1):
        try:
            with domain_errors():
                created, covered = _close_once(db, cover, request, start, end, actor, now)
        except (Contention, Overlap, _WayChanged):  # bookings came and went while it was tried
            db.rollback()
            if tries == RETRIES:
                raise Conflict("The spaces are busy with bookings right now; try again.") from None
            time.sleep(random.uniform(0.01, 0.05) * tries)  # noqa: S311 (jitter, not security)
            continue
        for space_id in covered:
            cache.bookings_changed(space_id)
        return created
    raise AssertionError("unreachable")


def _closure_time(start: datetime, end: datetime, now: datetime) -> tuple[datetime, datetime]:
    """The closure's interval: a start in the past is read as now, as a booking ended early ends now."""
    if end <= start:
        raise _invalid("end_time", "end_time must be after start_time")
    if end <= now:
        raise _invalid("end_time", "end_time is in the past: a closure must end in the future")
    start = max(start, now)
    if end - start > LONGEST_CLOSURE:
        raise _invalid(
            "end_time",
            f"a closure lasts at most {LONGEST_CLOSURE.days} days; "
            "to close a space for longer, deactivate it",
        )
    return start, end


def _invalid(field: str, message: str) -> Unprocessable:
    return Unprocessable(
        message[0].upper() + message[1:] + ".",
        title="Invalid closure",
        errors=[{"loc": [field], "msg": message}],
    )


def _close_once(
    db: Connection,
    cover: Cover,
    request: ClosureRequest,
    start: datetime,
    end: datetime,
    actor: audit.Actor,
    now: datetime,
) -> tuple[ClosureCreated, list[uuid.UUID]]:
    """One try: the closure and its holds, committed; the spaces it holds."""
    if cover.location is not None:
        repository.lock_locations(db, [cover.location])
    locked: set[uuid.UUID] = set()
    if request.cancel_bookings:
        locked = repository.lock_bookings_in_the_way(db, cover, start, end, limit=MOST_CANCELLED + 1)
        if len(locked) > MOST_CANCELLED:
            raise _too_many_to_cancel()
    covered = repository.lock_covered_spaces(db, cover)
    if cover.space_id is not None and not covered:
        raise NotFound("No space has this id.")
    row = repository.insert_closure(
        db,
        {
            "space_id": cover.space_id,
            "location": cover.location,
            "start_time": start,
            "end_time": end,
            "reason": request.reason,
            "created_by": actor.user_id,
        },
    )
    cancelled: list[uuid.UUID] = []
    if not _held(db, row["id"], cover, start, end) and not (
        _released_no_shows(db, covered, start, end) and _held(db, row["id"], cover, start, end)
    ):
        in_the_way = repository.bookings_in_the_way(db, cover, start, end, limit=MOST_CANCELLED + 1)
        _refuse_unless_cancellable(db, in_the_way, request, locked, now)
        cancelled = _cancel(db, [booking["id"] for booking in in_the_way], row, actor)
        repository.hold_covered(db, row["id"], cover, start, end)  # nothing is in the way now
    created = ClosureCreated.model_validate(
        {**row, "cancelled_reservations": cancelled, "covered_spaces": covered}
    )
    audit.record(db, actor, "closure.created", "closure", created.id, after=created.model_dump(mode="json"))
    db.commit()
    return created, covered


def _released_no_shows(db: Connection, space_ids: list[uuid.UUID], start: datetime, end: datetime) -> bool:
    """Bookings nobody checked in to (which read released, but may still hold their time until the
    release function runs) are released before they could stand in a closure's way; whether any was."""
    from reservas.reservations.service import release_due  # only when something is in the way

    return bool(release_due(db, space_ids=space_ids, around=(start, end)))


def _held(db: Connection, closure_id: uuid.UUID, cover: Cover, start: datetime, end: datetime) -> bool:
    """Whether the closure now holds every space it covers; False, holding none, when a booking is in
    the way (the exclusion constraint refused, and only its savepoint rolled back)."""
    try:
        with domain_errors(), db.begin_nested():
            repository.hold_covered(db, closure_id, cover, start, end)
    except Overlap:
        return False
    return True


def _refuse_unless_cancellable(
    db: Connection,
    in_the_way: list[RowMapping],
    request: ClosureRequest,
    locked: set[uuid.UUID],
    now: datetime,
) -> None:
    """A 409 listing the bookings in the way, unless they are to be cancelled and can be: a booking that
    has ended is history, yet its space's buffer after it may still hold the time."""
    if not in_the_way:
        raise _WayChanged
    ended = [booking for booking in in_the_way if booking["end_time"] <= now]
    if ended:
        db.rollback()
        until = max(booking["held_until"] for booking in ended)
        raise Conflict(
            f"A booking that has ended keeps the time after it free for its space's buffer until "
            f"{until.isoformat()}: start the closure then.",
            title="Bookings in the way",
            conflicts=_conflicts(ended),
        )
    if len(in_the_way) > MOST_CANCELLED and request.cancel_bookings:
        db.rollback()
        raise _too_many_to_cancel()
    if not request.cancel_bookings:
        db.rollback()
        count = len(in_the_way)
        listed = "" if count <= LISTED_CONFLICTS else f" (the first {LISTED_CONFLICTS} are listed)"
        number = f"More than {MOST_CANCELLED:,}" if count > MOST_CANCELLED else str(count)
        raise Conflict(
            f"{number} booking{'s' if count > 1 else ''} in that time{listed}: move or cancel "
            f"{'them' if count > 1 else 'it'} first, or send `cancel_bookings: true` to cancel "
            f"{'them' if count > 1 else 'it'} with the closure.",
            title="Bookings in the way",
            conflicts=_conflicts(in_the_way),
        )
    if any(booking["id"] not in locked for booking in in_the_way):
        raise _WayChanged


def _too_many_to_cancel() -> Conflict:
    return Conflict(
        f"More than {MOST_CANCELLED:,} bookings lie in that time, and a closure cancels at most "
        f"{MOST_CANCELLED:,} at once (so that the request ends in time): close a shorter time first, "
        "then the rest.",
        title="Too many bookings in the way",
    )


def _conflicts(bookings: list[RowMapping]) -> list[dict[str, Any]]:
    def described(booking: RowMapping) -> dict[str, Any]:
        zone = ZoneInfo(booking["timezone"])
        return {
            "reservation_id": str(booking["id"]),
            "space_id": str(booking["space_id"]),
            "start_time": booking["start_time"].astimezone(zone).isoformat(),
            "end_time": booking["end_time"].astimezone(zone).isoformat(),
        }

    return [described(booking) for booking in bookings[:LISTED_CONFLICTS]]


def _cancel(
    db: Connection, reservation_ids: list[uuid.UUID], closure: RowMapping, actor: audit.Actor
) -> list[uuid.UUID]:
    # Imported here: only a closure over bookings needs the booking rules, and the spaces function's
    # cold start stays without them.
    from reservas.reservations.service import cancel_together

    # `cause` says what cancelled them; `reason`, the closure's own words, reaches their bookers.
    because = {"cause": "closure", "closure_id": str(closure["id"]), "reason": closure["reason"]}
    return [
        reservation.id for reservation in cancel_together(db, reservation_ids, actor=actor, because=because)
    ]


def delete_closure(db: Connection, closure_id: uuid.UUID, *, actor: audit.Actor) -> None:
    """The closure goes with its holds, and its time is free at once."""
    row = repository.find_closure(db, closure_id)
    if row is None:
        raise NotFound("No closure has this id.")
    if row["location"] is not None:  # a space arriving at the location meanwhile is held by it, or never
        repository.lock_locations(db, [row["location"]])
    freed = repository.delete_closure(db, closure_id)
    if freed is None:  # deleted meanwhile
        db.rollback()
        raise NotFound("No closure has this id.")
    before = Closure.model_validate(dict(row)).model_dump(mode="json")
    audit.record(db, actor, "closure.deleted", "closure", closure_id, before=before)
    # Its time is free: the waitlist hears of it as of any time freed (functions/promote).
    events.record(db, events.CLOSURE_DELETED, closure_id, {**before, "space_ids": [str(s) for s in freed]})
    db.commit()
    for space_id in freed:
        cache.bookings_changed(space_id)


def closures_of_space(
    db: Connection,
    space_id: uuid.UUID,
    viewer: User | None,
    *,
    ends_after: datetime | None,
    starts_before: datetime | None,
    limit: int,
    cursor: str | None,
) -> Page[Closure]:
    """The closures that hold the space (its own and its location's), for whoever may see the space;
    from now on unless `ends_after` says otherwise."""
    get_space(db, space_id, viewer)
    return search(
        db,
        space_id=space_id,
        location=None,
        ends_after=ends_after,
        starts_before=starts_before,
        limit=limit,
        cursor=cursor,
    )


def search(
    db: Connection,
    *,
    space_id: uuid.UUID | None,
    location: str | None,
    ends_after: datetime | None,
    starts_before: datetime | None,
    limit: int,
    cursor: str | None,
) -> Page[Closure]:
    """Closures by start time, those that end after `ends_after` (now, unless given)."""
    if ends_after is not None and starts_before is not None and starts_before <= ends_after:
        raise Unprocessable("`to` must be after `from`.")
    after = keyset(cursor, lambda start, last_id: (parse_instant(start), uuid.UUID(last_id)))
    rows = repository.search_closures(
        db,
        space_id=space_id,
        location=location,
        ends_after=ends_after or datetime.now(UTC),
        starts_before=starts_before,
        after=after,
        limit=limit + 1,
    )
    return page(
        rows,
        limit,
        lambda row: Closure.model_validate(dict(row)),
        lambda row: (row["start_time"].isoformat(), row["id"]),
    )
