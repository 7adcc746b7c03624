"""Fifty people at once, through the local API over HTTP: the database decides, nobody double-books."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.support import local, next_day, sign_up, space_body

PEOPLE = 50


@pytest.fixture
def crowd(http, local_api, engine, admin_headers):
    """A 24-hour space, and fifty signed-in people."""
    every_day = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    space = http.post(
        "/spaces",
        json=space_body(opening_hours=every_day, max_duration_minutes=60),
        headers=admin_headers,
    ).json()

    def person(n: int) -> str:
        with local_api.client() as client:
            return sign_up(client, engine, f"person{n}@example.com", name=f"Person {n}")["access_token"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        tokens = list(pool.map(person, range(PEOPLE)))
    return space, tokens


def race(local_api, space, tokens, intervals) -> list[int]:
    def book(args) -> int:
        token, (start, end) = args
        with local_api.client() as client:
            body = {"space_id": space["id"], "start_time": start.isoformat(), "end_time": end.isoformat()}
            return client.post(
                "/reservations", json=body, headers={"Authorization": f"Bearer {token}"}
            ).status_code

    with ThreadPoolExecutor(max_workers=PEOPLE) as pool:
        return list(pool.map(book, zip(tokens, intervals, strict=True)))


def overlapping_pairs(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT count(*) FROM reservations a JOIN reservations b ON a.space_id = b.space_id AND a.id < b.id "
                "AND a.status = 'active' AND b.status = 'active' "
                "AND tstzrange(a.start_time, a.end_time) && tstzrange(b.start_time, b.end_time)"
            )
        ).scalar_one()


def deadlocks(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        ).scalar_one()


def test_fifty_requests_for_one_slot_give_one_booking(local_api, crowd, engine):
    space, tokens = crowd
    day = next_day("Europe/Madrid", weekday=2)
    # Overlapping, not identical: each pair of these intervals shares 10:30-11:00.
    slots = [
        (local("Europe/Madrid", day, start), local("Europe/Madrid", day, end))
        for start, end in (("10:00", "11:00"), ("10:30", "11:30"), ("10:30", "11:00"))
    ]
    before = deadlocks(engine)

    statuses = race(local_api, space, tokens, [slots[n % len(slots)] for n in range(PEOPLE)])
    answered = Counter(statuses)
    assert answered == {201: 1, 409: PEOPLE - 1}, answered
    assert overlapping_pairs(engine) == 0
    assert deadlocks(engine) == before  # bookings of one space take turns instead of deadlocking


def test_fifty_requests_for_distinct_slots_all_book(local_api, crowd, engine):
    space, tokens = crowd
    start = local("Europe/Madrid", next_day("Europe/Madrid", weekday=3), "00:00")
    slots = [
        (start + timedelta(minutes=30 * n), start + timedelta(minutes=30 * (n + 1))) for n in range(PEOPLE)
    ]

    statuses = race(local_api, space, tokens, slots)

    assert statuses == [201] * PEOPLE
    assert overlapping_pairs(engine) == 0
