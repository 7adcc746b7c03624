"""Series and buffers, attacked: what broke once (a 500, a refusal that misled, a person who could not
leave), each now a test."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import event, func, select

from reservas.database import get_engine
from reservas.tables import outbox, reservations, users
from tests.conftest import reset_caches
from tests.integration.conftest import bearer
from tests.support import EVERY_DAY, STRONG_PASSWORD, active_count


def test_an_until_near_year_1_or_9999_is_a_422(series, booking):
    for until in ("99991231T235959Z", "00010101T000000Z", "21991231T235959Z"):
        answer = series.book(booking.space, booking.day, "09:00", "10:00", f"FREQ=WEEKLY;UNTIL={until}")
        assert answer.status_code == 422, answer.text


def test_an_until_before_the_start_says_so(series, booking):
    answer = series.book(booking.space, booking.day, "09:00", "10:00", "FREQ=WEEKLY;UNTIL=20260101")
    assert answer.status_code == 422
    assert "UNTIL is before start_time" in answer.json()["detail"]


def test_an_end_before_the_start_is_a_422_in_both_modes(series, booking):
    for mode in ("all_or_nothing", "skip_conflicts"):
        answer = series.book(booking.space, booking.day, "10:00", "09:00", "FREQ=WEEKLY;COUNT=1", mode=mode)
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["loc"] == ["body", "end_time"]


def test_skip_conflicts_with_nothing_bookable_is_the_documented_409(series, booking, engine):
    monday = booking.day
    for week in range(2):
        assert booking.post("09:00", "10:00", day=monday + timedelta(days=7 * week)).status_code == 201
    taken = series.book(booking.space, monday, "09:00", "10:00", "FREQ=WEEKLY;COUNT=2", mode="skip_conflicts")
    assert taken.status_code == 409, taken.text
    assert [s["reason"] for s in taken.json()["skipped"]] == ["taken", "taken"]
    saturday = monday + timedelta(days=5)  # the space is closed at weekends
    closed = series.book(
        booking.space, saturday, "09:00", "10:00", "FREQ=DAILY;COUNT=2", mode="skip_conflicts"
    )
    assert closed.status_code == 409, closed.text
    assert [s["reason"] for s in closed.json()["skipped"]] == ["rule", "rule"]
    assert active_count(engine, booking.space["id"]) == 2


def test_the_end_a_422_suggests_is_accepted(series, spaces_api):
    space = spaces_api.create(opening_hours=EVERY_DAY, max_advance_days=20)
    first = date.today() + timedelta(days=2)
    for rule in (f"FREQ=DAILY;UNTIL={first + timedelta(days=60):%Y%m%d}", "FREQ=DAILY;COUNT=40"):
        refused = series.book(space, first, "09:00", "10:00", rule)
        assert refused.status_code == 422
        until, count = re.search(r"UNTIL=(\d{8}) or COUNT=(\d+)", refused.json()["detail"]).groups()
        for suggested in (f"FREQ=DAILY;UNTIL={until}", f"FREQ=DAILY;COUNT={count}"):
            answer = series.book(space, first, "09:00", "10:00", suggested)
            assert answer.status_code == 201, (suggested, answer.text)
            cancelled = series.api.delete(
                f"/reservations/series/{answer.json()['id']}", headers=bearer(series.token)
            )
            assert cancelled.status_code == 200


def test_a_series_starting_past_the_horizon_says_so(series, spaces_api):
    space = spaces_api.create(opening_hours=EVERY_DAY, max_advance_days=20)
    refused = series.book(space, date.today() + timedelta(days=30), "09:00", "10:00", "FREQ=DAILY;COUNT=2")
    assert refused.status_code == 422
    assert "days ahead" in refused.json()["detail"]


def test_ending_a_booking_early_keeps_the_buffers_it_was_booked_with(booking, spaces_api, engine):
    now = datetime.now(UTC).replace(microsecond=0)
    under_way, following = uuid.uuid4(), uuid.uuid4()
    with engine.begin() as connection:
        owner = connection.execute(
            select(users.c.id).where(users.c.email == "booker@example.com")
        ).scalar_one()
        for reservation_id, start, end in (
            (under_way, now - timedelta(hours=1), now + timedelta(hours=1)),
            (following, now + timedelta(hours=1), now + timedelta(hours=2)),
        ):
            connection.execute(
                reservations.insert().values(
                    id=reservation_id,
                    user_id=owner,
                    space_id=booking.space["id"],
                    start_time=start,
                    end_time=end,
                )
            )
    # The space gets cleaning time; the two bookings keep the buffers they were booked with (none).
    assert spaces_api.update(booking.space["id"], buffer_after_minutes=120).status_code == 200
    ended = booking.api.patch(
        f"/reservations/{under_way}",
        json={"end_time": (now + timedelta(minutes=30)).isoformat()},
        headers=bearer(booking.user["access_token"]),
    )
    assert ended.status_code == 200, ended.text


def test_leaving_with_a_full_cap_of_series_costs_a_few_statements_and_one_event_per_series(
    series, spaces_api, client_for, engine
):
    """The cap (10 upcoming holdings) once bounded what leaving cancels; a series counts once but holds
    up to 104 bookings, and cancelling them one by one (4,169 statements) spent the request's budget."""
    space = spaces_api.create(opening_hours=EVERY_DAY, max_advance_days=730, max_duration_minutes=60)
    first = date.today() + timedelta(days=2)
    for hour in range(10):
        answer = series.book(space, first, f"{hour:02d}:00", f"{hour:02d}:30", "FREQ=DAILY;COUNT=104")
        assert answer.status_code == 201, answer.text
    assert active_count(engine, space["id"]) == 1040
    counted = []

    def count(*_: object) -> None:
        counted.append(1)

    event.listen(get_engine(), "before_cursor_execute", count)
    try:
        left = client_for("users").request(
            "DELETE", "/users/me", json={"current_password": STRONG_PASSWORD}, headers=bearer(series.token)
        )
    finally:
        event.remove(get_engine(), "before_cursor_execute", count)
    assert left.status_code == 204, left.text
    assert len(counted) < 40
    assert active_count(engine, space["id"]) == 0
    with engine.connect() as connection:
        announced = dict(
            connection.execute(
                select(outbox.c.event_type, func.count())
                .where(outbox.c.event_type.in_(["SeriesCancelled", "ReservationCancelled"]))
                .group_by(outbox.c.event_type)
            ).all()
        )
    assert announced == {"SeriesCancelled": 10}


def test_an_occurrence_moved_off_its_rule_counts_on_its_own_against_the_cap(series, booking, monkeypatch):
    """A series counts once; moving its occurrences anywhere must not turn it into as many free-standing
    bookings: one moved away from the time its rule gave it counts on its own."""
    monkeypatch.setenv("RESERVAS_MAX_ACTIVE_RESERVATIONS", "2")
    reset_caches()
    try:
        booked = series.book(booking.space, booking.day, "09:00", "10:00", "FREQ=WEEKLY;COUNT=3").json()
        second, third = booked["occurrences"][1:]

        def move(occurrence, start, end):
            return series.api.patch(
                f"/reservations/{occurrence['id']}",
                json={"start_time": booking.at(start), "end_time": booking.at(end)},
                headers=bearer(series.token),
            )

        assert move(second, "12:00", "13:00").status_code == 200  # the series and one moved: 2 holdings
        refused = move(third, "15:00", "16:00")
        assert refused.status_code == 422
        assert "already hold 2 upcoming reservations" in refused.json()["detail"]
        # Its notes, or a shorter time in its place, change nothing about what it holds.
        notes = series.api.patch(
            f"/reservations/{third['id']}", json={"notes": "Agenda"}, headers=bearer(series.token)
        )
        assert notes.status_code == 200
    finally:
        monkeypatch.undo()
        reset_caches()
