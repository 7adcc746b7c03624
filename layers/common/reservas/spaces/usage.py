"""How a space is used, not just booked: booked hours, hours people checked in to, hours released for
want of a check-in, and the no-show rate, for the bookings that start in a period."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, literal_column, or_, select

from reservas.errors import NotFound, Unprocessable
from reservas.spaces import repository
from reservas.spaces.admin_schemas import Usage
from reservas.tables import reservations

LONGEST_PERIOD = timedelta(days=366)


def usage(db: Connection, space_id: uuid.UUID, first: datetime, last: datetime) -> Usage:
    if last <= first:
        raise Unprocessable("`to` must be after `from`.")
    if last - first > LONGEST_PERIOD:
        raise Unprocessable(f"Ask for at most {LONGEST_PERIOD.days} days at a time.")
    if repository.find_space(db, space_id) is None:
        raise NotFound("No space has this id.")
    hours: ColumnElement[Any] = literal_column("3600.0")  # seconds
    length = func.extract("epoch", reservations.c.end_time - reservations.c.start_time) / hours
    lapsed = or_(
        reservations.c.status == "released",
        (reservations.c.status == "active")
        & reservations.c.checked_in_at.is_(None)
        & (reservations.c.check_in_by <= func.now()),
    )
    # A booking nobody checked in to frees its time from its check_in_by on (reads leave it out then).
    freed = func.extract("epoch", reservations.c.end_time - reservations.c.check_in_by) / hours
    closed = reservations.c.check_in_by <= func.now()
    row = db.execute(
        select(
            func.count(),
            func.coalesce(func.sum(length), 0),
            func.sum(length).filter(reservations.c.checked_in_at.is_not(None)),
            func.count().filter(reservations.c.check_in_by.is_not(None)),
            func.coalesce(func.sum(freed).filter(lapsed), 0),
            func.count().filter(lapsed),
            func.count().filter(closed),
        ).where(
            reservations.c.space_id == space_id,
            reservations.c.status.in_(["active", "released"]),  # booked: not pending, declined or expired
            reservations.c.start_time >= first,
            reservations.c.start_time < last,
        )
    ).one()
    bookings, booked, used, asked, released, no_shows, due = row
    return Usage.model_validate(
        {
            "space_id": space_id,
            "from": first,
            "to": last,
            "bookings": bookings,
            "booked_hours": round(float(booked), 2),
            "used_hours": round(float(used or 0), 2) if asked else None,
            "released_hours": round(float(released), 2),
            "no_shows": no_shows,
            "no_show_rate": round(no_shows / due, 4) if due else None,
        }
    )
