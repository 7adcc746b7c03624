"""Free time a person can trust: every day of the year, in every time zone, fresh after every change."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from reservas.tables import reservations, users
from tests.support import local, next_day

ALL_DAY = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def availability(spaces_api, space, **params) -> dict:
    response = spaces_api.get(f"/spaces/{space['id']}/availability", **params)
    assert response.status_code == 200, response.text
    return response.json()


def spans(items: list[dict]) -> list[tuple[str, str]]:
    return [(i["start_time"], i["end_time"]) for i in items]


def test_an_ordinary_day(spaces_api, book):
    space = spaces_api.create(opening_hours={"mon": [["08:00", "14:00"], ["15:00", "20:00"]]})
    monday = next_day("Europe/Madrid", weekday=0)
    book(space, local("Europe/Madrid", monday, "09:00"), local("Europe/Madrid", monday, "10:00"))

    result = availability(spaces_api, space, date=monday.isoformat())

    offset = local("Europe/Madrid", monday, "12:00").strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}"
    at = lambda hhmm: f"{monday.isoformat()}T{hhmm}:00{offset}"  # noqa: E731
    assert result["timezone"] == "Europe/Madrid"
    assert result["from"] == at("00:00")
    assert spans(result["free"]) == [
        (at("08:00"), at("09:00")),
        (at("10:00"), at("14:00")),
        (at("15:00"), at("20:00")),
    ]
    assert len(result["slots"]) == 2 + 8 + 10
    assert result["slots"][0] == {"start_time": at("08:00"), "end_time": at("08:30")}


@pytest.mark.parametrize(
    ("zone", "hours"),
    [("Europe/Madrid", 23), ("Europe/Madrid", 25), ("America/New_York", 23), ("America/New_York", 25)],
)
def test_dst_days_have_23_or_25_hours_of_free_time(spaces_api, zone, hours):
    space = spaces_api.create(timezone=zone, opening_hours=ALL_DAY)
    day = next_day(zone, hours=hours)
    result = availability(spaces_api, space, date=day.isoformat())
    [free] = result["free"]
    start, end = datetime.fromisoformat(free["start_time"]), datetime.fromisoformat(free["end_time"])
    assert end - start == timedelta(hours=hours)
    assert start.astimezone(ZoneInfo(zone)).hour == 0
    assert len(result["slots"]) == hours * 2
    assert free["start_time"][-6:] != free["end_time"][-6:]  # the offset changed during the day


def test_hours_across_midnight_join_into_one_free_interval(spaces_api):
    space = spaces_api.create(opening_hours={"fri": [["22:00", "24:00"]], "sat": [["00:00", "02:00"]]})
    friday = next_day("Europe/Madrid", weekday=4)
    saturday = friday + timedelta(days=1)
    [free] = availability(spaces_api, space, **{"from": friday.isoformat(), "to": saturday.isoformat()})[
        "free"
    ]
    assert datetime.fromisoformat(free["start_time"]) == local("Europe/Madrid", friday, "22:00")
    assert datetime.fromisoformat(free["end_time"]) == local("Europe/Madrid", saturday, "02:00")
    only_friday = availability(spaces_api, space, date=friday.isoformat())
    assert len(only_friday["free"]) == 1 and len(only_friday["slots"]) == 4


def test_a_fully_booked_day_and_back_to_back_bookings(spaces_api, book):
    space = spaces_api.create()
    monday = next_day("Europe/Madrid", weekday=0)
    tuesday = monday + timedelta(days=1)
    book(space, local("Europe/Madrid", monday, "07:00"), local("Europe/Madrid", monday, "21:00"))
    for start, end in (("09:00", "10:00"), ("10:00", "11:00"), ("11:00", "12:30")):
        book(space, local("Europe/Madrid", tuesday, start), local("Europe/Madrid", tuesday, end))

    full = availability(spaces_api, space, date=monday.isoformat())
    assert full["free"] == [] and full["slots"] == []
    busy = availability(spaces_api, space, date=tuesday.isoformat())
    assert [
        (datetime.fromisoformat(a).strftime("%H:%M"), datetime.fromisoformat(b).strftime("%H:%M"))
        for a, b in spans(busy["free"])
    ] == [("08:00", "09:00"), ("12:30", "20:00")]


def test_cancelled_bookings_do_not_take_time(spaces_api, engine):
    space = spaces_api.create()
    monday = next_day("Europe/Madrid", weekday=0)
    with engine.begin() as connection:
        user_id = connection.execute(select(users.c.id).limit(1)).scalar_one()
        connection.execute(
            insert(reservations).values(
                user_id=user_id,
                space_id=space["id"],
                status="cancelled",
                cancelled_at=datetime.now(ZoneInfo("UTC")),
                start_time=local("Europe/Madrid", monday, "08:00"),
                end_time=local("Europe/Madrid", monday, "20:00"),
            )
        )
    assert len(availability(spaces_api, space, date=monday.isoformat())["free"]) == 1


def test_the_past_and_beyond_the_horizon_are_not_free(spaces_api):
    space = spaces_api.create(opening_hours=ALL_DAY, max_advance_days=3)
    assert availability(spaces_api, space, date="2020-01-06")["free"] == []
    far = date.today() + timedelta(days=30)
    assert availability(spaces_api, space, date=far.isoformat())["free"] == []
    today = availability(spaces_api, space, date=date.today().isoformat())
    if today["free"]:
        assert datetime.fromisoformat(today["free"][0]["start_time"]) >= datetime.now(
            ZoneInfo("UTC")
        ) - timedelta(seconds=5)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "Give `date=YYYY-MM-DD`"),
        ({"date": "2030-01-07", "from": "2030-01-07"}, "not both"),
        ({"from": "2030-01-07"}, "Give `date=YYYY-MM-DD`"),
        ({"from": "2030-01-10", "to": "2030-01-07"}, "before"),
        ({"from": "2030-01-01", "to": "2030-02-01"}, "at most 31 days"),
        ({"date": "2030-02-30"}, "valid date"),
        ({"date": "next monday"}, "YYYY-MM-DD"),
        ({"date": "0"}, "YYYY-MM-DD"),
    ],
)
def test_bad_ranges_are_422(spaces_api, params, message):
    space = spaces_api.create()
    response = spaces_api.get(f"/spaces/{space['id']}/availability", **params)
    assert response.status_code == 422
    assert message.lower() in response.text.lower()


def test_thirty_one_days_at_once(spaces_api):
    space = spaces_api.create()
    first = next_day("Europe/Madrid", weekday=0)
    result = availability(
        spaces_api, space, **{"from": first.isoformat(), "to": (first + timedelta(days=30)).isoformat()}
    )
    weekdays = sum(1 for n in range(31) if (first + timedelta(days=n)).weekday() < 5)
    assert len(result["free"]) == weekdays


def test_cached_availability_changes_the_moment_a_booking_does(spaces_api, engine, book):
    space = spaces_api.create()
    monday = next_day("Europe/Madrid", weekday=0)
    before = availability(spaces_api, space, date=monday.isoformat())
    assert len(before["free"]) == 1

    # Written behind the service's back (no invalidation): the cached answer stands, so the cache is on.
    with engine.begin() as connection:
        user_id = connection.execute(select(users.c.id).limit(1)).scalar_one()
        connection.execute(
            insert(reservations).values(
                user_id=user_id,
                space_id=space["id"],
                start_time=local("Europe/Madrid", monday, "08:00"),
                end_time=local("Europe/Madrid", monday, "09:00"),
            )
        )
    assert availability(spaces_api, space, date=monday.isoformat()) == before

    book(space, local("Europe/Madrid", monday, "12:00"), local("Europe/Madrid", monday, "13:00"))
    after = availability(spaces_api, space, date=monday.isoformat())
    assert len(after["free"]) == 2  # both bookings show once the booking path announces its change


def test_editing_a_space_refreshes_its_cached_availability(spaces_api, client_for):
    space = spaces_api.create()
    monday = next_day("Europe/Madrid", weekday=0)
    assert len(availability(spaces_api, space, date=monday.isoformat())["free"]) == 1
    client_for("spaces").put(
        f"/spaces/{space['id']}",
        json={"opening_hours": {"mon": [["10:00", "12:00"], ["13:00", "14:00"]]}},
        headers=spaces_api.admin_headers,
    )
    assert len(availability(spaces_api, space, date=monday.isoformat())["free"]) == 2


def test_availability_without_redis(spaces_api, broken_service, book):
    space = spaces_api.create()
    monday = next_day("Europe/Madrid", weekday=0)
    broken_service("REDIS_URL")
    book(space, local("Europe/Madrid", monday, "08:00"), local("Europe/Madrid", monday, "09:00"))
    assert len(availability(spaces_api, space, date=monday.isoformat())["free"]) == 1
    assert spaces_api.get("/spaces").status_code == 200
