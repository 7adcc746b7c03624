"""Recurrence rules of series: a documented subset of RFC 5545's RRULE, expanded by python-dateutil's
`rrule` in the space's time zone.

The subset: `FREQ` (DAILY, WEEKLY or MONTHLY), `INTERVAL`, `BYDAY` (MO..SU; with MONTHLY also an
ordinal, 1MO for the first Monday, -1FR for the last Friday), `BYMONTHDAY` (MONTHLY only; 1..31 or
-31..-1 counting from the month's end), and exactly one of `COUNT` or `UNTIL` (a date, YYYYMMDD, or a UTC
time, YYYYMMDDTHHMMSSZ; inclusive). Anything else is refused rather than ignored.

How occurrences fall:
- The rule repeats the first occurrence's local wall-clock start in the space's zone, so a weekly 09:00
  meeting stays at 09:00 across daylight-saving changes; each occurrence lasts as long as the first.
- A local start that does not exist (the hour skipped in spring) moves forward by the gap (02:30 becomes
  03:30); one that happens twice (the hour repeated in autumn) is the first of the two. That is how the
  rest of Reservas reads local times.
- As RFC 5545 says, a day that does not exist is no occurrence: a monthly series on the 31st skips the
  months that have no 31st (BYMONTHDAY=-1 is the last day of every month).
- The first occurrence must itself be an occurrence of the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from itertools import islice
from typing import Any, Literal
from zoneinfo import ZoneInfo

from reservas.timestamps import EARLIEST, LATEST

MAX_OCCURRENCES = 104  # two years of a weekly meeting
MAX_INTERVAL = 366
FIRST_YEAR, LAST_YEAR = EARLIEST.year, LATEST.year - 1  # as every instant Reservas takes

# rrule.DAILY, rrule.WEEKLY and rrule.MONTHLY, without importing dateutil until a rule is expanded
_FREQUENCIES: dict[str, Literal[1, 2, 3]] = {"DAILY": 3, "WEEKLY": 2, "MONTHLY": 1}
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # rrule's weekday numbers are their indexes
_BYDAY = re.compile(r"([+-]?[1-5])?(MO|TU|WE|TH|FR|SA|SU)")
_NUMBER = re.compile(r"[+-]?[0-9]{1,3}")
_UNTIL = re.compile(r"([0-9]{8})(?:T([0-9]{6})Z)?")
_KNOWN = ("FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "COUNT", "UNTIL")


class InvalidRule(ValueError):
    """The text is not a rule of the supported subset; the message says what to write instead."""


@dataclass(frozen=True)
class Rule:
    frequency: str
    interval: int
    by_day: tuple[str, ...]
    by_month_day: tuple[int, ...]
    count: int | None
    until: date | datetime | None  # a date, or an aware UTC time

    def __str__(self) -> str:
        parts = [f"FREQ={self.frequency}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.by_day:
            parts.append("BYDAY=" + ",".join(self.by_day))
        if self.by_month_day:
            parts.append("BYMONTHDAY=" + ",".join(map(str, self.by_month_day)))
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        elif isinstance(self.until, datetime):
            parts.append(f"UNTIL={self.until:%Y%m%dT%H%M%SZ}")
        elif self.until is not None:
            parts.append(f"UNTIL={self.until:%Y%m%d}")
        return ";".join(parts)


def parse(text: str) -> Rule:
    body = text.strip().upper().removeprefix("RRULE:")
    fields: dict[str, str] = {}
    for part in body.split(";"):
        name, equals, value = part.partition("=")
        if not equals or not value:
            raise InvalidRule(f"{part!r} is not NAME=VALUE (e.g. FREQ=WEEKLY;BYDAY=MO;COUNT=10)")
        if name not in _KNOWN:
            raise InvalidRule(f"{name} is not supported; use {', '.join(_KNOWN)}")
        if name in fields:
            raise InvalidRule(f"{name} is given twice")
        fields[name] = value
    frequency = fields.get("FREQ")
    if frequency not in _FREQUENCIES:
        raise InvalidRule("FREQ must be DAILY, WEEKLY or MONTHLY")
    if ("COUNT" in fields) == ("UNTIL" in fields):
        raise InvalidRule("give exactly one of COUNT or UNTIL: a series must end")
    return Rule(
        frequency=frequency,
        interval=_number(fields.get("INTERVAL", "1"), "INTERVAL", 1, MAX_INTERVAL),
        by_day=_by_day(fields.get("BYDAY"), frequency),
        by_month_day=_by_month_day(fields.get("BYMONTHDAY"), frequency),
        count=_number(fields["COUNT"], "COUNT", 1, MAX_OCCURRENCES) if "COUNT" in fields else None,
        until=_until(fields["UNTIL"]) if "UNTIL" in fields else None,
    )


def _number(value: str, name: str, lowest: int, highest: int) -> int:
    if not _NUMBER.fullmatch(value) or not lowest <= int(value) <= highest:
        raise InvalidRule(f"{name} must be a whole number from {lowest} to {highest}")
    return int(value)


def _by_day(value: str | None, frequency: str) -> tuple[str, ...]:
    if value is None:
        return ()
    days = tuple(value.split(","))
    for day in days:
        match = _BYDAY.fullmatch(day)
        if match is None:
            raise InvalidRule(f"BYDAY: {day!r} is not a weekday (MO, TU, WE, TH, FR, SA, SU)")
        if match.group(1) and frequency != "MONTHLY":
            raise InvalidRule(f"BYDAY: {day!r}: an ordinal (1MO, -1FR) needs FREQ=MONTHLY")
    if len(set(days)) != len(days):
        raise InvalidRule("BYDAY names a day twice")
    return days


def _by_month_day(value: str | None, frequency: str) -> tuple[int, ...]:
    if value is None:
        return ()
    if frequency != "MONTHLY":
        raise InvalidRule("BYMONTHDAY needs FREQ=MONTHLY")
    days = tuple(_number(day, "BYMONTHDAY", -31, 31) for day in value.split(","))
    if 0 in days or len(set(days)) != len(days):
        raise InvalidRule("BYMONTHDAY: days are 1..31 or -31..-1, each once")
    return days


def _until(value: str) -> date | datetime:
    match = _UNTIL.fullmatch(value)
    try:
        if match is None:
            raise ValueError
        day = datetime.strptime(match.group(1), "%Y%m%d").date()
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise InvalidRule(f"UNTIL falls between {FIRST_YEAR} and {LAST_YEAR}, as every time here")
        if match.group(2) is None:
            return day
        return datetime.combine(day, datetime.strptime(match.group(2), "%H%M%S").time(), UTC)
    except ValueError:
        raise InvalidRule("UNTIL is a date (YYYYMMDD) or a UTC time (YYYYMMDDTHHMMSSZ)") from None


def starts(rule: Rule, first: datetime, zone: ZoneInfo) -> list[datetime]:
    """The occurrences' starts (UTC) from `first` on: COUNT of them, or those until UNTIL, but at most
    one more than MAX_OCCURRENCES (so that a caller can tell a rule with too many). InvalidRule when
    `first` is not an occurrence of the rule."""
    from dateutil import rrule  # on first use: most requests of the function never expand a rule

    local_first = first.astimezone(zone).replace(tzinfo=None)
    until = None
    if isinstance(rule.until, datetime):
        until = rule.until.astimezone(zone).replace(tzinfo=None)
    elif rule.until is not None:
        until = datetime.combine(rule.until, time.max)
    if until is not None and until < local_first:
        raise InvalidRule("UNTIL is before start_time")
    expansion = rrule.rrule(
        _FREQUENCIES[rule.frequency],
        dtstart=local_first,
        interval=rule.interval,
        byweekday=[_weekday(rrule, day) for day in rule.by_day] or None,
        bymonthday=rule.by_month_day or None,
        until=until,
        cache=False,
    )
    wanted = rule.count if rule.count is not None else MAX_OCCURRENCES + 1
    found = list(islice(expansion, wanted))
    if not found or found[0] != local_first:
        raise InvalidRule("start_time must itself be an occurrence of the rule (say, a Monday for BYDAY=MO)")
    return [first.astimezone(UTC)] + [local.replace(tzinfo=zone).astimezone(UTC) for local in found[1:]]


def _weekday(rrule: Any, day: str) -> Any:
    """rrule's weekday for MO, or for 1MO / -1FR with an ordinal."""
    match = _BYDAY.fullmatch(day)
    assert match is not None  # checked by parse
    ordinal, name = match.groups()
    weekday = rrule.weekday(_WEEKDAYS.index(name))
    return weekday(int(ordinal)) if ordinal else weekday
