"""Buffers: a space may keep time free before each booking (set-up) and after it (cleaning). Two bookings
of the space are then at least buffer_after + buffer_before apart, and the database keeps it so."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import exc, insert, select, text, update

from reservas.database import DEADLOCK_DETECTED, EXCLUSION_VIOLATION, sqlstate
from reservas.tables import reservations, spaces, users
from tests.integration.conftest import bearer
from tests.support import at_once


def buffered(booking, spaces_api, before=15, after=30):
    """Give the booking fixture's space buffers (through the API)."""
    response = spaces_api.update(
        booking.space["id"], buffer_before_minutes=before, buffer_after_minutes=after
    )
    assert response.status_code == 200, response.text
    assert response.json()["buffer_after_minutes"] == after


def test_a_booking_must_leave_the_buffers_free(booking, client_for, spaces_api):
    buffered(booking, spaces_api, before=15, after=30)
    assert booking.post("10:00", "11:00").status_code == 201
    # 11:00 would start inside the 30 minutes of cleaning, and its own 15 of set-up before it.
    refused = booking.post("11:00", "12:00")
    assert refused.status_code == 409
    assert refused.json()["conflicts"] == [
        {"start_time": booking.at("09:45"), "end_time": booking.at("11:30"), "held_by": "booking"}
    ]
    # The suggestions fit the buffers too: 11:45 at the earliest (11:30 cleaning + 15 set-up), so
    # 12:00 on the space's 30-minute grid.
    suggested = [s["start_time"] for s in refused.json()["suggestions"]]
    assert booking.at("12:00") in suggested
    assert booking.at("11:30") not in suggested
    assert booking.post("11:30", "12:30").status_code == 409
    assert booking.post("12:00", "13:00").status_code == 201
    # Before a booking: its set-up (15) and the earlier one's cleaning (30) must both fit.
    assert booking.post("08:30", "09:30").status_code == 409
    assert booking.post("08:00", "09:00").status_code == 201


def test_availability_shows_only_start_times_whose_buffers_fit(booking, spaces_api):
    buffered(booking, spaces_api, before=15, after=30)
    assert booking.post("10:00", "11:00").status_code == 201
    day = spaces_api.get(f"/spaces/{booking.space['id']}/availability", date=str(booking.day)).json()
    assert {"start_time": booking.at("08:00"), "end_time": booking.at("09:15")} in day["free"]
    assert {"start_time": booking.at("11:45"), "end_time": booking.at("20:00")} in day["free"]
    starts = [slot["start_time"] for slot in day["slots"]]
    assert booking.at("08:30") in starts  # 08:30-09:00, then its 30 of cleaning and the 15 of set-up
    assert booking.at("09:00") not in starts
    assert booking.at("11:30") not in starts
    assert booking.at("11:45") not in starts  # not on the 30-minute grid
    assert booking.at("12:00") in starts


def test_search_for_free_spaces_counts_the_buffers(booking, spaces_api):
    buffered(booking, spaces_api, before=0, after=30)
    assert booking.post("10:00", "11:00").status_code == 201
    found = spaces_api.get(
        "/spaces/available", start_time=booking.at("11:00"), end_time=booking.at("12:00")
    ).json()
    assert booking.space["id"] not in [space["id"] for space in found["items"]]
    found = spaces_api.get(
        "/spaces/available", start_time=booking.at("11:30"), end_time=booking.at("12:30")
    ).json()
    assert booking.space["id"] in [space["id"] for space in found["items"]]


def test_moving_a_booking_keeps_clear_of_the_others_buffers(booking, spaces_api):
    buffered(booking, spaces_api, before=0, after=30)
    assert booking.post("10:00", "11:00").status_code == 201
    mine = booking.post("14:00", "15:00").json()
    headers = bearer(booking.user["access_token"])
    moved = booking.api.patch(
        f"/reservations/{mine['id']}",
        json={"start_time": booking.at("11:00"), "end_time": booking.at("12:00")},
        headers=headers,
    )
    assert moved.status_code == 409
    # Its own buffers are never in its own way: it may grow into them.
    grown = booking.api.patch(
        f"/reservations/{mine['id']}", json={"end_time": booking.at("15:30")}, headers=headers
    )
    assert grown.status_code == 200


def test_bookings_keep_the_buffers_they_were_booked_with(booking, spaces_api):
    assert booking.post("10:00", "11:00").status_code == 201
    buffered(booking, spaces_api, before=0, after=30)
    # The earlier booking holds 10:00-11:00 only; the new one must keep 30 minutes free after itself.
    assert booking.post("11:00", "12:00").status_code == 201
    assert booking.post("08:00", "10:00").status_code == 409
    assert booking.post("08:00", "09:30").status_code == 201


def test_buffers_hold_when_bookings_race_past_the_api(engine):
    """Two transactions insert bookings 10:00-11:00 and 11:00-12:00 at the same instant, without the
    space lock the API takes: the constraint alone decides, and one of them loses."""
    with engine.begin() as connection:
        user_id = connection.execute(
            insert(users).values(email="r@example.com", password_hash="x", name="R").returning(users.c.id)
        ).scalar_one()
        space_id = connection.execute(
            insert(spaces).values(name="Room", capacity=4, buffer_after_minutes=30).returning(spaces.c.id)
        ).scalar_one()
    from tests.integration.test_no_double_booking import DAY, race

    for round_ in range(5):
        day = DAY + timedelta(days=round_)
        intervals = [(day, day + timedelta(hours=1)), (day + timedelta(hours=1), day + timedelta(hours=2))]
        outcomes = race(engine, intervals, space_id, user_id)
        assert outcomes.count("committed") == 1, outcomes
        assert all(o in (EXCLUSION_VIOLATION, DEADLOCK_DETECTED) for o in outcomes if o != "committed"), (
            outcomes
        )


def test_the_api_never_books_within_each_others_buffers_under_a_race(booking, register, spaces_api):
    buffered(booking, spaces_api, before=0, after=30)
    other = register("other@example.com", name="Other")
    answers = at_once(
        lambda: booking.post("10:00", "11:00"),
        lambda: booking.post("11:00", "12:00", token=other["access_token"]),
    )
    assert sorted(a.status_code for a in answers) == [201, 409]


def test_a_hold_follows_its_booking_whatever_changes_it(engine, booking, spaces_api):
    """The trigger keeps holds right for every statement, not only the service's: a cancelled booking
    frees its time with its buffers, an active one always holds its padded time."""
    buffered(booking, spaces_api, before=0, after=30)
    first = booking.post("10:00", "11:00").json()
    with engine.begin() as connection:
        connection.execute(
            update(reservations)
            .where(reservations.c.id == uuid.UUID(first["id"]))
            .values(status="cancelled", cancelled_at=text("now()"))
        )
    assert booking.post("11:00", "12:00").status_code == 201
    with engine.connect() as connection, pytest.raises(exc.DBAPIError) as refused:
        connection.execute(
            update(reservations)
            .where(reservations.c.id == uuid.UUID(first["id"]))
            .values(status="active", cancelled_at=None)
        )
    assert sqlstate(refused.value) == EXCLUSION_VIOLATION
    with engine.connect() as connection:
        held = connection.execute(text("SELECT count(*) FROM holds")).scalar_one()
        active = connection.execute(select(reservations.c.id).where(reservations.c.status == "active")).all()
    assert held == len(active) == 1
