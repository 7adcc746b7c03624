"""Reading, searching and cancelling reservations: owners see theirs, admins see all, others see nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from reservas.tables import outbox, reservations
from tests.integration.conftest import bearer


@pytest.fixture
def two_users(booking, register):
    """Ana's reservation (by `booking`) and Bob, who tries to reach it."""
    mine = booking.post("10:00", "11:00", notes="Board meeting").json()
    bob = register("bob@example.com", name="Bob")["access_token"]
    return mine, bob


def test_user_b_gets_404_on_user_as_reservation(booking, two_users):
    mine, bob = two_users
    api = booking.api
    for response in (
        api.get(f"/reservations/{mine['id']}", headers=bearer(bob)),
        api.delete(f"/reservations/{mine['id']}", headers=bearer(bob)),
    ):
        assert response.status_code == 404
        assert response.json()["detail"] == "No reservation of yours has this id."
    assert (
        api.get(f"/reservations/{uuid.uuid4()}", headers=bearer(bob)).json()
        == api.get(f"/reservations/{mine['id']}", headers=bearer(bob)).json()
    )  # a stranger cannot tell an existing reservation from a missing one
    assert api.get(f"/reservations/{mine['id']}", headers=bearer(booking.user["access_token"])).json() == mine
    assert (
        api.get(f"/reservations/{mine['id']}", headers=bearer(booking.user["access_token"])).status_code
        == 200
    )


def test_searches_never_show_another_users_rows(booking, two_users):
    mine, bob = two_users
    booking.post("12:00", "13:00", token=bob)
    for path, params in (
        ("/reservations", {}),
        ("/reservations/search", {}),
        ("/reservations/search", {"space_id": booking.space["id"]}),
    ):
        rows = booking.api.get(path, params=params, headers=bearer(bob)).json()["items"]
        assert rows and all(row["user_id"] != mine["user_id"] for row in rows), (path, params)
    assert (
        booking.api.get("/reservations/search", params={"q": "board"}, headers=bearer(bob)).json()["items"]
        == []
    )
    mine_by_text = booking.api.get(
        "/reservations/search", params={"q": "BOARD"}, headers=bearer(booking.user["access_token"])
    )
    assert [row["id"] for row in mine_by_text.json()["items"]] == [mine["id"]]
    other_user = booking.api.get(
        "/reservations/search", params={"user_id": mine["user_id"]}, headers=bearer(bob)
    )
    assert other_user.status_code == 403


def test_admins_read_and_search_anyone(booking, two_users, admin):
    mine, _ = two_users
    headers = bearer(admin["access_token"])
    assert booking.api.get(f"/reservations/{mine['id']}", headers=headers).status_code == 200
    found = booking.api.get(
        "/reservations/search", params={"user_id": mine["user_id"]}, headers=headers
    ).json()
    assert [row["id"] for row in found["items"]] == [mine["id"]]
    everything = booking.api.get("/reservations/search", headers=headers).json()["items"]
    assert len(everything) == 1


def test_filters_and_pages(booking):
    for start, end in (("09:00", "10:00"), ("10:00", "11:00"), ("11:00", "12:00"), ("13:00", "14:00")):
        assert booking.post(start, end).status_code == 201
    headers = bearer(booking.user["access_token"])
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = booking.api.get("/reservations", params=params, headers=headers).json()
        seen += [row["start_time"] for row in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [booking.at(t) for t in ("09:00", "10:00", "11:00", "13:00")]
    window = booking.api.get(
        "/reservations", params={"from": booking.at("10:30"), "to": booking.at("13:00")}, headers=headers
    ).json()["items"]
    assert [row["start_time"] for row in window] == [booking.at("10:00"), booking.at("11:00")]
    assert booking.api.get("/reservations", params={"status": "nonsense"}, headers=headers).status_code == 422
    assert (
        booking.api.get("/reservations", params={"from": "2030-01-01T00:00:00"}, headers=headers).status_code
        == 422
    )


def test_cancelling_frees_the_slot_at_once_and_repeating_changes_nothing(booking, two_users, register):
    mine, bob = two_users
    headers = bearer(booking.user["access_token"])
    cancelled = booking.api.delete(f"/reservations/{mine['id']}", headers=headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["cancelled_at"]
    again = booking.api.delete(f"/reservations/{mine['id']}", headers=headers)
    assert again.status_code == 200 and again.json() == cancelled.json()
    assert booking.post("10:00", "11:00", token=bob).status_code == 201
    cancelled_only = booking.api.get("/reservations", params={"status": "cancelled"}, headers=headers).json()[
        "items"
    ]
    assert [row["id"] for row in cancelled_only] == [mine["id"]]


def _insert(engine, booking, start: datetime, end: datetime) -> str:
    with engine.begin() as connection:
        return str(
            connection.execute(
                insert(reservations)
                .values(
                    user_id=booking.user["user"]["id"],
                    space_id=booking.space["id"],
                    start_time=start,
                    end_time=end,
                )
                .returning(reservations.c.id)
            ).scalar_one()
        )


def test_started_reservations_only_admins_cancel_and_ended_ones_are_completed(booking, engine, admin):
    now = datetime.now(UTC)
    ongoing = _insert(engine, booking, now - timedelta(minutes=30), now + timedelta(minutes=30))
    finished = _insert(engine, booking, now - timedelta(hours=3), now - timedelta(hours=2))
    owner, admin_headers = bearer(booking.user["access_token"]), bearer(admin["access_token"])

    refused = booking.api.delete(f"/reservations/{ongoing}", headers=owner)
    assert refused.status_code == 409 and "already started" in refused.json()["detail"]
    assert (
        booking.api.delete(f"/reservations/{ongoing}", headers=admin_headers).json()["status"] == "cancelled"
    )

    assert booking.api.get(f"/reservations/{finished}", headers=owner).json()["status"] == "completed"
    completed = booking.api.get("/reservations", params={"status": "completed"}, headers=owner).json()[
        "items"
    ]
    assert [row["id"] for row in completed] == [finished]
    assert booking.api.get("/reservations", params={"status": "active"}, headers=owner).json()["items"] == []
    assert booking.api.delete(f"/reservations/{finished}", headers=admin_headers).status_code == 409


def test_future_bookings_of_a_deactivated_space_stay_visible_to_their_owner(booking, client_for, spaces_api):
    mine = booking.post("10:00", "11:00").json()
    client_for("spaces").delete(f"/spaces/{booking.space['id']}", headers=spaces_api.admin_headers)
    response = booking.api.get(f"/reservations/{mine['id']}", headers=bearer(booking.user["access_token"]))
    assert response.status_code == 200 and response.json()["status"] == "active"


def test_bookings_and_cancellations_write_events_in_their_own_transaction(booking, engine):
    created = booking.post("10:00", "11:00").json()
    booking.post("10:00", "11:00")  # a 409: no event
    booking.post("10:00", "10:10")  # a 422: no event
    booking.api.delete(f"/reservations/{created['id']}", headers=bearer(booking.user["access_token"]))
    with engine.connect() as connection:
        rows = connection.execute(
            select(outbox.c.event_type, outbox.c.aggregate_id, outbox.c.payload)
            .where(outbox.c.event_type.like("Reservation%"))
            .order_by(outbox.c.id)
        ).all()
    assert [(row.event_type, str(row.aggregate_id)) for row in rows] == [
        ("ReservationCreated", created["id"]),
        ("ReservationCancelled", created["id"]),
    ]
    assert rows[0].payload == created
    assert rows[1].payload["status"] == "cancelled"


@pytest.mark.parametrize("value", ["0.5", "1893459600", "2030-01-07T10:00:00", "yesterday"])
def test_time_filters_take_rfc3339_with_an_offset_only(booking, value):
    """Found by fuzzing: `to=0.5` was read as a Unix time."""
    response = booking.api.get(
        "/reservations", params={"to": value}, headers=bearer(booking.user["access_token"])
    )
    assert response.status_code == 422
    assert "RFC 3339" in response.text
