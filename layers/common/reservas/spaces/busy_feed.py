"""A space's public busy-times feed (`/spaces/{space_id}/busy.ics`): when it is held, by bookings (with
their buffers) or closures, from yesterday to as far ahead as it takes bookings. "Busy" or "Closed" and
the times: no names, no notes, no ids."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from reservas.calendar_answers import tag_of
from reservas.notifications.invitation import Occasion, calendar
from reservas.spaces import repository
from reservas.spaces.schemas import Space

MOST_HELD = 5000


def busy_feed(db: Connection, space: Space) -> bytes:
    now = datetime.now(UTC)
    held = repository.held_intervals(
        db, space.id, now - timedelta(days=1), now + timedelta(days=space.max_advance_days + 1)
    )[:MOST_HELD]
    occasions = [
        Occasion(
            uid=_opaque(space, h.start, h.end, h.closed),
            start=h.start,
            end=h.end,
            summary="Closed" if h.closed else "Busy",
            zone=space.timezone,
        )
        for h in held
    ]
    return calendar(None, occasions, sequence=0, zone=space.timezone)


def _opaque(space: Space, start: datetime, end: datetime, closed: bool) -> str:
    """A UID that names the interval, not what holds it."""
    made_of = f"{space.id}|{start.isoformat()}|{end.isoformat()}|{closed}"
    return hashlib.sha256(made_of.encode()).hexdigest()[:32] + "@busy.reservas"


def etag(feed: bytes) -> str:
    """The feed's tag: its content, without the DTSTAMP lines (when it was made), which change on every
    fetch."""
    return tag_of(b"\n".join(line for line in feed.splitlines() if not line.startswith(b"DTSTAMP")))
