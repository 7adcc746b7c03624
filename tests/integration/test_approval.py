"""Approval: in a space that requires it, bookings start pending and hold their time (the exclusion
constraint covers them) until an approver approves or declines them; undecided, they expire and free it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from devtools.apigw import LambdaContext
from reservas.tables import outbox, reservations, users
from tests.integration.conftest import bearer
from tests.integration.test_check_in import release_function


def events_of(engine, event_type: str) -> list[uuid.UUID]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(outbox.c.aggregate_id).where(outbox.c.event_type == event_type)
            ).scalars()
        )


def test_a_pending_booking_holds_its_time_until_a_manager_approves_it(approving, engine):
    pending = approving.book(1)
    assert pending.status_code == 201, pending.text
    booking = pending.json()
    assert booking["status"] == "pending"
    assert datetime.fromisoformat(booking["decide_by"]) <= approving.day + timedelta(hours=1)
    assert approving.book(1, token=approving.other["access_token"]).status_code == 409  # held
    # The manager sees it to decide; others do not, and cannot decide it.
    listed = approving.api.get("/reservations/pending", headers=bearer(approving.manager["access_token"]))
    assert [r["id"] for r in listed.json()["items"]] == [booking["id"]]
    nobody = approving.api.get("/reservations/pending", headers=bearer(approving.other["access_token"]))
    assert nobody.json()["items"] == []
    assert approving.decide(booking["id"], "approve", approving.other["access_token"]).status_code == 404
    assert approving.decide(booking["id"], "approve", approving.booker["access_token"]).status_code == 404
    approved = approving.decide(booking["id"], "approve", approving.manager["access_token"], "Enjoy")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "active" and approved.json()["decision_reason"] == "Enjoy"
    again = approving.decide(booking["id"], "approve", approving.manager["access_token"], "Enjoy")
    assert again.json() == approved.json()
    assert (
        approving.decide(booking["id"], "decline", approving.manager["access_token"], "No").status_code == 409
    )
    assert approving.book(1, token=approving.other["access_token"]).status_code == 409  # still held
    assert events_of(engine, "ReservationApproved") == [uuid.UUID(booking["id"])]


def test_declining_frees_the_time_at_once(approving, admin, engine):
    booking = approving.book(2).json()
    declined = approving.decide(booking["id"], "decline", admin["access_token"], "Reserved for the board")
    assert declined.status_code == 200
    assert declined.json()["status"] == "declined"
    assert declined.json()["decision_reason"] == "Reserved for the board"
    taken = approving.book(2, token=approving.other["access_token"])
    assert taken.status_code == 201 and taken.json()["status"] == "pending"
    assert events_of(engine, "ReservationDeclined") == [uuid.UUID(booking["id"])]
    cancelled = approving.api.delete(
        f"/reservations/{booking['id']}", headers=bearer(approving.booker["access_token"])
    )
    assert cancelled.status_code == 409  # a declined booking holds nothing to cancel
    mine = approving.api.delete(
        f"/reservations/{taken.json()['id']}", headers=bearer(approving.other["access_token"])
    )
    assert mine.status_code == 200 and mine.json()["status"] == "cancelled"  # a pending one may be


def test_a_booking_nobody_decided_in_time_expires_and_frees_its_time(approving, engine, spaces_api):
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=2)
    start -= timedelta(minutes=start.minute % 30)
    with engine.begin() as connection:
        owner = connection.execute(
            select(users.c.id).where(users.c.email == "booker@example.com")
        ).scalar_one()
        undecided = str(
            connection.execute(
                insert(reservations)
                .values(
                    user_id=owner,
                    space_id=approving.space["id"],
                    start_time=start,
                    end_time=start + timedelta(hours=1),
                    status="pending",
                    decide_by=datetime.now(UTC) - timedelta(minutes=1),
                )
                .returning(reservations.c.id)
            ).scalar_one()
        )
    mine = approving.api.get(f"/reservations/{undecided}", headers=bearer(approving.booker["access_token"]))
    assert mine.json()["status"] == "expired"  # before any job runs
    local_day = start.astimezone(ZoneInfo(approving.space["timezone"])).date()  # the space's day, not UTC's
    day = spaces_api.get(f"/spaces/{approving.space['id']}/availability", date=str(local_day)).json()
    assert any(datetime.fromisoformat(s["start_time"]) == start for s in day["slots"])
    handler = release_function()
    assert handler({}, LambdaContext("ReleaseFunction", timeout_seconds=60)) == {"released": 1}
    assert handler({}, LambdaContext("ReleaseFunction", timeout_seconds=60)) == {"released": 0}
    assert events_of(engine, "ReservationExpired") == [uuid.UUID(undecided)]
    booked = approving.api.post(
        "/reservations",
        json={
            "space_id": approving.space["id"],
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(hours=1)).isoformat(),
        },
        headers=bearer(approving.other["access_token"]),
    )
    assert booked.status_code == 201, booked.text


def test_managers_are_the_admins_to_name(approving, admin):
    path = f"/spaces/{approving.space['id']}/managers"
    listed = approving.spaces.get(path, headers=bearer(admin["access_token"])).json()
    assert [m["email"] for m in listed] == ["manager@example.com"]
    assert approving.spaces.get(path, headers=bearer(approving.manager["access_token"])).status_code == 403
    unknown = approving.spaces.put(f"{path}/{uuid.uuid4()}", headers=bearer(admin["access_token"]))
    assert unknown.status_code == 404
    gone = approving.spaces.delete(
        f"{path}/{approving.manager['user']['id']}", headers=bearer(admin["access_token"])
    )
    assert gone.status_code == 204
    booking = approving.book(3).json()
    assert approving.decide(booking["id"], "approve", approving.manager["access_token"]).status_code == 404


def test_a_series_in_a_space_that_requires_approval_is_pending_throughout(approving, series):
    answer = series.book(approving.space, approving.day.date(), "15:00", "16:00", "FREQ=DAILY;COUNT=3")
    assert answer.status_code == 201, answer.text
    assert {o["status"] for o in answer.json()["occurrences"]} == {"pending"}
