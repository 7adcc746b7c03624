"""The rules a booking interval must follow in a space: one place, used by bookings and by search."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from reservas.spaces.calendar import Interval, OpeningHours, on_grid, opening_blocks, within_one_block


class BookableSpace(Protocol):
    @property
    def timezone(self) -> str: ...
    @property
    def opening_hours(self) -> OpeningHours: ...
    @property
    def slot_minutes(self) -> int: ...
    @property
    def min_duration_minutes(self) -> int: ...
    @property
    def max_duration_minutes(self) -> int: ...
    @property
    def max_advance_days(self) -> int: ...


def booking_problems(space: BookableSpace, start: datetime, end: datetime, now: datetime) -> list[str]:
    """Every rule the interval breaks, each in words a person can act on (empty when it is bookable)."""
    if end <= start:
        return ["end_time must be after start_time"]
    zone = ZoneInfo(space.timezone)
    problems = []
    if start < now:
        problems.append("start_time is in the past")
    elif start > now + timedelta(days=space.max_advance_days):
        problems.append(f"this space takes bookings at most {space.max_advance_days} days ahead")
    minutes = (end - start).total_seconds() / 60
    if minutes < space.min_duration_minutes:
        problems.append(f"a booking of this space lasts at least {space.min_duration_minutes} minutes")
    elif minutes > space.max_duration_minutes:
        problems.append(f"a booking of this space lasts at most {space.max_duration_minutes} minutes")
    if minutes % space.slot_minutes or not on_grid(start, zone, space.slot_minutes):
        problems.append(
            f"bookings of this space start and end on its {space.slot_minutes}-minute grid "
            f"(local time in {space.timezone})"
        )
    interval = Interval(start, end)
    # Looking at opening hours costs a little per day: only for an interval no longer than the space's
    # longest booking (31 days at most), never for one already refused for its length.
    if minutes <= space.max_duration_minutes and not within_one_block(
        interval, opening_blocks(space.opening_hours, zone, interval)
    ):
        problems.append(
            f"the space is not open for the whole interval (opening hours are in {space.timezone})"
        )
    return problems
