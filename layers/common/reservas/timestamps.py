"""Times in the API: instants in RFC 3339 with an offset, days as YYYY-MM-DD, and nothing else (no bare
numbers read as Unix time, no naive times), between 1970 and 2200: the years a booking can mean. Every
instant the API reads, cursors included, passes here before any SQL runs; one outside the years would
reach the database driver as a date it cannot encode."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)  # exclusive
_YEARS = f"between {EARLIEST.year} and {LATEST.year - 1}"

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})")
_RFC3339_HINT = "use RFC 3339 with an offset, e.g. 2026-12-01T09:00:00+01:00 or ...Z"


def _rfc3339_only(value: Any) -> Any:
    if isinstance(value, str) and not _RFC3339.fullmatch(value.strip()):
        raise ValueError(_RFC3339_HINT)
    if isinstance(value, int | float):
        raise ValueError(_RFC3339_HINT)
    return value


def within_years(instant: datetime) -> datetime:
    """The instant, if it falls in the years the API works with (after its offset is applied)."""
    try:
        in_range = EARLIEST <= instant < LATEST
    except OverflowError:  # 0001-01-01T00:00+14:00 is before year 1 in UTC
        in_range = False
    if not in_range:
        raise ValueError(f"times must fall {_YEARS} (UTC)")
    return instant


def parse_instant(text: str) -> datetime:
    """An instant this API wrote itself (in a cursor): RFC 3339 with an offset, within the years."""
    instant = datetime.fromisoformat(_rfc3339_only(text))
    if instant.tzinfo is None:
        raise ValueError(_RFC3339_HINT)
    return within_years(instant)


def _iso_day_only(value: Any) -> Any:
    if not isinstance(value, str) or not _DAY.fullmatch(value.strip()):
        raise ValueError("use a date as YYYY-MM-DD, e.g. 2026-12-01")
    return value


def _day_within_years(day: date) -> date:
    if not EARLIEST.date() <= day < LATEST.date():
        raise ValueError(f"dates must fall {_YEARS}")
    return day


Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339_only),
    AfterValidator(within_years),
    Field(description=f"RFC 3339 with an offset, e.g. 2026-12-01T09:00:00+01:00, {_YEARS}."),
]

Day = Annotated[
    date,
    BeforeValidator(_iso_day_only),
    AfterValidator(_day_within_years),
    Field(description=f"A date as YYYY-MM-DD, {_YEARS}."),
]
