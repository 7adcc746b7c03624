"""GET /spaces/available: which spaces can be booked for this interval, and at what cost."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support import local, next_day

ZONE = "Europe/Madrid"


@pytest.fixture
def monday():
    return next_day(ZONE, weekday=0)


def search(spaces_api, start, end, **params):
    response = spaces_api.get(
        "/spaces/available", start_time=start.isoformat(), end_time=end.isoformat(), **params
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_only_open_free_and_fitting_spaces_with_their_cost(spaces_api, book, monday):
    start, end = local(ZONE, monday, "10:00"), local(ZONE, monday, "11:30")
    free = spaces_api.create(name="A free room", price_per_hour="25.00")
    booked = spaces_api.create(name="B booked room")
    spaces_api.create(name="C closed room", opening_hours={"sat": [["08:00", "20:00"]]})
    spaces_api.create(name="D small room", capacity=2)
    spaces_api.create(name="E room without a projector", amenities=["whiteboard"])
    spaces_api.create(name="F coarse grid", slot_minutes=60, min_duration_minutes=60)
    book(booked, local(ZONE, monday, "11:00"), local(ZONE, monday, "12:00"))

    result = search(spaces_api, start, end, capacity_min=4, amenities="projector")

    assert [s["name"] for s in result["items"]] == ["A free room"]
    [found] = result["items"]
    assert found["id"] == free["id"]
    assert found["cost"] == {"amount": "37.50", "currency": "EUR"}
    assert found["duration_minutes"] == 90


def test_back_to_back_is_free(spaces_api, book, monday):
    room = spaces_api.create()
    book(room, local(ZONE, monday, "09:00"), local(ZONE, monday, "10:00"))
    result = search(spaces_api, local(ZONE, monday, "10:00"), local(ZONE, monday, "11:00"))
    assert [s["id"] for s in result["items"]] == [room["id"]]


def test_deactivated_spaces_are_never_offered(spaces_api, client_for, monday):
    room = spaces_api.create()
    client_for("spaces").delete(f"/spaces/{room['id']}", headers=spaces_api.admin_headers)
    assert search(spaces_api, local(ZONE, monday, "10:00"), local(ZONE, monday, "11:00"))["items"] == []


def test_results_page_past_spaces_that_do_not_fit(spaces_api, monday):
    for n in range(5):
        spaces_api.create(name=f"Room {n}", opening_hours={"mon": [["08:00", "20:00"]]} if n % 2 == 0 else {})
    start, end = local(ZONE, monday, "10:00"), local(ZONE, monday, "11:00")
    first = search(spaces_api, start, end, limit=2)
    assert [s["name"] for s in first["items"]] == ["Room 0", "Room 2"]
    second = search(spaces_api, start, end, limit=2, cursor=first["next_cursor"])
    assert [s["name"] for s in second["items"]] == ["Room 4"] and second["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start_time": "2030-01-07T10:00:00", "end_time": "2030-01-07T11:00:00+01:00"}, "with an offset"),
        ({"start_time": "1893459600", "end_time": "2030-01-07T11:00:00+01:00"}, "RFC 3339"),
        (
            {"start_time": "2030-01-07T11:00:00+01:00", "end_time": "2030-01-07T10:00:00+01:00"},
            "after start_time",
        ),
        ({"start_time": "tomorrow", "end_time": "2030-01-07T10:00:00+01:00"}, "RFC 3339"),
        ({"end_time": "2030-01-07T10:00:00+01:00"}, "required"),
    ],
)
def test_bad_intervals_are_422(spaces_api, params, message):
    response = spaces_api.get("/spaces/available", **params)
    assert response.status_code == 422
    assert message.lower() in response.text.lower()


def test_a_time_in_another_zone_means_the_same_instant(spaces_api, monday):
    room = spaces_api.create()
    start = local(ZONE, monday, "10:00").astimezone(ZoneInfo("Asia/Tokyo"))
    result = search(spaces_api, start, start + timedelta(hours=1))
    assert [s["id"] for s in result["items"]] == [room["id"]]
