"""Closures: admins close a space, or every space at a location, and no booking can hold that time,
whatever the concurrency; what people see (booking, free time, search, suggestions) leaves it out."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, text

from reservas.database import DEADLOCK_DETECTED, EXCLUSION_VIOLATION
from reservas.pagination import encode_cursor
from reservas.tables import closures, holds, outbox, reservations, spaces, users
from tests.integration.conftest import bearer
from tests.support import at_once, race_transactions, space_body

LOCATION = "Madrid, floor 3"  # the booking fixture's space is there (tests.support.space_body)


def created(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def slot_starts(spaces_api, space_id, day) -> list[str]:
    response = spaces_api.get(f"/spaces/{space_id}/availability", date=str(day))
    assert response.status_code == 200, response.text
    return [slot["start_time"] for slot in response.json()["slots"]]


def free_spaces(spaces_api, start, end) -> set[str]:
    response = spaces_api.get("/spaces/available", start_time=start, end_time=end)
    assert response.status_code == 200, response.text
    return {space["id"] for space in response.json()["items"]}


def reservation_status(booking, reservation_id) -> str:
    response = booking.api.get(
        f"/reservations/{reservation_id}", headers=bearer(booking.user["access_token"])
    )
    assert response.status_code == 200, response.text
    return response.json()["status"]


# What people notice


def test_a_closed_space_cannot_be_booked_then(booking, closing):
    closure = created(
        closing.space(booking.space["id"], booking.at("10:00"), booking.at("12:00"), reason="Paint")
    )
    assert closure["space_id"] == booking.space["id"] and closure["location"] is None
    assert closure["reason"] == "Paint" and closure["cancelled_reservations"] == []

    refused = booking.post("10:30", "11:30")
    assert refused.status_code == 409
    assert refused.json()["title"] == "Closed"
    assert "closed" in refused.json()["detail"]
    assert refused.json()["conflicts"] == [
        {"start_time": booking.at("10:00"), "end_time": booking.at("12:00"), "held_by": "closure"}
    ]
    assert booking.post("09:30", "10:30").status_code == 409
    # Back to back with the closure is fine.
    assert booking.post("09:00", "10:00").status_code == 201
    assert booking.post("12:00", "13:00").status_code == 201


def test_closed_time_leaves_free_time_search_and_suggestions(booking, closing, spaces_api):
    neighbour = spaces_api.create(name="Sala Prado")  # the same location
    elsewhere = spaces_api.create(name="Sala Sol", location="Barcelona")
    space_id = booking.space["id"]
    start, end = booking.at("10:00"), booking.at("11:00")
    before = slot_starts(spaces_api, space_id, booking.day)  # and cached
    assert booking.at("10:00") in before
    assert free_spaces(spaces_api, start, end) == {space_id, neighbour["id"], elsewhere["id"]}

    created(closing.location(LOCATION, booking.at("10:00"), booking.at("12:00")))

    after = slot_starts(spaces_api, space_id, booking.day)
    closed = [s for s in before if booking.at("10:00") <= s < booking.at("12:00")]
    assert closed and not set(closed) & set(after)
    assert after == [s for s in before if s not in closed]
    assert booking.at("12:00") in after and booking.at("09:30") in after
    assert free_spaces(spaces_api, start, end) == {elsewhere["id"]}
    refused = booking.post("10:00", "11:00")
    assert refused.status_code == 409
    suggestions = refused.json()["suggestions"]
    assert {s["space_id"] for s in suggestions} == {space_id, elsewhere["id"]}
    for s in suggestions:
        if s["space_id"] == space_id:
            assert s["end_time"] <= booking.at("10:00") or s["start_time"] >= booking.at("12:00")


def test_a_location_closure_covers_spaces_created_there_later(booking, closing, spaces_api):
    created(closing.location(LOCATION, booking.at("10:00"), booking.at("12:00")))
    later = spaces_api.create(name="Sala Nueva")
    assert booking.at("10:00") not in slot_starts(spaces_api, later["id"], booking.day)
    refused = booking.post("10:00", "11:00", space_id=later["id"])
    assert refused.status_code == 409 and refused.json()["title"] == "Closed"
    # The location is exactly its text: a space at "Madrid, floor 2" or "madrid, floor 3" is open.
    for location in ("Madrid, floor 2", LOCATION.lower()):
        other = spaces_api.create(name=f"Sala {location}", location=location)
        assert booking.post("10:00", "11:00", space_id=other["id"]).status_code == 201


def test_a_space_moved_away_leaves_its_locations_closures_and_one_moved_there_comes_under_them(
    booking, closing, spaces_api
):
    closure = created(closing.location(LOCATION, booking.at("10:00"), booking.at("12:00")))
    moved = spaces_api.update(booking.space["id"], location="Toledo")
    assert moved.status_code == 200, moved.text
    assert booking.at("10:00") in slot_starts(spaces_api, booking.space["id"], booking.day)
    assert closing.of(booking.space["id"]).json()["items"] == []

    assert spaces_api.update(booking.space["id"], location=LOCATION).status_code == 200
    assert booking.post("10:00", "11:00").status_code == 409
    assert [c["id"] for c in closing.of(booking.space["id"]).json()["items"]] == [closure["id"]]


def test_a_booked_space_cannot_move_where_it_would_be_closed(booking, closing, spaces_api):
    elsewhere = spaces_api.create(name="Sala Sol", location="Toledo")
    closure = created(closing.location("Toledo", booking.at("10:00"), booking.at("12:00"), reason="Fair"))
    mine = booking.post("11:00", "12:00").json()
    moved = spaces_api.update(booking.space["id"], location="Toledo")
    assert moved.status_code == 409
    problem = moved.json()
    assert closure["id"] in problem["detail"] and "Fair" in problem["detail"]
    assert problem["conflicts"] == [
        {
            "closure_id": closure["id"],
            "reservation_id": mine["id"],
            "start_time": booking.at("11:00"),
            "end_time": booking.at("12:00"),
        }
    ]
    assert spaces_api.get(f"/spaces/{booking.space['id']}").json()["location"] == LOCATION
    assert reservation_status(booking, mine["id"]) == "active"
    assert elsewhere["location"] == "Toledo"


def test_closures_may_overlap_each_other(booking, closing):
    first = created(closing.space(booking.space["id"], booking.at("10:00"), booking.at("12:00")))
    second = created(closing.space(booking.space["id"], booking.at("11:00"), booking.at("13:00")))
    third = created(closing.location(LOCATION, booking.at("09:00"), booking.at("14:00")))
    listed = closing.of(booking.space["id"]).json()["items"]
    assert [c["id"] for c in listed] == [third["id"], first["id"], second["id"]]
    assert booking.post("13:00", "14:00").status_code == 409


def test_another_locations_spaces_stay_open(booking, closing, spaces_api):
    elsewhere = spaces_api.create(name="Sala Sol", location="Barcelona")
    created(closing.location(LOCATION, booking.at("10:00"), booking.at("12:00")))
    created(closing.space(booking.space["id"], booking.at("14:00"), booking.at("16:00")))
    for start, end in (("10:00", "11:00"), ("14:00", "15:00")):
        assert booking.post(start, end, space_id=elsewhere["id"]).status_code == 201


def test_deleting_a_closure_frees_its_time_at_once(booking, closing, spaces_api, client_for, admin):
    closure = created(closing.location(LOCATION, booking.at("10:00"), booking.at("12:00")))
    assert booking.at("10:00") not in slot_starts(spaces_api, booking.space["id"], booking.day)
    assert closing.delete(closure["id"]).status_code == 204
    assert booking.at("10:00") in slot_starts(spaces_api, booking.space["id"], booking.day)
    assert booking.post("10:00", "11:00").status_code == 201
    assert closing.delete(closure["id"]).status_code == 404
    log = client_for("users").get(
        "/audit", params={"entity": "closure"}, headers=bearer(admin["access_token"])
    )
    assert [e["action"] for e in log.json()["items"]] == ["closure.deleted", "closure.created"]


def test_a_start_in_the_past_is_read_as_now(booking, closing):
    asked_at = datetime.now(UTC)
    closure = created(
        closing.space(
            booking.space["id"],
            (asked_at - timedelta(days=3)).isoformat(),
            (asked_at + timedelta(hours=1)).isoformat(),
        )
    )
    assert asked_at <= datetime.fromisoformat(closure["start_time"]) <= datetime.now(UTC)


# Over bookings


def test_a_closure_over_bookings_is_refused_listing_them(booking, closing, spaces_api):
    first = booking.post("10:00", "11:00").json()
    second = booking.post("11:30", "12:30").json()
    outside = booking.post("13:00", "14:00").json()
    refused = closing.location(LOCATION, booking.at("10:30"), booking.at("12:00"))
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert "cancel_bookings" in refused.json()["detail"]
    assert refused.json()["conflicts"] == [
        {
            "reservation_id": mine["id"],
            "space_id": booking.space["id"],
            "start_time": mine["start_time"],
            "end_time": mine["end_time"],
        }
        for mine in (first, second)
    ]
    assert closing.search().json()["items"] == []
    for mine in (first, second, outside):
        assert reservation_status(booking, mine["id"]) == "active"


def test_a_bookings_buffers_are_in_a_closures_way(booking, closing, spaces_api):
    assert spaces_api.update(booking.space["id"], buffer_after_minutes=30).status_code == 200
    mine = booking.post("10:00", "11:00").json()
    refused = closing.space(booking.space["id"], booking.at("11:15"), booking.at("12:00"))
    assert refused.status_code == 409
    assert [c["reservation_id"] for c in refused.json()["conflicts"]] == [mine["id"]]
    created(closing.space(booking.space["id"], booking.at("11:30"), booking.at("12:00")))


def test_cancel_bookings_cancels_them_with_the_closure(booking, closing, engine, client_for, admin):
    first = booking.post("10:00", "11:00").json()
    second = booking.post("11:30", "12:30").json()
    outside = booking.post("13:00", "14:00").json()
    closure = created(
        closing.location(LOCATION, booking.at("10:30"), booking.at("12:00"), cancel_bookings=True)
    )
    assert sorted(closure["cancelled_reservations"]) == sorted([first["id"], second["id"]])
    assert reservation_status(booking, first["id"]) == "cancelled"
    assert reservation_status(booking, second["id"]) == "cancelled"
    assert reservation_status(booking, outside["id"]) == "active"
    with engine.connect() as connection:
        events = connection.execute(
            select(outbox.c.aggregate_id, outbox.c.payload).where(
                outbox.c.event_type == "ReservationCancelled"
            )
        ).all()
    assert {str(e.aggregate_id) for e in events} == {first["id"], second["id"]}
    for event in events:
        assert event.payload["cause"] == "closure" and event.payload["reason"] == closure["reason"]
        assert event.payload["closure_id"] == closure["id"]
        assert event.payload["status"] == "cancelled"
    log = client_for("users").get(
        "/audit", params={"entity": "reservation"}, headers=bearer(admin["access_token"])
    )
    cancelled = {e["entity_id"] for e in log.json()["items"] if e["action"] == "reservation.cancelled"}
    assert cancelled == {first["id"], second["id"]}
    # The freed time is the closure's now.
    assert booking.post("10:00", "11:00").status_code == 409


def test_a_booking_under_way_is_cancelled_only_when_asked(booking, closing, book, engine):
    now = datetime.now(UTC)
    book(booking.space, now - timedelta(minutes=30), now + timedelta(minutes=30))
    start, end = now.isoformat(), (now + timedelta(hours=2)).isoformat()
    refused = closing.space(booking.space["id"], start, end)
    assert refused.status_code == 409
    [under_way] = refused.json()["conflicts"]
    closure = created(closing.space(booking.space["id"], start, end, cancel_bookings=True))
    assert closure["cancelled_reservations"] == [under_way["reservation_id"]]
    with engine.connect() as connection:
        status = connection.execute(
            select(reservations.c.status).where(reservations.c.id == uuid.UUID(under_way["reservation_id"]))
        ).scalar_one()
    assert status == "cancelled"


def test_a_booking_that_has_ended_is_never_cancelled(booking, closing, book, spaces_api, engine):
    """Its space's cleaning time after it still holds the space; the closure may start after it."""
    assert spaces_api.update(booking.space["id"], buffer_after_minutes=30).status_code == 200
    now = datetime.now(UTC)
    book(booking.space, now - timedelta(hours=1), now - timedelta(minutes=10))
    end = (now + timedelta(hours=2)).isoformat()
    refused = closing.space(booking.space["id"], now.isoformat(), end, cancel_bookings=True)
    assert refused.status_code == 409
    assert "ended" in refused.json()["detail"]
    with engine.connect() as connection:
        assert connection.execute(select(reservations.c.status)).scalar_one() == "active"
    created(closing.space(booking.space["id"], (now + timedelta(minutes=20)).isoformat(), end))


# Who may


def test_only_admins_write_closures_and_anyone_reads_a_spaces(booking, closing, client_for):
    user = booking.user["access_token"]
    space_id = booking.space["id"]
    start, end = booking.at("10:00"), booking.at("12:00")
    assert closing.space(space_id, start, end, token=user).status_code == 403
    assert closing.location(LOCATION, start, end, token=user).status_code == 403
    assert closing.search(token=user).status_code == 403
    closure = created(closing.space(space_id, start, end))
    assert closing.delete(closure["id"], token=user).status_code == 403
    anonymous = client_for("spaces")  # no token is sent unless a request carries one
    assert anonymous.post(f"/spaces/{space_id}/closures", json={}).status_code == 401
    assert anonymous.post("/closures", json={}).status_code == 401
    assert anonymous.get("/closures").status_code == 401
    assert anonymous.delete(f"/closures/{closure['id']}").status_code == 401
    listed = anonymous.get(f"/spaces/{space_id}/closures")
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()["items"]] == [closure["id"]]
    assert closing.of(space_id).json() == listed.json()


# Reading them


def test_listing_closures_filters_and_pages(booking, closing, spaces_api, engine):
    elsewhere = spaces_api.create(name="Sala Sol", location="Barcelona")
    own = created(closing.space(booking.space["id"], booking.at("10:00"), booking.at("11:00")))
    madrid = created(closing.location(LOCATION, booking.at("12:00"), booking.at("13:00")))
    barcelona = created(closing.location("Barcelona", booking.at("14:00"), booking.at("15:00")))
    with engine.begin() as connection:  # one that has ended: left out unless `from` asks for it
        ended = connection.execute(
            insert(closures)
            .values(
                space_id=uuid.UUID(booking.space["id"]),
                start_time=datetime(2025, 1, 1, tzinfo=UTC),
                end_time=datetime(2025, 1, 2, tzinfo=UTC),
            )
            .returning(closures.c.id)
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO holds (space_id, during, closure_id) "
                "VALUES (:space, tstzrange('2025-01-01Z', '2025-01-02Z'), :closure)"
            ),
            {"space": uuid.UUID(booking.space["id"]), "closure": ended},
        )

    def ids(response) -> list[str]:
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["items"]]

    assert ids(closing.search()) == [own["id"], madrid["id"], barcelona["id"]]
    assert ids(closing.search(location=LOCATION)) == [madrid["id"]]
    assert ids(closing.search(location="Madrid")) == []
    assert ids(closing.search(space_id=booking.space["id"])) == [own["id"], madrid["id"]]
    assert ids(closing.search(space_id=elsewhere["id"])) == [barcelona["id"]]
    assert ids(closing.search(to=booking.at("12:00"))) == [own["id"]]
    assert ids(closing.of(booking.space["id"], **{"from": "2024-12-31T00:00:00Z"})) == [
        str(ended),
        own["id"],
        madrid["id"],
    ]
    seen, cursor = [], None
    while True:
        page = closing.search(limit=1, **({"cursor": cursor} if cursor else {})).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [own["id"], madrid["id"], barcelona["id"]]


# Hostile input


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"reason": "Paint\u0000"}, 422),
        ({"reason": "two\nlines"}, 422),
        ({"reason": "x" * 256}, 422),
        ({"start_time": "2027-01-04T09:00:00Z", "end_time": "3027-01-04T09:00:00Z"}, 422),
        ({"start_time": "1970-01-01T00:00:00Z", "end_time": "2199-12-31T00:00:00Z"}, 422),
        ({"start_time": "2020-01-01T09:00:00Z", "end_time": "2020-01-02T09:00:00Z"}, 422),
        ({"end_time": "2020-01-02T09:00:00Z"}, 422),
        ({"start_time": "tomorrow"}, 422),
        ({"start_time": 1893456000}, 422),
        ({"cancel_bookings": "maybe"}, 422),
        ({"space_id": str(uuid.uuid4())}, 422),
    ],
)
def test_hostile_closures_are_refused(booking, closing, change, status):
    body = {"start_time": booking.at("10:00"), "end_time": booking.at("12:00"), **change}
    for response in (
        closing.post(f"/spaces/{booking.space['id']}/closures", body),
        closing.post("/closures", {"location": LOCATION, **body}),
    ):
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert closing.search(**{"from": "1970-01-01T00:00:00Z"}).json()["items"] == []


def test_end_before_start_and_too_long_are_422_with_the_reason(booking, closing):
    backwards = closing.space(booking.space["id"], booking.at("12:00"), booking.at("10:00"))
    assert backwards.status_code == 422
    assert backwards.json()["errors"] == [
        {"loc": ["body", "end_time"], "msg": "end_time must be after start_time"}
    ]
    start = datetime.now(UTC) + timedelta(days=1)
    too_long = closing.space(
        booking.space["id"], start.isoformat(), (start + timedelta(days=367)).isoformat()
    )
    assert too_long.status_code == 422 and "366 days" in too_long.json()["detail"]
    created(closing.space(booking.space["id"], start.isoformat(), (start + timedelta(days=366)).isoformat()))


def test_unknown_and_forged_ids_and_cursors_are_4xx(booking, closing):
    unknown = str(uuid.uuid4())
    start, end = booking.at("10:00"), booking.at("12:00")
    assert closing.space(unknown, start, end).status_code == 404
    assert closing.of(unknown).status_code == 404
    assert closing.delete(unknown).status_code == 404
    assert closing.delete("not-a-uuid").status_code == 422
    assert closing.space("not-a-uuid", start, end).status_code == 422
    assert closing.location("", start, end).status_code == 422
    assert closing.location("\u0000", start, end).status_code == 422
    assert closing.search(location="Madrid\u0000").status_code == 422
    forged_cursors = (
        "eyJ4Ijoi",
        "A" * 400,
        encode_cursor("not a time", uuid.uuid4()),
        encode_cursor("0001-01-01T00:00:00+14:00", uuid.uuid4()),
        encode_cursor("9999-12-31T23:59:59+00:00", uuid.uuid4()),
        encode_cursor("2027-01-04T09:00:00+00:00", "not-a-uuid"),
    )
    for forged in forged_cursors:
        assert closing.search(cursor=forged).status_code == 422
        assert closing.of(booking.space["id"], cursor=forged).status_code == 422
    backwards = closing.search(**{"from": booking.at("12:00"), "to": booking.at("10:00")})
    assert backwards.status_code == 422


# Races


def test_a_closure_and_a_booking_racing_for_the_same_time_never_both_succeed(booking, closing):
    """Ten rounds on ten days; the closure sets off 0 to 4 ms after the booking (which does more before
    it locks the space), so that either may get there first."""
    for week in range(10):
        day = booking.day + timedelta(weeks=week)

        def close(day=day, delay=(week % 5) * 0.001):
            time.sleep(delay)
            return closing.space(booking.space["id"], booking.at("10:00", day), booking.at("12:00", day))

        closure, booked = at_once(close, lambda day=day: booking.post("11:00", "12:00", day=day))
        assert sorted([closure.status_code, booked.status_code]) == [201, 409], (closure.text, booked.text)
        if booked.status_code == 409:
            assert booked.json()["title"] == "Closed"
        else:
            assert [c["reservation_id"] for c in closure.json()["conflicts"]] == [booked.json()["id"]]


def test_a_closure_cancelling_bookings_racing_a_booking_leaves_no_booking_in_it(booking, closing):
    for week in range(5):
        day = booking.day + timedelta(weeks=week)

        def close(day=day, delay=week * 0.001):
            time.sleep(delay)
            return closing.space(
                booking.space["id"], booking.at("10:00", day), booking.at("12:00", day), cancel_bookings=True
            )

        closure, booked = at_once(close, lambda day=day: booking.post("11:00", "12:00", day=day))
        assert closure.status_code == 201, closure.text
        if booked.status_code == 201:
            assert closure.json()["cancelled_reservations"] == [booked.json()["id"]]
            assert reservation_status(booking, booked.json()["id"]) == "cancelled"
        else:
            assert booked.status_code == 409 and booked.json()["title"] == "Closed"
            assert closure.json()["cancelled_reservations"] == []


def test_a_location_closure_racing_a_new_space_there_covers_it(booking, closing, client_for, admin):
    spaces_client = client_for("spaces")
    for week in range(5):
        day = booking.day + timedelta(weeks=week)
        closure, space = at_once(
            lambda day=day: closing.location(LOCATION, booking.at("10:00", day), booking.at("12:00", day)),
            lambda week=week: spaces_client.post(
                "/spaces", json=space_body(name=f"Nueva {week}"), headers=bearer(admin["access_token"])
            ),
        )
        assert closure.status_code == 201 and space.status_code == 201
        held = closing.of(space.json()["id"], **{"from": booking.at("00:00", day)}).json()["items"]
        assert closure.json()["id"] in [c["id"] for c in held]
        assert booking.post("10:00", "11:00", day=day, space_id=space.json()["id"]).status_code == 409


def test_a_closure_and_a_booking_racing_past_the_api_never_both_commit(engine):
    """Without the locks the API takes: the exclusion constraint alone decides."""
    with engine.begin() as connection:
        user_id = connection.execute(
            insert(users).values(email="r@example.com", password_hash="x", name="R").returning(users.c.id)
        ).scalar_one()
        space_id = connection.execute(
            insert(spaces).values(name="Room", capacity=4).returning(spaces.c.id)
        ).scalar_one()
    first_day = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)

    for round_ in range(10):
        start = first_day + timedelta(days=round_)

        def close(connection, start=start):
            closure_id = connection.execute(
                insert(closures)
                .values(space_id=space_id, start_time=start, end_time=start + timedelta(hours=2))
                .returning(closures.c.id)
            ).scalar_one()
            connection.execute(
                text(
                    "INSERT INTO holds (space_id, during, closure_id) "
                    "VALUES (:space, tstzrange(:start, :end), :closure)"
                ),
                {"space": space_id, "start": start, "end": start + timedelta(hours=2), "closure": closure_id},
            )

        def book(connection, start=start):
            connection.execute(
                insert(reservations).values(
                    user_id=user_id,
                    space_id=space_id,
                    start_time=start + timedelta(hours=1),
                    end_time=start + timedelta(hours=3),
                )
            )

        outcomes = race_transactions(close, book)
        assert outcomes.count("committed") == 1, outcomes
        assert set(outcomes) - {"committed"} <= {EXCLUSION_VIOLATION, DEADLOCK_DETECTED}, outcomes

    with engine.connect() as connection:
        clashes = connection.execute(
            text(
                "SELECT count(*) FROM holds c JOIN holds b ON b.space_id = c.space_id "
                "AND b.during && c.during WHERE c.closure_id IS NOT NULL AND b.reservation_id IS NOT NULL"
            )
        ).scalar_one()
        held = connection.execute(select(holds.c.id)).all()
    assert clashes == 0 and len(held) == 10
