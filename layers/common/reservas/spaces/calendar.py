"""Time in a space's own zone: opening hours as instants, the slot grid, and free intervals.

Everything here is pure (no I/O) and works on aware datetimes. A day is local to the space, so on DST
days it has 23 or 25 hours. Local times that do not exist (the hour skipped in spring) are read as
Python's `zoneinfo` reads them (shifted forward by the gap); the hour repeated in autumn counts twice.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
LONGEST_BOOKING_MINUTES = 31 * MINUTES_PER_DAY  # no space takes a longer booking

OpeningHours = Mapping[str, Sequence[Sequence[str]]]


@dataclass(frozen=True, order=True)
class Interval:
    start: datetime
    end: datetime

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60


def minute_of_day(hhmm: str) -> int:
    """'08:30' -> 510; '24:00' -> 1440 (the end of the day)."""
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def local_instant(day: date, minute: int, zone: ZoneInfo, fold: int = 0) -> datetime:
    """The instant of a wall-clock minute of a local day, in UTC (minute 1440 is the next midnight)."""
    extra_days, minute = divmod(minute, MINUTES_PER_DAY)
    naive = datetime.combine(day + timedelta(days=extra_days), time(minute // 60, minute % 60))
    return naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)


def day_window(first: date, last: date, zone: ZoneInfo) -> Interval:
    """From local midnight starting `first` to local midnight ending `last`."""
    return Interval(local_instant(first, 0, zone), local_instant(last, MINUTES_PER_DAY, zone))


def local_days(window: Interval, zone: ZoneInfo) -> list[date]:
    first = window.start.astimezone(zone).date()
    last = window.end.astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def opening_blocks(opening_hours: OpeningHours, zone: ZoneInfo, window: Interval) -> list[Interval]:
    """The periods the space is open that overlap the window, touching periods merged, so that Friday
    22:00-24:00 and Saturday 00:00-02:00 make one block across midnight."""
    days = local_days(Interval(window.start - timedelta(days=1), window.end + timedelta(days=1)), zone)
    periods = [
        Interval(
            local_instant(day, minute_of_day(open_), zone), local_instant(day, minute_of_day(close), zone)
        )
        for day in days
        for open_, close in opening_hours.get(DAYS[day.weekday()], ())
    ]
    return [block for block in merge(periods) if block.end > window.start and block.start < window.end]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for interval in sorted(intervals):
        if interval.end <= interval.start:
            continue
        if merged and interval.start <= merged[-1].end:
            if interval.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, interval.end)
        else:
            merged.append(interval)
    return merged


def subtract(blocks: Iterable[Interval], busy: Iterable[Interval]) -> list[Interval]:
    """What is left of the blocks once the busy intervals are taken out."""
    busy = merge(busy)
    free: list[Interval] = []
    for block in merge(blocks):
        cursor = block.start
        for taken in busy:
            if taken.end <= cursor or taken.start >= block.end:
                continue
            if taken.start > cursor:
                free.append(Interval(cursor, taken.start))
            cursor = max(cursor, taken.end)
        if cursor < block.end:
            free.append(Interval(cursor, block.end))
    return free


def clip(intervals: Iterable[Interval], window: Interval) -> list[Interval]:
    clipped = (Interval(max(i.start, window.start), min(i.end, window.end)) for i in intervals)
    return [i for i in clipped if i.end > i.start]


def on_grid(instant: datetime, zone: ZoneInfo, slot_minutes: int) -> bool:
    """Slots start where the local wall clock shows a multiple of `slot_minutes` since midnight."""
    local = instant.astimezone(zone)
    return (
        local.second == 0 and local.microsecond == 0 and (local.hour * 60 + local.minute) % slot_minutes == 0
    )


def grid_points(window: Interval, zone: ZoneInfo, slot_minutes: int) -> list[datetime]:
    """Every slot start in the window: wall-clock grid times that exist, both of a repeated hour's."""
    points = set()
    for day in local_days(window, zone):
        for minute in range(0, MINUTES_PER_DAY, slot_minutes):
            for fold in (0, 1):
                instant = local_instant(day, minute, zone, fold)
                local = instant.astimezone(zone)
                if (local.date(), local.hour * 60 + local.minute) != (day, minute):
                    continue  # a wall-clock time the DST change skips
                if window.start <= instant < window.end:
                    points.add(instant)
    return sorted(points)


def slots(free: Sequence[Interval], zone: ZoneInfo, slot_minutes: int) -> list[Interval]:
    """The grid slots that lie wholly inside a free interval (free intervals sorted, not overlapping)."""
    if not free:
        return []
    length = timedelta(minutes=slot_minutes)
    points = grid_points(Interval(free[0].start, free[-1].end), zone, slot_minutes)
    found: list[Interval] = []
    for interval in free:
        first = bisect.bisect_left(points, interval.start)
        last = bisect.bisect_right(points, interval.end - length)
        found.extend(Interval(start, start + length) for start in points[first:last])
    return found


def within_one_block(interval: Interval, blocks: Sequence[Interval]) -> bool:
    return any(block.start <= interval.start and interval.end <= block.end for block in blocks)
