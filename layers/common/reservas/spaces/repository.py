"""SQL for spaces, and the reservations that take their time."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    Select,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy import text as sql
from sqlalchemy.engine import RowMapping

from reservas.database import after_key, contains
from reservas.tables import holds, reservations, spaces

MINUTE: ColumnElement[Any] = literal_column("interval '1 minute'")


@dataclass(frozen=True)
class Held:
    start: datetime
    end: datetime
    closed: bool  # a closure's; else a booking's, with its buffers
    lapses_at: datetime | None = None  # a booking not checked in holds nothing from then on


def insert_space(db: Connection, values: dict[str, Any]) -> RowMapping:
    return db.execute(insert(spaces).values(**values).returning(spaces)).mappings().one()


def update_space(db: Connection, space_id: uuid.UUID, values: dict[str, Any]) -> RowMapping | None:
    statement = update(spaces).where(spaces.c.id == space_id).values(**values).returning(spaces)
    return db.execute(statement).mappings().first()


def find_space(db: Connection, space_id: uuid.UUID, *, lock: bool = False) -> RowMapping | None:
    statement = select(spaces).where(spaces.c.id == space_id)
    if lock:
        statement = statement.with_for_update(key_share=True)  # FOR NO KEY UPDATE
    return db.execute(statement).mappings().first()


def search_spaces(
    db: Connection,
    *,
    include_inactive: bool,
    capacity_min: int | None,
    location: str | None,
    amenities: list[str],
    text: str | None,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
    free_between: tuple[datetime, datetime] | None = None,
) -> list[RowMapping]:
    """Spaces by name, then id, after the keyset `after`; `free_between` keeps only spaces with no active
    reservation overlapping that interval."""
    statement = select(spaces).order_by(spaces.c.name, spaces.c.id).limit(limit)
    if not include_inactive:
        statement = statement.where(spaces.c.is_active)
    if capacity_min is not None:
        statement = statement.where(spaces.c.capacity >= capacity_min)
    if location:
        statement = statement.where(contains(spaces.c.location, location))
    if amenities:
        wanted = sql("CAST(:amenities AS jsonb)").bindparams(amenities=json.dumps(amenities))
        statement = statement.where(spaces.c.amenities.op("@>")(wanted))
    if text:
        statement = statement.where(or_(contains(spaces.c.name, text), contains(spaces.c.description, text)))
    if after is not None:
        statement = statement.where(after_key(spaces.c.name, spaces.c.id, after))
    if free_between is not None:
        start, end = free_between
        padded = func.tstzrange(
            literal(start, DateTime(timezone=True)) - spaces.c.buffer_before_minutes * MINUTE,
            literal(end, DateTime(timezone=True)) + spaces.c.buffer_after_minutes * MINUTE,
        )
        statement = statement.where(
            ~_holds_overlapping(padded).where(holds.c.space_id == spaces.c.id).exists()
        )
    return list(db.execute(statement).mappings())


def _holds_overlapping(interval: ColumnElement[Any]) -> Select[Any]:
    """Holds (bookings with their buffers, closures) overlapping a tstzrange: the shape the GiST
    exclusion index answers; but for bookings nobody checked in to in time, which hold nothing now."""
    holding = or_(holds.c.lapses_at.is_(None), holds.c.lapses_at > func.now())
    return select(
        func.lower(holds.c.during),
        func.upper(holds.c.during),
        holds.c.closure_id.is_not(None),
        holds.c.lapses_at,
    ).where(holds.c.during.op("&&")(interval), holding)


def held_intervals(
    db: Connection,
    space_id: uuid.UUID,
    start: datetime,
    end: datetime,
    *,
    excluding: uuid.UUID | None = None,
) -> list[Held]:
    """What holds the space's time in [start, end), in order: bookings (with the buffers they were booked
    with) and closures; but `excluding` one reservation (being moved)."""
    statement = (
        _holds_overlapping(func.tstzrange(start, end))
        .where(holds.c.space_id == space_id)
        .order_by(func.lower(holds.c.during))
    )
    if excluding is not None:
        statement = statement.where(holds.c.reservation_id.is_distinct_from(excluding))
    return [Held(*row) for row in db.execute(statement)]


def stop_asking_for_check_in(db: Connection, space_id: uuid.UUID) -> None:
    """The space no longer requires check-in: its bookings not yet released never will be (their holds
    stop lapsing, by the trigger on reservations)."""
    db.execute(
        update(reservations)
        .where(
            reservations.c.space_id == space_id,
            reservations.c.status == "active",
            reservations.c.check_in_by > func.now(),
        )
        .values(check_in_by=None)
    )
