"""PATCH /reservations/{id}: move, extend, shorten or end early a booking, or change who comes and the
notes, without losing it: it keeps its id, and its old time stays held unless the new one is secured."""

from __future__ import annotations

import functools
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from reservas.tables import outbox
from tests.integration.conftest import bearer
from tests.support import at_once


def patch(booking, reservation_id: str, body: dict, token=None, headers: dict | None = None):
    return booking.api.patch(
        f"/reservations/{reservation_id}",
        json=body,
        headers={**bearer(token or booking.user["access_token"]), **(headers or {})},
    )


def times(booking, start: str, end: str) -> dict:
    return {"start_time": booking.at(start), "end_time": booking.at(end)}


def test_moving_a_booking_keeps_its_id_reprices_it_and_tells_everyone(booking, engine, client_for, admin):
    made = booking.post("10:00", "11:00", notes="Review").json()
    moved = patch(booking, made["id"], times(booking, "15:00", "17:00"))
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert body["id"] == made["id"]
    assert (body["start_time"], body["end_time"]) == (booking.at("15:00"), booking.at("17:00"))
    assert body["cost"] == {"amount": "50.00", "currency": "EUR"}
    assert body["notes"] == "Review"
    with engine.connect() as connection:
        event = connection.execute(
            select(outbox.c.payload).where(outbox.c.event_type == "ReservationChanged")
        ).scalar_one()
    assert event["start_time"] == booking.at("15:00")
    assert event["before"]["start_time"] == booking.at("10:00")
    log = (
        client_for("users")
        .get("/audit", params={"entity_id": made["id"]}, headers=bearer(admin["access_token"]))
        .json()["items"]
    )
    assert log[0]["action"] == "reservation.changed"
    assert log[0]["before"]["start_time"] == booking.at("10:00")
    # The old time is free again, the new one taken.
    assert booking.post("10:00", "11:00", token=admin["access_token"]).status_code == 201
    assert booking.post("15:00", "16:00", token=admin["access_token"]).status_code == 409


def test_a_booking_may_grow_over_its_own_time(booking):
    made = booking.post("10:00", "11:00").json()
    grown = patch(booking, made["id"], times(booking, "09:30", "12:00"))
    assert grown.status_code == 200, grown.text
    assert grown.json()["duration_minutes"] == 150


def test_moving_onto_someone_elses_time_is_a_409_and_keeps_the_old_time(booking, admin):
    mine = booking.post("10:00", "11:00").json()
    assert booking.post("12:00", "13:00", token=admin["access_token"]).status_code == 201
    refused = patch(booking, mine["id"], times(booking, "11:30", "12:30"))
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["conflicts"] == [
        {"start_time": booking.at("12:00"), "end_time": booking.at("13:00"), "held_by": "booking"}
    ]
    # Its own time is free to it: suggestions may use it, and it is not what is in the way.
    assert {"start_time": booking.at("10:00"), "end_time": booking.at("11:00")} not in problem["conflicts"]
    assert problem["suggestions"] and all(
        s["space_id"] == booking.space["id"] for s in problem["suggestions"]
    )
    kept = booking.api.get(f"/reservations/{mine['id']}", headers=bearer(booking.user["access_token"]))
    assert (kept.json()["start_time"], kept.json()["end_time"]) == (booking.at("10:00"), booking.at("11:00"))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start_time": "2020-01-06T10:00:00+01:00", "end_time": "2020-01-06T11:00:00+01:00"}, "start_time"),
        ({"attendees": 9}, "attendees"),
        ({"start_time": "EARLY"}, "start_time"),
    ],
)
def test_a_change_that_breaks_a_rule_is_a_422_and_changes_nothing(booking, body, field):
    made = booking.post("10:00", "11:00").json()
    if body.get("start_time") == "EARLY":
        body = times(booking, "06:00", "07:00")  # before the space opens
    refused = patch(booking, made["id"], body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["loc"] == ["body", field]
    again = booking.api.get(f"/reservations/{made['id']}", headers=bearer(booking.user["access_token"]))
    assert again.json() == made


@pytest.mark.parametrize(
    "body",
    [{}, {"status": "cancelled"}, {"space_id": str(uuid.uuid4())}, {"attendees": None}, {"notes": "a\x01b"}],
)
def test_a_change_must_say_something_valid(booking, body):
    made = booking.post("10:00", "11:00").json()
    response = patch(booking, made["id"], body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_only_the_owner_or_an_admin_changes_a_booking_and_only_while_it_is_active(booking, register, admin):
    made = booking.post("10:00", "11:00").json()
    other = register("eve@example.com", name="Eve")
    assert patch(booking, made["id"], {"notes": "mine now"}, token=other["access_token"]).status_code == 404
    assert patch(booking, str(uuid.uuid4()), {"notes": "x"}).status_code == 404
    by_admin = patch(booking, made["id"], {"attendees": 3}, token=admin["access_token"])
    assert by_admin.status_code == 200
    booking.api.delete(f"/reservations/{made['id']}", headers=bearer(booking.user["access_token"]))
    assert patch(booking, made["id"], {"notes": "too late"}).status_code == 409


def test_ending_a_booking_under_way_frees_the_rest_at_once(booking, engine, admin, client_for):
    now = datetime.now(UTC)
    started = now - timedelta(minutes=30)
    with engine.begin() as connection:
        reservation_id = connection.execute(
            text(
                "INSERT INTO reservations (user_id, space_id, start_time, end_time) "
                "VALUES (:u, :s, :start, :end) RETURNING id"
            ),
            {
                "u": booking.user["user"]["id"],
                "s": booking.space["id"],
                "start": started,
                "end": now + timedelta(hours=2),
            },
        ).scalar_one()
    moved_start = patch(
        booking, str(reservation_id), {"start_time": (started + timedelta(minutes=5)).isoformat()}
    )
    assert moved_start.status_code == 422  # a booking under way keeps its start
    ended = patch(booking, str(reservation_id), {"end_time": (now - timedelta(hours=1)).isoformat()})
    assert ended.status_code == 200, ended.text
    ended_at = datetime.fromisoformat(ended.json()["end_time"])
    assert now <= ended_at <= datetime.now(UTC) + timedelta(seconds=1)  # "before now" means now
    assert patch(booking, str(reservation_id), {"notes": "after"}).status_code == 409  # it is over
    with engine.connect() as connection:
        free = connection.execute(
            text(
                "SELECT NOT EXISTS (SELECT FROM reservations WHERE space_id = :s AND status = 'active' "
                "AND tstzrange(start_time, end_time) && tstzrange(:a, :b))"
            ),
            {
                "s": booking.space["id"],
                "a": datetime.now(UTC) + timedelta(seconds=5),
                "b": now + timedelta(hours=2),
            },
        ).scalar_one()
    assert free


def test_the_same_idempotency_key_changes_once_and_answers_the_same(booking, engine):
    made = booking.post("10:00", "11:00").json()
    headers = {"Idempotency-Key": "move-1"}
    first = patch(booking, made["id"], times(booking, "14:00", "15:00"), headers=headers)
    again = patch(booking, made["id"], times(booking, "14:00", "15:00"), headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json() == again.json()
    other = patch(booking, made["id"], times(booking, "16:00", "17:00"), headers=headers)
    assert other.status_code == 422  # a key names one request
    with engine.connect() as connection:
        changes = connection.execute(
            text("SELECT count(*) FROM outbox WHERE event_type = 'ReservationChanged'")
        ).scalar_one()
    assert changes == 1


def test_a_move_and_a_booking_racing_for_one_slot_never_both_win(booking, register, engine):
    """Each round: the owner moves their booking onto a slot while someone else books that slot."""
    rival = register("rival@example.com", name="Rival")
    for round_number in range(8):
        slot = booking.day + timedelta(days=7 * (round_number + 1))
        mine = booking.post("09:00", "10:00", day=slot).json()
        new_time = {"start_time": booking.at("15:00", slot), "end_time": booking.at("16:00", slot)}
        move = functools.partial(patch, booking, mine["id"], new_time)
        book = functools.partial(booking.post, "15:00", "16:00", token=rival["access_token"], day=slot)
        moved, booked = at_once(move, book)
        statuses = (moved.status_code, booked.status_code)
        assert statuses in ((200, 409), (409, 201)), statuses
        with engine.connect() as connection:
            held = connection.execute(
                text("SELECT start_time FROM reservations WHERE id = :id AND status = 'active'"),
                {"id": mine["id"]},
            ).scalar_one()
        wanted = booking.at("15:00", slot) if statuses[0] == 200 else booking.at("09:00", slot)
        assert held == datetime.fromisoformat(wanted)  # the mover holds the new time, or the old one
    with engine.connect() as connection:
        overlapping = connection.execute(
            text(
                "SELECT count(*) FROM reservations a JOIN reservations b ON a.id < b.id "
                "AND a.space_id = b.space_id AND a.status = 'active' AND b.status = 'active' "
                "AND tstzrange(a.start_time, a.end_time) && tstzrange(b.start_time, b.end_time)"
            )
        ).scalar_one()
    assert overlapping == 0


def test_changing_only_the_notes_or_attendees_keeps_the_price_agreed(booking, client_for, spaces_api):
    made = booking.post("10:00", "11:00").json()
    raised = client_for("spaces").put(
        f"/spaces/{booking.space['id']}", json={"price_per_hour": "99.00"}, headers=spaces_api.admin_headers
    )
    assert raised.status_code == 200
    changed = patch(booking, made["id"], {"notes": "Bring the projector", "attendees": 4})
    assert changed.status_code == 200
    assert changed.json()["cost"] == made["cost"] == {"amount": "25.00", "currency": "EUR"}
    moved = patch(booking, made["id"], times(booking, "12:00", "13:00"))
    assert moved.json()["cost"] == {"amount": "99.00", "currency": "EUR"}  # a new time, today's price


def insert_under_way(engine, booking, started: datetime, lasting: timedelta) -> str:
    with engine.begin() as connection:
        return str(
            connection.execute(
                text(
                    "INSERT INTO reservations (user_id, space_id, start_time, end_time) "
                    "VALUES (:u, :s, :start, :end) RETURNING id"
                ),
                {
                    "u": booking.user["user"]["id"],
                    "s": booking.space["id"],
                    "start": started,
                    "end": started + lasting,
                },
            ).scalar_one()
        )


def test_a_deactivated_spaces_bookings_may_shrink_and_end_early_but_not_move(
    booking, engine, client_for, spaces_api
):
    upcoming = booking.post("10:00", "12:00").json()
    under_way = insert_under_way(
        engine, booking, datetime.now(UTC) - timedelta(minutes=30), timedelta(hours=2)
    )
    gone = client_for("spaces").delete(f"/spaces/{booking.space['id']}", headers=spaces_api.admin_headers)
    assert gone.status_code == 204
    assert patch(booking, upcoming["id"], times(booking, "14:00", "15:00")).status_code == 422
    assert patch(booking, upcoming["id"], times(booking, "10:00", "11:00")).status_code == 200
    ended = patch(booking, under_way, {"end_time": datetime.now(UTC).isoformat()})
    assert ended.status_code == 200, ended.text


def test_a_booking_under_way_that_cannot_grow_gets_no_suggestions_it_could_not_take(
    booking, engine, admin, client_for, spaces_api
):
    always_open = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    opened = client_for("spaces").put(
        f"/spaces/{booking.space['id']}",
        json={"opening_hours": always_open},
        headers=spaces_api.admin_headers,
    )
    assert opened.status_code == 200
    now = datetime.now(UTC)
    on_the_grid = now.replace(minute=now.minute - now.minute % 30, second=0, microsecond=0)
    under_way = insert_under_way(engine, booking, on_the_grid, timedelta(minutes=60))
    with engine.connect() as connection:
        ends = connection.execute(
            text("SELECT end_time FROM reservations WHERE id = :id"), {"id": under_way}
        ).scalar()
    with engine.begin() as connection:  # someone else holds the hour after it
        connection.execute(
            text(
                "INSERT INTO reservations (user_id, space_id, start_time, end_time) "
                "VALUES (:u, :s, :start, :end)"
            ),
            {
                "u": admin["user"]["id"],
                "s": booking.space["id"],
                "start": ends,
                "end": ends + timedelta(hours=1),
            },
        )
    refused = patch(booking, under_way, {"end_time": (ends + timedelta(minutes=30)).isoformat()})
    assert refused.status_code == 409, refused.text
    assert refused.json()["conflicts"] and refused.json()["suggestions"] == []


def test_a_change_racing_its_owners_departure_lets_both_finish(booking, client_for, monkeypatch):
    from reservas import audit
    from tests.support import STRONG_PASSWORD

    made = booking.post("10:00", "11:00").json()
    record_change, holding = audit.record_change, threading.Event()

    def slowly(*args, **kwargs):  # a slow Lambda: past its locks, not yet committed
        holding.set()
        time.sleep(0.3)
        return record_change(*args, **kwargs)

    monkeypatch.setattr(audit, "record_change", slowly)
    leave = functools.partial(
        client_for("users").request,
        "DELETE",
        "/users/me",
        json={"current_password": STRONG_PASSWORD},
        headers=bearer(booking.user["access_token"]),
    )

    def leave_once_the_change_holds_its_locks():
        assert holding.wait(5)
        return leave()

    changed, left = at_once(
        functools.partial(patch, booking, made["id"], {"notes": "racing"}),
        leave_once_the_change_holds_its_locks,
    )
    assert (changed.status_code, left.status_code) == (200, 204), (changed.text, left.text)
