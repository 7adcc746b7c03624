"""SQL for closures and for the holds that keep the spaces they cover closed (see spaces.closures)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    Select,
    Uuid,
    and_,
    delete,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy import text as sql
from sqlalchemy.engine import RowMapping

from reservas.database import after_key
from reservas.tables import closures, holds, reservations, spaces

# A location's advisory lock is keyed by the 64-bit hash of 'reservas-location:' and its text: whoever
# adds spaces to a location (creating or moving one) and whoever closes the whole location take it first.
_LOCK_LOCATIONS = sql(
    "SELECT pg_advisory_xact_lock(key) FROM unnest(ARRAY("
    "  SELECT DISTINCT hashtextextended('reservas-location:' || location, 0)"
    "  FROM unnest(CAST(:locations AS text[])) AS location ORDER BY 1"
    ")) AS key"
)


@dataclass(frozen=True)
class Cover:
    """What a closure covers: one space, or every space whose location is exactly this text."""

    space_id: uuid.UUID | None = None
    location: str | None = None

    def covers(self) -> ColumnElement[bool]:
        """The condition on the rows of `spaces` that the closure covers."""
        if self.location is not None:
            return spaces.c.location == self.location
        return spaces.c.id == self.space_id


def lock_locations(db: Connection, locations: list[str]) -> None:
    """This transaction's advisory locks of the locations, in the order of their keys (so two
    transactions taking several never wait on each other in a circle). The empty location, which no
    closure names, takes none."""
    named = sorted({location for location in locations if location})
    if named:
        db.execute(_LOCK_LOCATIONS, {"locations": named})


def lock_covered_spaces(db: Connection, cover: Cover) -> list[uuid.UUID]:
    """Lock the rows of the spaces the closure covers, in id order, as a booking locks its space
    (FOR NO KEY UPDATE); their ids."""
    statement = (
        select(spaces.c.id).where(cover.covers()).order_by(spaces.c.id).with_for_update(key_share=True)
    )
    return list(db.execute(statement).scalars())


def insert_closure(db: Connection, values: dict[str, Any]) -> RowMapping:
    return db.execute(insert(closures).values(**values).returning(closures)).mappings().one()


def _range(start: Any, end: Any) -> ColumnElement[Any]:
    return func.tstzrange(start, end)


def _instant(value: datetime) -> ColumnElement[Any]:
    return literal(value, DateTime(timezone=True))


def hold_covered(db: Connection, closure_id: uuid.UUID, cover: Cover, start: datetime, end: datetime) -> None:
    """The closure holds [start, end) of every space it covers: the exclusion constraint refuses it
    (nothing is held) when a booking of one of them is in the way."""
    covered = select(spaces.c.id, _range(_instant(start), _instant(end)), literal(closure_id, Uuid)).where(
        cover.covers()
    )
    db.execute(insert(holds).from_select(["space_id", "during", "closure_id"], covered))


def _bookings_in_the_way(cover: Cover, start: datetime, end: datetime) -> Select[Any]:
    return (
        select(
            reservations.c.id,
            reservations.c.space_id,
            reservations.c.start_time,
            reservations.c.end_time,
            spaces.c.timezone,
            func.upper(holds.c.during).label("held_until"),
        )
        .join(holds, holds.c.reservation_id == reservations.c.id)
        .join(spaces, spaces.c.id == holds.c.space_id)
        .where(cover.covers(), holds.c.during.op("&&")(_range(_instant(start), _instant(end))))
    )


def bookings_in_the_way(
    db: Connection, cover: Cover, start: datetime, end: datetime, *, limit: int
) -> list[RowMapping]:
    """Active bookings of the covered spaces whose holds (buffers included) overlap [start, end), by
    start; the first `limit` of them."""
    statement = _bookings_in_the_way(cover, start, end).order_by(reservations.c.start_time, reservations.c.id)
    return list(db.execute(statement.limit(limit)).mappings())


def lock_bookings_in_the_way(
    db: Connection, cover: Cover, start: datetime, end: datetime, *, limit: int
) -> set[uuid.UUID]:
    """Lock the rows of the bookings now in the way (the first `limit`), in id order, as every writer
    that locks several bookings does; their ids."""
    statement = (
        _bookings_in_the_way(cover, start, end)
        .order_by(reservations.c.id)
        .limit(limit)
        .with_for_update(of=reservations)
    )
    return {row.id for row in db.execute(statement)}


def _live_at(location: str) -> ColumnElement[bool]:
    """The location's closures that have not ended."""
    return and_(closures.c.location == location, closures.c.end_time > func.now())


def hold_for_location(db: Connection, space_id: uuid.UUID, location: str) -> None:
    """A space arriving at a location (created there or moved there) is held by the location's closures
    that have not ended, from now on; refused by the exclusion constraint when one of its bookings is
    in the way."""
    live = select(
        literal(space_id, Uuid),
        _range(func.greatest(closures.c.start_time, func.now()), closures.c.end_time),
        closures.c.id,
    ).where(_live_at(location))
    db.execute(insert(holds).from_select(["space_id", "during", "closure_id"], live))


def release_from_location(db: Connection, space_id: uuid.UUID, location: str) -> None:
    """A space leaving a location is no longer held by the location's closures that have not ended
    (those that have stay in its history)."""
    live = select(closures.c.id).where(_live_at(location))
    db.execute(delete(holds).where(holds.c.space_id == space_id, holds.c.closure_id.in_(live)))


def location_closures_in_the_way(db: Connection, space_id: uuid.UUID, location: str) -> list[RowMapping]:
    """The location's closures that have not ended and overlap a booking of the space (its hold, buffers
    included), each with the booking in its way, by start."""
    closure_hold = _range(func.greatest(closures.c.start_time, func.now()), closures.c.end_time)
    statement = (
        select(
            closures.c.id.label("closure_id"),
            closures.c.start_time,
            closures.c.end_time,
            closures.c.reason,
            reservations.c.id.label("reservation_id"),
            reservations.c.start_time.label("reservation_start"),
            reservations.c.end_time.label("reservation_end"),
        )
        .join(holds, holds.c.during.op("&&")(closure_hold))
        .join(reservations, reservations.c.id == holds.c.reservation_id)
        .where(_live_at(location), holds.c.space_id == space_id)
        .order_by(closures.c.start_time, closures.c.id, reservations.c.start_time)
    )
    return list(db.execute(statement).mappings())


def find_closure(db: Connection, closure_id: uuid.UUID) -> RowMapping | None:
    return db.execute(select(closures).where(closures.c.id == closure_id)).mappings().first()


def delete_closure(db: Connection, closure_id: uuid.UUID) -> list[uuid.UUID] | None:
    """Delete the closure and its holds, freeing its time at once; the spaces it held, or None when
    there was no such closure."""
    held = db.execute(delete(holds).where(holds.c.closure_id == closure_id).returning(holds.c.space_id))
    space_ids = list(held.scalars())
    deleted = db.execute(delete(closures).where(closures.c.id == closure_id).returning(closures.c.id))
    return space_ids if deleted.first() is not None else None


def search_closures(
    db: Connection,
    *,
    space_id: uuid.UUID | None,
    location: str | None,
    ends_after: datetime,
    starts_before: datetime | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[RowMapping]:
    """Closures by start, then id, after the keyset `after`. `space_id` keeps those that hold the space
    (its own and its location's); `location` those declared for exactly that location."""
    statement = (
        select(closures)
        .where(closures.c.end_time > ends_after)
        .order_by(closures.c.start_time, closures.c.id)
        .limit(limit)
    )
    if space_id is not None:
        holding = select(holds.c.closure_id).where(
            holds.c.space_id == space_id, holds.c.closure_id.is_not(None)
        )
        statement = statement.where(closures.c.id.in_(holding))
    if location is not None:
        statement = statement.where(closures.c.location == location)
    if starts_before is not None:
        statement = statement.where(closures.c.start_time < starts_before)
    if after is not None:
        statement = statement.where(after_key(closures.c.start_time, closures.c.id, after))
    return list(db.execute(statement).mappings())
