"""POST /reservations: every rule with its own message, the 409 that explains itself, idempotency."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from reservas.errors import PROBLEM_JSON
from reservas.tables import idempotency_keys, reservations
from tests.conftest import reset_caches
from tests.integration.conftest import bearer
from tests.support import local, next_day


def count(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(reservations)).scalar_one()


def test_a_booking_answers_with_its_duration_and_exact_cost(booking):
    response = booking.post("10:00", "11:30", attendees=6, notes="Quarterly review")
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/reservations/{body['id']}"
    assert body["status"] == "active"
    assert body["duration_minutes"] == 90
    assert body["cost"] == {"amount": "37.50", "currency": "EUR"}
    assert body["start_time"] == booking.at("10:00")
    assert body["user_id"] == booking.user["user"]["id"]
    assert (body["attendees"], body["notes"], body["cancelled_at"]) == (6, "Quarterly review", None)


def _problem(response, status=422):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    return response.json()


@pytest.mark.parametrize(
    ("start", "end", "extra", "message"),
    [
        ("11:00", "10:00", {}, "end_time must be after start_time"),
        ("10:00", "10:00", {}, "end_time must be after start_time"),
        ("10:00", "10:15", {}, "lasts at least 30 minutes"),
        ("08:00", "16:30", {}, "lasts at most 480 minutes"),
        ("10:15", "11:15", {}, "30-minute grid"),
        ("10:00", "10:45", {}, "30-minute grid"),
        ("19:30", "20:30", {}, "not open for the whole interval"),
        ("07:30", "08:30", {}, "not open for the whole interval"),
        ("10:00", "11:00", {"attendees": 9}, "holds at most 8 people"),
    ],
)
def test_each_rule_has_its_own_message(booking, engine, start, end, extra, message):
    problem = _problem(booking.post(start, end, **extra))
    assert problem["title"] == "Booking refused"
    assert any(message in error["msg"] for error in problem["errors"]), problem
    assert count(engine) == 0


def test_the_past_is_refused(booking):
    body = {
        "space_id": booking.space["id"],
        "start_time": "2020-01-06T10:00:00+01:00",
        "end_time": "2020-01-06T11:00:00+01:00",
    }
    problem = _problem(
        booking.api.post("/reservations", json=body, headers=bearer(booking.user["access_token"]))
    )
    assert any("start_time is in the past" in e["msg"] for e in problem["errors"])


def test_beyond_the_horizon_is_refused(booking, client_for, spaces_api):
    client_for("spaces").put(
        f"/spaces/{booking.space['id']}", json={"max_advance_days": 7}, headers=spaces_api.admin_headers
    )
    far = next_day("Europe/Madrid", weekday=0) + timedelta(days=28)
    body = {
        "space_id": booking.space["id"],
        "start_time": local("Europe/Madrid", far, "10:00").isoformat(),
        "end_time": local("Europe/Madrid", far, "11:00").isoformat(),
    }
    problem = _problem(
        booking.api.post("/reservations", json=body, headers=bearer(booking.user["access_token"]))
    )
    assert any("at most 7 days ahead" in e["msg"] for e in problem["errors"])


def test_opening_hours_hold_on_a_dst_day(booking, client_for, spaces_api):
    client_for("spaces").put(
        f"/spaces/{booking.space['id']}",
        json={"opening_hours": {"sun": [["00:00", "06:00"]]}},
        headers=spaces_api.admin_headers,
    )
    spring = next_day("Europe/Madrid", hours=23)
    assert spring.weekday() == 6
    # 01:00 to 04:00 on the clock is two real hours: 02:00-03:00 does not exist that night.
    ok = booking.post("01:00", "04:00", day=spring)
    assert ok.status_code == 201, ok.text
    assert ok.json()["duration_minutes"] == 120
    assert ok.json()["cost"]["amount"] == "50.00"


@pytest.mark.parametrize("space_state", ["missing", "deactivated"])
def test_the_space_must_exist_and_be_active(booking, client_for, spaces_api, space_state):
    if space_state == "deactivated":
        client_for("spaces").delete(f"/spaces/{booking.space['id']}", headers=spaces_api.admin_headers)
    else:
        booking.space = {**booking.space, "id": str(uuid.uuid4())}
    problem = _problem(booking.post("10:00", "11:00"))
    assert problem["detail"] == "No active space has this id."


def test_a_user_holds_at_most_n_upcoming_reservations(booking, monkeypatch):
    monkeypatch.setenv("RESERVAS_MAX_ACTIVE_RESERVATIONS", "2")
    reset_caches()
    try:
        assert booking.post("09:00", "10:00").status_code == 201
        assert booking.post("10:00", "11:00").status_code == 201
        problem = _problem(booking.post("11:00", "12:00"))
        assert any("already hold 2 upcoming reservations" in e["msg"] for e in problem["errors"])
    finally:
        monkeypatch.undo()
        reset_caches()


def test_the_limit_on_upcoming_reservations_holds_when_bookings_race(booking, spaces_api, monkeypatch):
    """Ten bookings of one user at once, each of another space (so that only the user's lock
    serialises them), with room for three: three are booked, seven refused, none over."""
    monkeypatch.setenv("RESERVAS_MAX_ACTIVE_RESERVATIONS", "3")
    reset_caches()
    spaces = [spaces_api.create(name=f"Race {n}") for n in range(10)]
    barrier, statuses = threading.Barrier(10), []

    def attempt(space):
        barrier.wait()
        body = {"space_id": space["id"], "start_time": booking.at("10:00"), "end_time": booking.at("11:00")}
        response = booking.api.post("/reservations", json=body, headers=bearer(booking.user["access_token"]))
        statuses.append(response.status_code)

    try:
        threads = [threading.Thread(target=attempt, args=(space,)) for space in spaces]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [201] * 3 + [422] * 7
        mine = booking.api.get("/reservations", headers=bearer(booking.user["access_token"])).json()
        assert len(mine["items"]) == 3
    finally:
        monkeypatch.undo()
        reset_caches()


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "cancelled"), ("cost", "0.00"), ("user_id", str(uuid.uuid4())), ("id", str(uuid.uuid4()))],
)
def test_fields_only_the_service_sets_are_refused(booking, engine, field, value):
    problem = _problem(booking.post("10:00", "11:00", **{field: value}))
    assert problem["errors"][0]["loc"] == ["body", field]
    assert count(engine) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"start_time": "2030-01-07T10:00:00", "end_time": "2030-01-07T11:00:00+01:00"},
        {"start_time": "soon", "end_time": "2030-01-07T11:00:00+01:00"},
        {"end_time": "2030-01-07T11:00:00+01:00"},
        {"start_time": "2030-01-07T10:00:00+01:00", "end_time": "2030-01-07T11:00:00+01:00", "attendees": 0},
        {
            "start_time": "2030-01-07T10:00:00+01:00",
            "end_time": "2030-01-07T11:00:00+01:00",
            "notes": "x" * 1001,
        },
    ],
)
def test_malformed_bookings_are_422(booking, body):
    response = booking.api.post(
        "/reservations",
        json={"space_id": booking.space["id"], **body},
        headers=bearer(booking.user["access_token"]),
    )
    _problem(response)


def test_booking_needs_a_user(booking):
    body = {
        "space_id": booking.space["id"],
        "start_time": booking.at("10:00"),
        "end_time": booking.at("11:00"),
    }
    assert booking.api.post("/reservations", json=body).status_code == 401


def test_an_overlap_is_a_409_with_conflicts_and_suggestions(booking, spaces_api, register):
    other_room = spaces_api.create(name="Another room", capacity=10)
    spaces_api.create(name="Too small", capacity=2)
    assert booking.post("10:00", "11:00").status_code == 201
    rival = register("rival@example.com", name="Rival")["access_token"]

    problem = _problem(booking.post("10:30", "11:30", token=rival, attendees=4), status=409)

    assert problem["conflicts"] == [
        {"start_time": booking.at("10:00"), "end_time": booking.at("11:00"), "held_by": "booking"}
    ]
    same_space = [s for s in problem["suggestions"] if s["space_id"] == booking.space["id"]]
    assert [(s["start_time"], s["end_time"]) for s in same_space] == [
        (booking.at("09:00"), booking.at("10:00")),
        (booking.at("11:00"), booking.at("12:00")),
        (booking.at("11:30"), booking.at("12:30")),
    ]
    elsewhere = [s for s in problem["suggestions"] if s["space_id"] != booking.space["id"]]
    assert elsewhere == [
        {"space_id": other_room["id"], "start_time": booking.at("10:30"), "end_time": booking.at("11:30")}
    ]
    # Each suggestion can really be booked.
    taken = same_space[0]
    assert booking.post(taken["start_time"][11:16], taken["end_time"][11:16], token=rival).status_code == 201


def test_the_same_idempotency_key_books_once_and_answers_the_same(booking, engine):
    first = booking.post("10:00", "11:00", headers={"Idempotency-Key": "order-42"})
    again = booking.post("10:00", "11:00", headers={"Idempotency-Key": "order-42"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert count(engine) == 1
    different = booking.post("12:00", "13:00", headers={"Idempotency-Key": "order-42"})
    assert _problem(different)["title"] == "Idempotency key reused"
    assert count(engine) == 1
    assert booking.post("12:00", "13:00", headers={"Idempotency-Key": "order-43"}).status_code == 201


def test_concurrent_requests_with_one_key_book_once(booking, engine):
    barrier, statuses, ids = threading.Barrier(6), [], set()

    def attempt():
        barrier.wait()
        response = booking.post("10:00", "11:00", headers={"Idempotency-Key": "double-click"})
        statuses.append(response.status_code)
        ids.add(response.json().get("id"))

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 6
    assert len(ids) == 1
    assert count(engine) == 1


def test_a_key_past_its_lifetime_books_anew(booking, engine):
    first = booking.post("10:00", "11:00", headers={"Idempotency-Key": "monthly"}).json()
    with engine.begin() as connection:  # a day later
        connection.execute(update(idempotency_keys).values(expires_at=func.now() - timedelta(seconds=1)))
    again = booking.post("12:00", "13:00", headers={"Idempotency-Key": "monthly"})
    assert again.status_code == 201 and again.json()["id"] != first["id"]
    assert again.json()["start_time"] == booking.at("12:00")
    assert count(engine) == 2
    replayed = booking.post("12:00", "13:00", headers={"Idempotency-Key": "monthly"})
    assert replayed.json()["id"] == again.json()["id"]  # and the key now answers for the new one


def test_keys_belong_to_their_user(booking, register):
    assert booking.post("10:00", "11:00", headers={"Idempotency-Key": "k"}).status_code == 201
    other = register("other@example.com", name="Other")["access_token"]
    response = booking.post("12:00", "13:00", token=other, headers={"Idempotency-Key": "k"})
    assert response.status_code == 201


def test_a_failed_booking_does_not_use_up_its_key(booking):
    assert booking.post("10:00", "10:15", headers={"Idempotency-Key": "retry-me"}).status_code == 422
    assert booking.post("10:00", "10:30", headers={"Idempotency-Key": "retry-me"}).status_code == 201


def test_a_bad_idempotency_key_is_422(booking):
    assert booking.post("10:00", "11:00", headers={"Idempotency-Key": "x" * 256}).status_code == 422


def test_booking_right_after_reading_availability_takes_the_slot_away(booking, client_for):
    spaces = client_for("spaces")
    path = f"/spaces/{booking.space['id']}/availability"
    before = spaces.get(path, params={"date": booking.day.isoformat()}).json()
    slot = {"start_time": booking.at("10:00"), "end_time": booking.at("10:30")}
    assert slot in before["slots"]
    assert (
        spaces.get(path, params={"date": booking.day.isoformat()}).json() == before
    )  # served from the cache

    assert booking.post("10:00", "10:30").status_code == 201

    after = spaces.get(path, params={"date": booking.day.isoformat()}).json()
    assert slot not in after["slots"]
    assert len(after["slots"]) == len(before["slots"]) - 1


def test_money_is_exact(booking, client_for, spaces_api):
    client_for("spaces").put(
        f"/spaces/{booking.space['id']}", json={"price_per_hour": "10.01"}, headers=spaces_api.admin_headers
    )
    assert booking.post("10:00", "10:30").json()["cost"] == {
        "amount": "5.01",
        "currency": "EUR",
    }  # 5.005 rounds up


def test_deadlocks_and_serialization_failures_are_retried_then_409(booking, monkeypatch, engine):
    from sqlalchemy import exc

    from reservas.reservations import service

    real, calls = service._book_once, []

    class FakeDriverError(Exception):
        pass

    def flaky(session, *args):
        calls.append("40P01")
        if len(calls) < 3:
            raise exc.DBAPIError("INSERT ...", {}, FakeDriverError({"C": "40P01", "M": "deadlock detected"}))
        return real(session, *args)

    monkeypatch.setattr(service, "_book_once", flaky)
    assert booking.post("10:00", "11:00").status_code == 201  # two deadlocks, then it goes through
    assert len(calls) == 3 and count(engine) == 1

    def always_busy(*args):
        raise exc.DBAPIError("INSERT ...", {}, FakeDriverError({"C": "40001", "M": "could not serialize"}))

    monkeypatch.setattr(service, "_book_once", always_busy)
    problem = _problem(booking.post("12:00", "13:00"), status=409)
    assert "try again" in problem["detail"]


@pytest.mark.parametrize("key", [None, "gone-meanwhile"])
def test_an_account_deleted_while_its_booking_runs_is_401_with_a_key_or_without(
    booking, engine, monkeypatch, key
):
    from sqlalchemy import delete

    from reservas.reservations import repository
    from reservas.tables import users

    def deleted_first(lock):
        def locking(db, user_id, *args):
            with engine.begin() as connection:  # the account goes after the token was checked
                connection.execute(delete(users).where(users.c.id == user_id))
            return lock(db, user_id, *args)

        return locking

    monkeypatch.setattr(repository, "lock_user", deleted_first(repository.lock_user))
    monkeypatch.setattr(repository, "lock_user_claiming", deleted_first(repository.lock_user_claiming))
    response = booking.post("10:00", "11:00", headers={"Idempotency-Key": key} if key else {})
    assert response.status_code == 401, response.text
    assert count(engine) == 0
