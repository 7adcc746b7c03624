"""The rules of the catalogue and of free time: who sees which space, and what is free when."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import Connection
from sqlalchemy.engine import RowMapping

from reservas import audit
from reservas.accounts.schemas import User
from reservas.database import Overlap, domain_errors, present
from reservas.errors import Conflict, NotFound, Unprocessable, invalid_input
from reservas.money import Money, booking_cost
from reservas.pagination import Page, encode_cursor, keyset, page
from reservas.spaces import cache, calendar, closures_repository, repository
from reservas.spaces.rules import booking_problems
from reservas.spaces.schemas import Availability, AvailableSpace, Space, SpaceSettings, SpaceUpdate, TimeRange

MAX_AVAILABILITY_DAYS = 31
# A search for free spaces looks at this many spaces at most per request; a page can then hold fewer
# items than asked for and still have a next_cursor.
MAX_SPACES_EXAMINED = 200
SETTINGS_FIELDS = tuple(SpaceSettings.model_fields)
MOVE_RETRIES = 3
LISTED_CONFLICTS = 100  # a 409 lists this many bookings in the way at most


def _space(row: RowMapping) -> Space:
    return Space.model_validate(dict(row))


def _after(cursor: str | None) -> tuple[str, uuid.UUID] | None:
    return keyset(cursor, lambda name, last_id: (name, uuid.UUID(last_id)))


def list_spaces(
    db: Connection,
    viewer: User | None,
    *,
    include_inactive: bool,
    capacity_min: int | None,
    location: str | None,
    amenities: list[str],
    text: str | None,
    limit: int,
    cursor: str | None,
) -> str:
    """A page of the catalogue (Page[Space]) as JSON text, as the cache holds it."""
    filters: dict[str, Any] = {
        "include_inactive": include_inactive and (viewer is not None and viewer.is_admin),
        "capacity_min": capacity_min,
        "location": location,
        "amenities": sorted(amenities),
        "text": text,
    }
    after = _after(cursor)

    def compute() -> str:
        rows = repository.search_spaces(db, **filters, after=after, limit=limit + 1)
        return page(rows, limit, _space, lambda row: (row["name"], row["id"])).model_dump_json(by_alias=True)

    return cache.cached_list({**filters, "limit": limit, "cursor": cursor}, compute)


def get_space(
    db: Connection, space_id: uuid.UUID, viewer: User | None, entry: cache.SpaceEntry | None = None
) -> Space:
    """The space, for anyone while it is active; deactivated, only admins see it (404 for others)."""
    entry = entry or cache.lookup(space_id)
    data = entry.details
    if data is None:
        row = repository.find_space(db, space_id)
        if row is not None:
            data = _space(row).model_dump(mode="json")
            cache.store_details(entry, data)
    if data is None or (not data["is_active"] and not (viewer is not None and viewer.is_admin)):
        raise NotFound("No space has this id.")
    return Space.model_validate(data)


def create_space(db: Connection, settings: SpaceSettings, *, actor: audit.Actor) -> Space:
    """A new space, closed when its location is (by the location's closures that have not ended)."""
    # The location's lock first: a closure of the whole location, made meanwhile, covers this space.
    closures_repository.lock_locations(db, [settings.location])
    space = _space(repository.insert_space(db, settings.model_dump()))
    if space.location:
        closures_repository.hold_for_location(db, space.id, space.location)
    audit.record(db, actor, "space.created", "space", space.id, after=space.model_dump(mode="json"))
    db.commit()
    cache.space_changed(space.id)
    return space


def update_space(db: Connection, space_id: uuid.UUID, changes: SpaceUpdate, *, actor: audit.Actor) -> Space:
    """The space with the changes given; moved to another location, it leaves the old location's
    closures and comes under the new one's (a 409 when one of them would close it while it is booked)."""
    row = _locked_for_update(db, space_id, changes.location)
    given = changes.model_dump(exclude_none=True)
    merged = {**{field: row[field] for field in SETTINGS_FIELDS}, **given}
    merged.pop("is_active", None)
    try:
        settings = SpaceSettings.model_validate(merged)
    except ValidationError as error:
        raise invalid_input(error) from None
    values = settings.model_dump()
    if "is_active" in given:
        values["is_active"] = given["is_active"]
    space = _space(present(repository.update_space(db, space_id, values)))
    if space.location != row["location"]:
        _move(db, space, row["location"])
    if row["check_in_required"] and not space.check_in_required:
        repository.stop_asking_for_check_in(db, space.id)
    if row["requires_approval"] and not space.requires_approval:
        from reservas.reservations.service import approve_all_pending  # only then: not at cold start

        approve_all_pending(db, space.id, actor=actor)
    _record_change(db, actor, "space.updated", _space(row), space)
    db.commit()
    cache.space_changed(space_id)
    return space


def _locked_for_update(db: Connection, space_id: uuid.UUID, new_location: str | None) -> RowMapping:
    """The space's row, locked. An update that names a location may move the space: the advisory
    locks of the location it is at and of the one it goes to come first (see spaces.closures)."""
    if new_location is None:
        row = repository.find_space(db, space_id, lock=True)
        if row is None:
            raise NotFound("No space has this id.")
        return row
    for _ in range(MOVE_RETRIES):
        seen = repository.find_space(db, space_id)
        if seen is None:
            raise NotFound("No space has this id.")
        closures_repository.lock_locations(db, [seen["location"], new_location])
        row = repository.find_space(db, space_id, lock=True)
        if row is None:
            raise NotFound("No space has this id.")
        if row["location"] == seen["location"]:
            return row
        db.rollback()  # it moved meanwhile: lock the location it is at now
    raise Conflict("The space is being moved by someone else right now; try again.")


def _move(db: Connection, space: Space, old_location: str) -> None:
    """The space leaves the closures of its old location that have not ended, and comes under those of
    its new one, unless one of them would overlap its bookings (a 409 naming the closure)."""
    if old_location:
        closures_repository.release_from_location(db, space.id, old_location)
    if not space.location:
        return
    try:
        with domain_errors():
            closures_repository.hold_for_location(db, space.id, space.location)
    except Overlap:
        db.rollback()
        raise _closed_while_booked(db, space) from None


def _closed_while_booked(db: Connection, space: Space) -> Conflict:
    found = closures_repository.location_closures_in_the_way(db, space.id, space.location)
    db.rollback()
    if not found:  # the bookings or the closures changed meanwhile
        return Conflict(f"A closure of {space.location!r} overlaps bookings of this space; try again.")
    zone = ZoneInfo(space.timezone)
    first = found[0]
    why = f" ({first['reason']})" if first["reason"] else ""
    return Conflict(
        f"{space.location!r} is closed from {first['start_time'].astimezone(zone).isoformat()} to "
        f"{first['end_time'].astimezone(zone).isoformat()}{why}, by closure {first['closure_id']}, while "
        "this space is booked: move or cancel those bookings, or delete the closure, first.",
        title="Closed there",
        conflicts=[
            {
                "closure_id": str(clash["closure_id"]),
                "reservation_id": str(clash["reservation_id"]),
                "start_time": clash["reservation_start"].astimezone(zone).isoformat(),
                "end_time": clash["reservation_end"].astimezone(zone).isoformat(),
            }
            for clash in found[:LISTED_CONFLICTS]
        ],
    )


def deactivate_space(db: Connection, space_id: uuid.UUID, *, actor: audit.Actor) -> None:
    """Takes no new bookings and disappears for non-admins; its bookings stay. Repeating it is harmless."""
    row = repository.find_space(db, space_id, lock=True)
    if row is None:
        raise NotFound("No space has this id.")
    space = _space(present(repository.update_space(db, space_id, {"is_active": False})))
    _record_change(db, actor, "space.deactivated", _space(row), space)
    db.commit()
    cache.space_changed(space_id)


def _record_change(db: Connection, actor: audit.Actor, action: str, before: Space, after: Space) -> None:
    audit.record_change(
        db,
        actor,
        action,
        "space",
        after.id,
        before.model_dump(mode="json"),
        after.model_dump(mode="json"),
    )


def availability(
    db: Connection,
    space_id: uuid.UUID,
    viewer: User | None,
    *,
    day: date | None,
    first: date | None,
    last: date | None,
    now: datetime | None = None,
) -> Availability:
    """Opening hours minus active reservations, in the space's own days, from now to its booking horizon."""
    first, last = _day_range(day, first, last)
    entry = cache.lookup(space_id, f"{first}:{last}")
    space = get_space(db, space_id, viewer, entry)
    if entry.availability is not None:
        return Availability.model_validate(entry.availability)
    zone = ZoneInfo(space.timezone)
    window = calendar.day_window(first, last, zone)
    now = now or datetime.now(UTC)
    horizon = now + timedelta(days=space.max_advance_days)
    bookable = calendar.Interval(max(window.start, now), min(window.end, horizon))
    free, next_lapse = free_time_and_next_lapse(db, space, window)
    free = calendar.clip(free, bookable)
    result = Availability(
        space_id=space.id,
        timezone=space.timezone,
        slot_minutes=space.slot_minutes,
        from_=window.start.astimezone(zone),
        to=window.end.astimezone(zone),
        free=[_time_range(i, zone) for i in free],
        slots=[_time_range(i, zone) for i in calendar.slots(free, zone, space.slot_minutes)],
    )
    stale_at = None if next_lapse is None else next_lapse.timestamp()
    cache.store_availability(entry, result.model_dump(mode="json", by_alias=True), stale_at=stale_at)
    return result


def free_time(
    db: Connection, space: Space, window: calendar.Interval, *, excluding: uuid.UUID | None = None
) -> list[calendar.Interval]:
    """Where a new booking of the space may lie within the window: opening hours minus what holds its
    time (bookings, but `excluding` one being moved, and closures), each widened by the new booking's
    buffers, which must not overlap anything held either."""
    return free_time_and_next_lapse(db, space, window, excluding=excluding)[0]


def free_time_and_next_lapse(
    db: Connection, space: Space, window: calendar.Interval, *, excluding: uuid.UUID | None = None
) -> tuple[list[calendar.Interval], datetime | None]:
    """free_time, and when it next changes by itself: the first moment a booking in the way that nobody
    checked in to stops holding its time (None when none will)."""
    zone = ZoneInfo(space.timezone)
    before = timedelta(minutes=space.buffer_before_minutes)
    after = timedelta(minutes=space.buffer_after_minutes)
    blocks = calendar.opening_blocks(space.opening_hours, zone, window)
    held = repository.held_intervals(
        db, space.id, window.start - before, window.end + after, excluding=excluding
    )
    busy = [calendar.Interval(h.start - after, h.end + before) for h in held]
    next_lapse = min((h.lapses_at for h in held if h.lapses_at is not None), default=None)
    return calendar.clip(calendar.subtract(blocks, busy), window), next_lapse


def _day_range(day: date | None, first: date | None, last: date | None) -> tuple[date, date]:
    if day is not None:
        if first is not None or last is not None:
            raise Unprocessable("Give either `date`, or `from` and `to`, not both.")
        return day, day
    if first is None or last is None:
        raise Unprocessable("Give `date=YYYY-MM-DD`, or `from` and `to` (at most 31 days).")
    if last < first:
        raise Unprocessable("`to` is before `from`.")
    if (last - first).days + 1 > MAX_AVAILABILITY_DAYS:
        raise Unprocessable(f"Ask for at most {MAX_AVAILABILITY_DAYS} days at a time.")
    return first, last


def _time_range(interval: calendar.Interval, zone: ZoneInfo) -> TimeRange:
    return TimeRange(start_time=interval.start.astimezone(zone), end_time=interval.end.astimezone(zone))


def available_spaces(
    db: Connection,
    *,
    start: datetime,
    end: datetime,
    capacity_min: int | None,
    amenities: list[str],
    limit: int,
    cursor: str | None,
    now: datetime | None = None,
) -> Page[AvailableSpace]:
    """Active spaces that are open, free and bookable for the whole interval, with what it would cost."""
    if end <= start:
        raise Unprocessable("end_time must be after start_time.")
    if end - start > timedelta(minutes=calendar.LONGEST_BOOKING_MINUTES):
        days = calendar.LONGEST_BOOKING_MINUTES // calendar.MINUTES_PER_DAY
        raise Unprocessable(f"No space takes a booking longer than {days} days: ask for a shorter interval.")
    now = now or datetime.now(UTC)
    after = _after(cursor)
    found: list[AvailableSpace] = []
    more = False
    examined = 0
    while True:
        rows = repository.search_spaces(
            db,
            include_inactive=False,
            capacity_min=capacity_min,
            location=None,
            amenities=amenities,
            text=None,
            after=after,
            limit=limit + 1,
            free_between=(start, end),
        )
        for row in rows:
            if examined == MAX_SPACES_EXAMINED:  # the cost of one request stays bounded: go on next page
                more = True
                break
            examined += 1
            space = _space(row)
            if not booking_problems(space, start, end, now):
                if len(found) == limit:
                    more = True
                    break
                found.append(_with_cost(space, start, end))
            after = (space.name, space.id)
        if more or len(rows) <= limit:
            break
    next_cursor = encode_cursor(*after) if more and after is not None else None
    return Page[AvailableSpace](items=found, next_cursor=next_cursor)


def _with_cost(space: Space, start: datetime, end: datetime) -> AvailableSpace:
    return AvailableSpace(
        **space.model_dump(),
        cost=Money(
            amount=booking_cost(space.price_per_hour, space.currency, start, end), currency=space.currency
        ),
        duration_minutes=int((end - start).total_seconds() // 60),
    )
