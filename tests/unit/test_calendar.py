"""Opening hours as instants, the slot grid and free time, on ordinary days and on DST days."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reservas.spaces.calendar import (
    Interval,
    clip,
    day_window,
    grid_points,
    on_grid,
    opening_blocks,
    slots,
    subtract,
)

MADRID, NEW_YORK = ZoneInfo("Europe/Madrid"), ZoneInfo("America/New_York")
ALL_DAY = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def blocks_of(hours, zone, day):
    """The open periods of one local day, as availability shows them."""
    window = day_window(day, day, zone)
    return clip(opening_blocks(hours, zone, window), window)


def test_an_ordinary_day_with_a_lunch_break():
    hours = {"mon": [["08:00", "14:00"], ["15:00", "20:00"]]}
    assert blocks_of(hours, MADRID, date(2027, 1, 11)) == [
        Interval(utc(2027, 1, 11, 7), utc(2027, 1, 11, 13)),
        Interval(utc(2027, 1, 11, 14), utc(2027, 1, 11, 19)),
    ]
    assert blocks_of(hours, MADRID, date(2027, 1, 12)) == []  # Tuesday: closed


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        (MADRID, date(2027, 3, 28), 23),  # spring forward
        (MADRID, date(2027, 10, 31), 25),  # fall back
        (NEW_YORK, date(2027, 3, 14), 23),
        (NEW_YORK, date(2027, 11, 7), 25),
        (NEW_YORK, date(2027, 6, 1), 24),
    ],
)
def test_a_space_open_all_day_is_open_as_long_as_the_day(zone, day, hours):
    [block] = blocks_of(ALL_DAY, zone, day)
    assert block.minutes == hours * 60
    assert block.start.astimezone(zone).time().hour == 0


@pytest.mark.parametrize(
    ("zone", "day", "count"),
    [(MADRID, date(2027, 3, 28), 46), (MADRID, date(2027, 10, 31), 50), (NEW_YORK, date(2027, 11, 7), 50)],
)
def test_half_hour_slots_on_dst_days(zone, day, count):
    found = slots(blocks_of(ALL_DAY, zone, day), zone, 30)
    assert len(found) == count
    assert all(s.minutes == 30 for s in found)
    assert all(a.end == b.start for a, b in itertools.pairwise(found))  # no gaps, no overlaps


def test_business_hours_on_the_spring_day_keep_their_local_times():
    hours = {"sun": [["09:00", "13:00"]]}
    [block] = blocks_of(hours, MADRID, date(2027, 3, 28))
    assert block.start.astimezone(MADRID).isoformat() == "2027-03-28T09:00:00+02:00"
    assert block.minutes == 240


def test_hours_across_midnight_make_one_block():
    hours = {"fri": [["18:00", "24:00"]], "sat": [["00:00", "02:00"]]}
    window = day_window(date(2027, 1, 15), date(2027, 1, 16), MADRID)
    [block] = clip(opening_blocks(hours, MADRID, window), window)
    assert block == Interval(utc(2027, 1, 15, 17), utc(2027, 1, 16, 1))
    found = slots([block], MADRID, 60)
    assert [s.start.astimezone(MADRID).hour for s in found] == [18, 19, 20, 21, 22, 23, 0, 1]


def test_back_to_back_bookings_leave_no_crumbs():
    block = Interval(utc(2027, 1, 11, 7), utc(2027, 1, 11, 13))
    busy = [
        Interval(utc(2027, 1, 11, 8), utc(2027, 1, 11, 9)),
        Interval(utc(2027, 1, 11, 9), utc(2027, 1, 11, 10)),
        Interval(utc(2027, 1, 11, 12), utc(2027, 1, 11, 14)),
    ]
    assert subtract([block], busy) == [
        Interval(utc(2027, 1, 11, 7), utc(2027, 1, 11, 8)),
        Interval(utc(2027, 1, 11, 10), utc(2027, 1, 11, 12)),
    ]


def test_a_fully_booked_day_has_nothing_free():
    block = Interval(utc(2027, 1, 11, 7), utc(2027, 1, 11, 19))
    assert subtract([block], [Interval(utc(2027, 1, 11, 6), utc(2027, 1, 11, 20))]) == []


def test_the_grid_follows_the_local_clock():
    assert on_grid(utc(2027, 1, 11, 7, 30), MADRID, 30)  # 08:30 local
    assert not on_grid(utc(2027, 1, 11, 7, 15), MADRID, 30)
    assert not on_grid(utc(2027, 1, 11, 7, 30, 1), MADRID, 30)
    assert on_grid(utc(2027, 1, 11, 7, 45), MADRID, 15)


def test_the_repeated_hour_has_grid_points_twice_and_the_skipped_hour_none():
    autumn = day_window(date(2027, 10, 31), date(2027, 10, 31), MADRID)
    local = [p.astimezone(MADRID).strftime("%H:%M%z") for p in grid_points(autumn, MADRID, 60)]
    assert local[:5] == ["00:00+0200", "01:00+0200", "02:00+0200", "02:00+0100", "03:00+0100"]
    spring = day_window(date(2027, 3, 28), date(2027, 3, 28), MADRID)
    local = [p.astimezone(MADRID).strftime("%H:%M") for p in grid_points(spring, MADRID, 60)]
    assert "02:00" not in local and len(local) == 23


def test_slots_only_where_a_whole_slot_fits():
    free = [Interval(utc(2027, 1, 11, 7, 10), utc(2027, 1, 11, 8, 40))]
    assert [s.start for s in slots(free, MADRID, 30)] == [utc(2027, 1, 11, 7, 30), utc(2027, 1, 11, 8, 0)]
    assert slots(free, MADRID, 30)[-1].end == utc(2027, 1, 11, 8, 30)
    assert (
        slots([Interval(utc(2027, 1, 11, 7), utc(2027, 1, 11, 7) + timedelta(minutes=20))], MADRID, 30) == []
    )
