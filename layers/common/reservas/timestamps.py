"""Times in the API: instants in RFC 3339 with an offset, days as YYYY-MM-DD, and nothing else (no bare
numbers read as Unix time, no naive times)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, Field

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339_only(value: Any) -> Any:
    if isinstance(value, str) and not _RFC3339.match(value.strip()):
        raise ValueError("use RFC 3339 with an offset, e.g. 2026-12-01T09:00:00+01:00 or ...Z")
    if isinstance(value, int | float):
        raise ValueError("use RFC 3339 with an offset, e.g. 2026-12-01T09:00:00+01:00 or ...Z")
    return value


Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339_only),
    Field(description="RFC 3339 with an offset, e.g. 2026-12-01T09:00:00+01:00"),
]


def _iso_day_only(value: Any) -> Any:
    if not isinstance(value, str) or not _DAY.match(value.strip()):
        raise ValueError("use a date as YYYY-MM-DD, e.g. 2026-12-01")
    return value


Day = Annotated[date, BeforeValidator(_iso_day_only), Field(description="A date as YYYY-MM-DD.")]
