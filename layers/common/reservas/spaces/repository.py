"""SQL for spaces, and the reservations that take their time."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, insert, literal_column, or_, select, update
from sqlalchemy import text as sql
from sqlalchemy.engine import RowMapping

from reservas.database import after_key, contains
from reservas.tables import reservations, spaces


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
        statement = statement.where(
            ~overlapping_reservations(free_between).where(reservations.c.space_id == spaces.c.id).exists()
        )
    return list(db.execute(statement).mappings())


def overlapping_reservations(interval: tuple[datetime, datetime]) -> Select[Any]:
    """Active reservations overlapping [start, end): the shape the GiST exclusion index answers."""
    start, end = interval
    return select(reservations.c.start_time, reservations.c.end_time).where(
        # A literal, not a parameter: the GiST index is partial (WHERE status = 'active'), and only a
        # literal lets every plan, generic ones included, use it.
        reservations.c.status == literal_column("'active'"),
        func.tstzrange(reservations.c.start_time, reservations.c.end_time).op("&&")(
            func.tstzrange(start, end)
        ),
    )


def busy_intervals(
    db: Connection,
    space_id: uuid.UUID,
    start: datetime,
    end: datetime,
    *,
    excluding: uuid.UUID | None = None,
) -> list[tuple[datetime, datetime]]:
    """The active reservations' intervals in [start, end); `excluding` one reservation (being moved)."""
    statement = (
        overlapping_reservations((start, end))
        .where(reservations.c.space_id == space_id)
        .order_by(reservations.c.start_time)
    )
    if excluding is not None:
        statement = statement.where(reservations.c.id != excluding)
    return [tuple(row) for row in db.execute(statement)]
