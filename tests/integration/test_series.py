"""POST /reservations/series: a first occurrence repeated by a rule, in the space's time zone; every
occurrence a reservation like any other, guaranteed by the same constraint."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from reservas.reservations import series as series_service
from reservas.tables import outbox, reservations
from tests.conftest import reset_caches
from tests.integration.conftest import bearer
from tests.support import EVERY_DAY, active_count, at_once, local_time


def first_monday_after(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7 or 7)


@pytest.mark.parametrize("zone", ["Europe/Madrid", "America/New_York"])
def test_a_weekly_series_keeps_its_local_time_across_both_2027_changes(series, spaces_api, zone):
    space = spaces_api.create(timezone=zone, opening_hours=EVERY_DAY)
    first = date(2027, 3, 1)  # a Monday; the changes are in March and in October / November
    answer = series.book(space, first, "09:00", "10:00", "FREQ=WEEKLY;BYDAY=MO;COUNT=40")
    assert answer.status_code == 201, answer.text
    booked = answer.json()
    starts = [datetime.fromisoformat(o["start_time"]) for o in booked["occurrences"]]
    assert len(starts) == 40 and booked["skipped"] == []
    assert {s.astimezone(ZoneInfo(zone)).strftime("%a %H:%M") for s in starts} == {"Mon 09:00"}
    offsets = [s.utcoffset() for s in starts]
    assert offsets[0] == offsets[-1] != offsets[20]  # winter, summer, winter again: both changes crossed
    assert all(o["series_id"] == booked["id"] for o in booked["occurrences"])
    assert all(o["duration_minutes"] == 60 for o in booked["occurrences"])


def test_a_monthly_series_on_the_31st_skips_the_months_without_one(series, spaces_api):
    space = spaces_api.create(opening_hours=EVERY_DAY)
    answer = series.book(space, date(2027, 1, 31), "09:00", "10:00", "FREQ=MONTHLY;BYMONTHDAY=31;COUNT=4")
    assert answer.status_code == 201, answer.text
    days = [o["start_time"][:10] for o in answer.json()["occurrences"]]
    assert days == ["2027-01-31", "2027-03-31", "2027-05-31", "2027-07-31"]
    last_days = series.book(
        space, date(2027, 1, 31), "11:00", "12:00", "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3"
    ).json()
    assert [o["start_time"][:10] for o in last_days["occurrences"]] == [
        "2027-01-31",
        "2027-02-28",
        "2027-03-31",
    ]


def test_all_or_nothing_books_nothing_and_lists_each_occurrence_in_the_way(series, booking, engine):
    monday = booking.day
    assert booking.post("09:00", "10:00", day=monday + timedelta(days=14)).status_code == 201
    before = active_count(engine, booking.space["id"])
    refused = series.book(booking.space, monday, "09:00", "10:00", "FREQ=WEEKLY;COUNT=4")
    assert refused.status_code == 409
    problem = refused.json()
    assert [c["start_time"] for c in problem["conflicts"]] == [
        booking.at("09:00", monday + timedelta(days=14))
    ]
    conflict = problem["conflicts"][0]
    assert conflict["in_the_way"][0]["held_by"] == "booking"
    assert booking.at("10:00", monday + timedelta(days=14)) in [
        s["start_time"] for s in conflict["suggestions"]
    ]
    assert active_count(engine, booking.space["id"]) == before


def test_skip_conflicts_books_the_rest_and_says_why_each_was_skipped(series, booking, engine):
    monday = booking.day
    assert booking.post("09:00", "10:00", day=monday + timedelta(days=7)).status_code == 201
    # Weekdays 08:00-20:00: the Saturday occurrence breaks the opening hours.
    answer = series.book(booking.space, monday, "09:00", "10:00", "FREQ=DAILY;COUNT=6", mode="skip_conflicts")
    assert answer.status_code == 201, answer.text
    booked = answer.json()
    assert len(booked["occurrences"]) == 5
    skipped = {(s["start_time"], s["reason"]) for s in booked["skipped"]}
    assert skipped == {(booking.at("09:00", monday + timedelta(days=5)), "rule")}
    weekly = series.book(
        booking.space, monday, "09:00", "10:00", "FREQ=WEEKLY;COUNT=3", mode="skip_conflicts"
    ).json()
    assert [(s["start_time"], s["reason"]) for s in weekly["skipped"]] == [
        (booking.at("09:00", monday), "taken"),
        (booking.at("09:00", monday + timedelta(days=7)), "taken"),
    ]
    assert len(weekly["occurrences"]) == 1


def test_skip_conflicts_lets_the_database_decide_when_a_writer_slips_past_the_lock(
    series, booking, engine, monkeypatch
):
    """What holds the space is read under its lock; a writer that does not take it (here: the read
    comes back empty, as if made before that writer) still cannot overlap: each occurrence is then
    inserted alone and the constraint decides."""
    monday = booking.day
    assert booking.post("09:00", "10:00", day=monday + timedelta(days=7)).status_code == 201
    monkeypatch.setattr(series_service, "_held_during", lambda *args: [])
    answer = series.book(
        booking.space, monday, "09:00", "10:00", "FREQ=WEEKLY;COUNT=3", mode="skip_conflicts"
    )
    assert answer.status_code == 201, answer.text
    assert [(s["start_time"], s["reason"]) for s in answer.json()["skipped"]] == [
        (booking.at("09:00", monday + timedelta(days=7)), "taken")
    ]
    assert len(answer.json()["occurrences"]) == 2


def test_two_all_or_nothing_series_racing_one_is_booked_whole_the_other_not_at_all(
    series, booking, register, engine
):
    other = register("rival@example.com", name="Rival")
    for round_ in range(4):
        monday = booking.day + timedelta(days=7 * 12 * round_)
        answers = at_once(
            lambda monday=monday: series.book(booking.space, monday, "09:00", "10:00", "FREQ=WEEKLY;COUNT=8"),
            lambda monday=monday: series.book(
                booking.space,
                monday + timedelta(days=14),
                "09:30",
                "10:30",
                "FREQ=WEEKLY;COUNT=8",
                token=other["access_token"],
            ),
        )
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
        winner = next(a for a in answers if a.status_code == 201).json()
        assert len(winner["occurrences"]) == 8
    assert active_count(engine, booking.space["id"]) == 8 * 4


def test_two_skip_conflicts_series_racing_never_overlap_and_each_lists_what_it_skipped(
    series, booking, register, engine
):
    other = register("rival@example.com", name="Rival")
    monday = booking.day
    answers = at_once(
        lambda: series.book(
            booking.space, monday, "09:00", "10:00", "FREQ=WEEKLY;COUNT=6", mode="skip_conflicts"
        ),
        lambda: series.book(
            booking.space,
            monday + timedelta(days=14),
            "09:30",
            "10:30",
            "FREQ=WEEKLY;COUNT=6",
            mode="skip_conflicts",
            token=other["access_token"],
        ),
    )
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    for answer in answers:
        body = answer.json()
        assert len(body["occurrences"]) + len(body["skipped"]) == 6
        assert all(s["reason"] == "taken" for s in body["skipped"])
    # Four weeks overlap (weeks 3 to 6 of the first, 1 to 4 of the second): each went to one of them.
    assert sum(len(a.json()["skipped"]) for a in answers) == 4
    with engine.connect() as connection:
        rows = connection.execute(
            select(reservations.c.start_time, reservations.c.end_time)
            .where(reservations.c.status == "active")
            .order_by(reservations.c.start_time)
        ).all()
    assert all(earlier.end_time <= later.start_time for earlier, later in itertools.pairwise(rows))
    assert len(rows) == 8


def test_the_same_idempotency_key_books_a_series_once(series, booking, engine):
    headers = {"Idempotency-Key": "weekly-standup"}
    first = series.book(booking.space, booking.day, "09:00", "10:00", "FREQ=WEEKLY;COUNT=3", headers=headers)
    again = series.book(booking.space, booking.day, "09:00", "10:00", "FREQ=WEEKLY;COUNT=3", headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert active_count(engine, booking.space["id"]) == 3
    other = series.book(booking.space, booking.day, "11:00", "12:00", "FREQ=WEEKLY;COUNT=3", headers=headers)
    assert other.status_code == 422


def test_a_series_counts_once_against_the_cap_on_upcoming_bookings(series, booking, monkeypatch):
    monkeypatch.setenv("RESERVAS_MAX_ACTIVE_RESERVATIONS", "2")
    reset_caches()
    try:
        answer = series.book(booking.space, booking.day, "09:00", "10:00", "FREQ=WEEKLY;COUNT=20")
        assert answer.status_code == 201, answer.text
        assert booking.post("12:00", "13:00", token=series.token).status_code == 201
        third = series.book(booking.space, booking.day, "15:00", "16:00", "FREQ=WEEKLY;COUNT=2")
        assert third.status_code == 422
        assert "already hold 2 upcoming reservations" in third.json()["detail"]
    finally:
        monkeypatch.undo()
        reset_caches()


def test_a_series_is_its_owners_and_this_and_the_following_can_be_cancelled(
    series, booking, register, admin, engine
):
    booked = series.book(booking.space, booking.day, "09:00", "10:00", "FREQ=WEEKLY;COUNT=5").json()
    path = f"/reservations/series/{booked['id']}"
    stranger = register("stranger@example.com", name="Stranger")
    assert series.api.get(path, headers=bearer(stranger["access_token"])).status_code == 404
    assert series.api.delete(path, headers=bearer(stranger["access_token"])).status_code == 404
    assert series.api.get(path, headers=bearer(admin["access_token"])).status_code == 200
    # One occurrence alone, as any reservation.
    second = booked["occurrences"][1]["id"]
    assert series.api.delete(f"/reservations/{second}", headers=bearer(series.token)).status_code == 200
    # This (the fourth) and the following.
    fourth = booked["occurrences"][3]["start_time"]
    cancelled = series.api.delete(path, params={"from": fourth}, headers=bearer(series.token))
    assert cancelled.status_code == 200
    statuses = [o["status"] for o in cancelled.json()["occurrences"]]
    assert statuses == ["active", "cancelled", "active", "cancelled", "cancelled"]
    assert series.api.get(path, headers=bearer(series.token)).json() == cancelled.json()
    again = series.api.delete(path, params={"from": fourth}, headers=bearer(series.token))
    assert again.json() == cancelled.json()
    with engine.connect() as connection:
        announced = connection.execute(
            select(outbox.c.event_type, outbox.c.payload).where(
                outbox.c.aggregate_id == uuid.UUID(booked["id"])
            )
        ).all()
    assert [event for event, _ in announced] == ["SeriesBooked", "SeriesCancelled"]
    assert len(announced[1].payload["cancelled"]) == 2
    # And every future one: what is left of it.
    everything = series.api.delete(path, headers=bearer(series.token)).json()
    assert {o["status"] for o in everything["occurrences"]} == {"cancelled"}
    assert active_count(engine, booking.space["id"]) == 0


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ("FREQ=WEEKLY", "exactly one of COUNT or UNTIL"),
        ("FREQ=YEARLY;COUNT=2", "FREQ must be"),
        ("FREQ=WEEKLY;COUNT=1000", "COUNT must be"),
        ("FREQ=WEEKLY;COUNT=" + "9" * 200, "COUNT must be"),
        ("FREQ=WEEKLY;INTERVAL=1000000000;COUNT=2", "INTERVAL must be"),
        ("FREQ=WEEKLY;BYSETPOS=1;COUNT=2", "BYSETPOS is not supported"),
        ("FREQ=WEEKLY;BYDAY=TU;COUNT=2", "must itself be an occurrence"),
        ("FREQ=WEEKLY;UNTIL=21991231;COUNT=2", "exactly one of COUNT or UNTIL"),
        ("FREQ=DAILY;UNTIL=21991231", "at most 104 occurrences"),
        ("FREQ=MONTHLY;UNTIL=20291231", "days ahead"),
        ("FREQ=DAILY;UNTIL=2027130", "UNTIL is a date"),
        ("FREQ=WEEKLY;COUNT=2\u0000", "NUL"),
        ("FREQ=WEEKLY;COUNT=2;" + "X" * 10_000, "at most 255"),
    ],
)
def test_a_rule_outside_the_subset_is_a_422_that_says_what_to_write(series, booking, engine, rule, says):
    answer = series.book(booking.space, booking.day, "09:00", "10:00", rule)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert says.lower() in answer.text.lower()
    assert active_count(engine, booking.space["id"]) == 0


def test_occurrences_that_would_overlap_each_other_are_refused(series, spaces_api):
    space = spaces_api.create(opening_hours=EVERY_DAY, max_duration_minutes=2880)
    body = {
        "space_id": space["id"],
        "start_time": local_time(space["timezone"], date(2027, 3, 1), "09:00"),
        "end_time": local_time(space["timezone"], date(2027, 3, 3), "09:00"),
        "rule": "FREQ=DAILY;COUNT=3",
    }
    answer = series.api.post("/reservations/series", json=body, headers=bearer(series.token))
    assert answer.status_code == 422
    assert "overlap each other" in answer.json()["detail"]
