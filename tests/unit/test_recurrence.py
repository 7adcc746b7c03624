"""The recurrence subset (reservas/reservations/recurrence.py): what a rule means in a space's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from reservas.reservations.recurrence import MAX_OCCURRENCES, InvalidRule, parse, starts

MADRID = ZoneInfo("Europe/Madrid")


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=MADRID)


def test_a_start_the_spring_change_skips_moves_forward_by_the_gap():
    found = starts(parse("FREQ=DAILY;COUNT=3"), local(2027, 3, 27, 2, 30), MADRID)
    assert [s.astimezone(MADRID).strftime("%d %H:%M") for s in found] == ["27 02:30", "28 03:30", "29 02:30"]


def test_a_start_the_autumn_change_repeats_is_the_first_of_the_two():
    found = starts(parse("FREQ=DAILY;COUNT=2"), local(2027, 10, 30, 2, 30), MADRID)
    assert found[1] == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # 02:30 CEST, not 02:30 CET


def test_the_rule_is_kept_in_one_spelling():
    assert str(parse(" rrule:freq=weekly;byday=mo,we;until=20270301t000000z ")) == (
        "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20270301T000000Z"
    )
    assert (
        str(parse("FREQ=MONTHLY;INTERVAL=2;BYDAY=-1FR;COUNT=3"))
        == "FREQ=MONTHLY;INTERVAL=2;BYDAY=-1FR;COUNT=3"
    )


def test_until_is_inclusive_and_an_ordinal_weekday_is_monthly():
    found = starts(parse("FREQ=MONTHLY;BYDAY=1MO;UNTIL=20270405"), local(2027, 1, 4, 9, 0), MADRID)
    assert [s.astimezone(MADRID).date().isoformat() for s in found] == [
        "2027-01-04",
        "2027-02-01",
        "2027-03-01",
        "2027-04-05",
    ]


def test_expansion_stops_one_past_the_most_allowed():
    daily = parse("FREQ=DAILY;UNTIL=21991231")
    assert len(starts(daily, local(2027, 1, 4, 9, 0), MADRID)) == MAX_OCCURRENCES + 1


def test_an_until_before_the_start_is_refused():
    with pytest.raises(InvalidRule, match="UNTIL is before start_time"):
        starts(parse("FREQ=DAILY;UNTIL=20270101"), local(2027, 1, 4, 9, 0), MADRID)


@pytest.mark.parametrize(
    "rule",
    [
        "",
        "FREQ=WEEKLY",
        "FREQ=WEEKLY;COUNT=2;COUNT=3",
        "FREQ=WEEKLY;BYDAY=1MO;COUNT=2",
        "FREQ=WEEKLY;BYMONTHDAY=1;COUNT=2",
        "FREQ=MONTHLY;BYMONTHDAY=0;COUNT=2",
        "FREQ=MONTHLY;BYMONTHDAY=32;COUNT=2",
        "FREQ=DAILY;UNTIL=20270230",
        "FREQ=DAILY;COUNT=0",
        "FREQ=DAILY;COUNT=٣",
        "FREQ=DAILY;BYDAY=MO,MO;COUNT=2",
        "FREQ=DAILY;;COUNT=2",
    ],
)
def test_what_is_outside_the_subset_is_refused(rule):
    with pytest.raises(InvalidRule):
        parse(rule)
