"""Rate limits as the settings write them: `100/minute;20/second`, `5 per 15 minutes`, `1/2 hours`
(several joined by `;`, `,` or `|`). The notation is the `limits` library's, which counted these windows
before rate_limits' script did; it is read here, not with that library, which loads 13 ms of modules on
every cold start for these few lines."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

DAY = 86_400
UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": DAY, "month": 30 * DAY, "year": 360 * DAY}
# Far beyond any use, and within what Redis's EXPIRE takes (`1/999999999 years` is not).
LONGEST_YEARS = 100


@dataclass(frozen=True)
class Window:
    """One limit: at most `amount` requests in any `multiples` x `unit` (`100/minute`: 100, 1, minute)."""

    amount: int
    multiples: int
    unit: str

    @property
    def seconds(self) -> int:
        return UNIT_SECONDS[self.unit] * self.multiples

    def key_for(self, *identifiers: str) -> str:
        """The window's name for these identifiers, as the `limits` library named it: windows counted
        before a deploy still count after it."""
        return "/".join(["LIMITER", *identifiers, str(self.amount), str(self.multiples), self.unit])


_WINDOW = re.compile(r"\s*([0-9]{1,9})\s*(?:/|per)\s*([0-9]{1,9})?\s*([a-z]+?)s?\s*", re.IGNORECASE)


@functools.cache
def parse_limits(notation: str) -> list[Window]:
    """The windows of a notation; ValueError naming what is wrong."""
    windows = []
    for part in re.split(r"[;,|]", notation):
        match = _WINDOW.fullmatch(part)
        unit = match[3].lower() if match else ""
        if match is None or unit not in UNIT_SECONDS:
            raise ValueError(f"{part.strip()!r} is not a rate limit like '100/minute' or '5 per 15 minutes'")
        amount, multiples = int(match[1]), int(match[2] or 1)
        if amount < 1 or multiples < 1:
            raise ValueError(f"{part.strip()!r}: a rate limit allows at least 1 request in at least 1 {unit}")
        window = Window(amount, multiples, unit)
        if window.seconds > LONGEST_YEARS * UNIT_SECONDS["year"]:
            raise ValueError(f"{part.strip()!r}: a rate limit's window lasts at most {LONGEST_YEARS} years")
        windows.append(window)
    return windows
