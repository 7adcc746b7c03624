"""Calendar feeds: a person's private feed of their bookings, which Google, Outlook and Apple calendars
subscribe to at an unguessable URL (`/calendar/{token}/bookings.ics`).

- The token is made by `rotate` and shown once; only its hash is kept, and rotating or revoking it
  ends the old URL at once (404, as for a token that never was).
- The feed holds the person's own bookings from 30 days ago on: a booking is an event, a series one
  recurring event with its exceptions, and what was cancelled, declined, expired or released reads
  `STATUS:CANCELLED`. No notes, and nobody else's data.
- An `ETag` is taken from what the feed is made of, before it is made: a calendar asking again with
  `If-None-Match` gets a 304 for the price of one small query."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, case, delete, func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert

from reservas.calendar_answers import tag_of
from reservas.notifications.invitation import HELD, Occasion, calendar, of_booking, recurring, uid_of
from reservas.tables import calendar_feeds, reservations, series, spaces
from reservas.tokens import hash_refresh_token as hash_token

PAST = timedelta(days=30)  # how far back the feed goes
MOST_BOOKINGS = 5000  # a feed's size stays bounded, whoever asks


def rotate(db: Connection, user_id: uuid.UUID) -> str:
    """A new token for the person's feed, replacing any other; the caller commits."""
    token = secrets.token_urlsafe(32)
    db.execute(
        insert(calendar_feeds)
        .values(user_id=user_id, token_hash=hash_token(token))
        .on_conflict_do_update(
            index_elements=[calendar_feeds.c.user_id],
            set_={"token_hash": hash_token(token), "created_at": func.now()},
        )
    )
    return token


def revoke(db: Connection, user_id: uuid.UUID) -> None:
    db.execute(delete(calendar_feeds).where(calendar_feeds.c.user_id == user_id))


def owner_of(db: Connection, token: str) -> uuid.UUID | None:
    """Whose feed this token opens; None for a token rotated away, revoked, or never made."""
    found: uuid.UUID | None = db.execute(
        select(calendar_feeds.c.user_id).where(calendar_feeds.c.token_hash == hash_token(token))
    ).scalar()
    return found


def etag(db: Connection, user_id: uuid.UUID) -> str:
    """What the feed is made of, in a few bytes: a digest of every field it shows (not of updated_at,
    which is its transaction's start and may commit out of order), and the day."""
    shown = func.concat_ws(
        "|",
        reservations.c.id,
        reservations.c.status,
        reservations.c.start_time,
        reservations.c.end_time,
        reservations.c.recurrence_id,
        spaces.c.name,
        spaces.c.location,
        spaces.c.timezone,
        series.c.rule,
    )
    digest = db.execute(
        select(func.md5(func.string_agg(shown, aggregate_order_by(literal(","), reservations.c.id))))
        .select_from(reservations)
        .join(spaces, spaces.c.id == reservations.c.space_id)
        .outerjoin(series, series.c.id == reservations.c.series_id)
        .where(_mine(user_id))
    ).scalar()
    return tag_of(f"{user_id}|{digest}|{datetime.now(UTC).date()}".encode())


def feed(db: Connection, user_id: uuid.UUID) -> bytes:
    """The person's bookings as a calendar (text/calendar)."""
    rows = (
        db.execute(
            select(
                reservations,
                spaces.c.name.label("space_name"),
                spaces.c.location.label("space_location"),
                spaces.c.timezone.label("space_zone"),
                series.c.rule,
            )
            .join(spaces, spaces.c.id == reservations.c.space_id)
            .outerjoin(series, series.c.id == reservations.c.series_id)
            .where(_mine(user_id))
            # At the ceiling, what is held and coming is kept first, then the latest.
            .order_by(
                case(
                    (reservations.c.status.in_(HELD) & (reservations.c.end_time > func.now()), 0),
                    else_=1,
                ),
                reservations.c.end_time.desc(),
            )
            .limit(MOST_BOOKINGS)
        )
        .mappings()
        .all()
    )
    rows = sorted(
        rows,
        key=lambda r: (
            r["series_id"] is not None,
            str(r["series_id"]),
            r["recurrence_id"] or r["start_time"],
            r["start_time"],
        ),
    )
    occasions: list[Occasion] = []
    for series_id, grouped in groupby(rows, key=lambda row: row["series_id"]):
        booked = list(grouped)
        if series_id is None:
            occasions += [_single(row) for row in booked]
        else:
            occasions += _series(series_id, booked)
    return calendar(None, occasions, sequence=0, zone="UTC")


def _coming() -> Any:
    """Held and not over: what a feed at its ceiling keeps first."""
    return reservations.c.status.in_(HELD) & (reservations.c.end_time > func.now())


def _in_series_order(row: Any) -> tuple[bool, str, datetime, datetime]:
    """Bookings on their own first, then each series' occurrences in the order of their rule."""
    return (
        row["series_id"] is not None,
        str(row["series_id"]),
        row["recurrence_id"] or row["start_time"],
        row["start_time"],
    )


def _mine(user_id: uuid.UUID) -> Any:
    return (reservations.c.user_id == user_id) & (reservations.c.end_time > func.now() - PAST)


def _single(row: Any) -> Occasion:
    return _dressed(of_booking(row), row)


def _series(series_id: uuid.UUID, rows: list[Any]) -> list[Occasion]:
    zone = ZoneInfo(rows[0]["space_zone"])
    return [_dressed(o, rows[0]) for o in recurring(rows[0]["rule"], rows, uid_of("series", series_id), zone)]


def _dressed(occasion: Occasion, row: Any) -> Occasion:
    occasion.summary = row["space_name"]
    occasion.location = row["space_location"]
    occasion.zone = row["space_zone"]
    return occasion
