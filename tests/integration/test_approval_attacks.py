"""Approval, attacked (issue 15, step 4): each numbered test failed before its fix; the rest held."""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select, text, update

from devtools.apigw import LambdaContext
from reservas.database import build_engine
from reservas.tables import audit_log, outbox, reservations, space_managers, users
from tests.integration.conftest import bearer
from tests.integration.test_approval import events_of
from tests.integration.test_check_in import release_function
from tests.support import STRONG_PASSWORD, at_once


def _owner(engine, email="booker@example.com"):
    with engine.connect() as connection:
        return connection.execute(select(users.c.id).where(users.c.email == email)).scalar_one()


def _pending_row(engine, approving, start, decide_by, email="booker@example.com") -> str:
    with engine.begin() as connection:
        return str(
            connection.execute(
                insert(reservations)
                .values(
                    user_id=_owner(engine, email),
                    space_id=approving.space["id"],
                    start_time=start,
                    end_time=start + timedelta(hours=1),
                    status="pending",
                    decide_by=decide_by,
                )
                .returning(reservations.c.id)
            ).scalar_one()
        )


# 1. Approval bypass: an approved booking is moved/extended anywhere without a new decision.
def test_moving_an_approved_booking_to_other_time_needs_approval_again(approving):
    booking = approving.book(1).json()
    approved = approving.decide(booking["id"], "approve", approving.manager["access_token"])
    assert approved.json()["status"] == "active"
    # The manager approved 10:00-11:00. The booker now takes the whole day instead.
    moved = approving.api.patch(
        f"/reservations/{booking['id']}",
        json={
            "start_time": (approving.day + timedelta(days=1, hours=5)).isoformat(),
            "end_time": (approving.day + timedelta(days=1, hours=7)).isoformat(),
        },
        headers=bearer(approving.booker["access_token"]),
    )
    assert moved.status_code == 200, moved.text  # to the next day, twice as long, still "active"
    # Right: a booking leaving the time it was approved for is pending again (or the change is refused).
    assert moved.status_code != 200 or moved.json()["status"] == "pending", moved.json()


# 2. Usage counts bookings that never held anything as booked hours.
def test_usage_does_not_count_declined_or_expired_bookings_as_booked(approving, admin, engine):
    declined = approving.book(1).json()
    approving.decide(declined["id"], "decline", admin["access_token"], "No")
    _pending_row(
        engine, approving, approving.day + timedelta(hours=3), datetime.now(UTC) - timedelta(minutes=1)
    )
    usage = approving.spaces.get(
        f"/spaces/{approving.space['id']}/usage",
        params={
            "from": (approving.day - timedelta(days=1)).isoformat(),
            "to": (approving.day + timedelta(days=1)).isoformat(),
        },
        headers=bearer(admin["access_token"]),
    )
    assert usage.status_code == 200, usage.text
    assert usage.json()["booked_hours"] == 0, usage.json()  # got 2.0: one declined, one expired
    assert usage.json()["bookings"] == 0, usage.json()


# 3. Turning approval off leaves pending bookings to expire in a space that no longer asks for it.
def test_turning_approval_off_does_not_let_pending_bookings_expire(approving, spaces_api, engine):
    booking = approving.book(1).json()
    assert booking["status"] == "pending"
    changed = spaces_api.update(approving.space["id"], requires_approval=False)
    assert changed.status_code == 200, changed.text
    # Its decide_by passes (nobody is asked to decide anything in this space any more).
    with engine.begin() as connection:
        connection.execute(
            update(reservations)
            .where(reservations.c.id == uuid.UUID(booking["id"]))
            .values(decide_by=func_now_minus_minute())
        )
    after = approving.api.get(
        f"/reservations/{booking['id']}", headers=bearer(approving.booker["access_token"])
    )
    # Right: approval off settles its pending bookings as approved (as check-in off releases none).
    assert after.json()["status"] == "active", after.json()


def func_now_minus_minute():
    return datetime.now(UTC) - timedelta(minutes=1)


# 4. A manager removed while deciding still decides (manages() reads without a lock).
def test_a_manager_removed_while_deciding_does_not_decide(approving, admin, engine):
    booking = approving.book(1).json()
    remover = build_engine(os.environ["DATABASE_URL"], pool_size=1)
    answer = {}
    with remover.connect() as connection:
        connection.execute(
            delete(space_managers).where(
                space_managers.c.space_id == uuid.UUID(approving.space["id"]),
                space_managers.c.user_id == uuid.UUID(approving.manager["user"]["id"]),
            )
        )  # the admin's removal, on its way (not committed yet)

        def decide():
            answer["response"] = approving.decide(booking["id"], "approve", approving.manager["access_token"])

        thread = threading.Thread(target=decide)
        thread.start()
        time.sleep(0.5)
        decided_before_removal_committed = "response" in answer
        connection.commit()  # the removal answers 204
    thread.join(timeout=30)
    remover.dispose()
    assert not decided_before_removal_committed and answer["response"].status_code != 200, (
        answer["response"].status_code,
        answer["response"].text,
    )


# 5. A series in an approval space: each occurrence a decision, all expire after 48 h.
def test_a_weekly_series_can_be_decided_in_one_request(approving, series):
    booked = series.book(approving.space, approving.day.date(), "15:00", "16:00", "FREQ=WEEKLY;COUNT=52")
    assert booked.status_code == 201, booked.text
    occurrences = booked.json()["occurrences"]
    decide_bys = {o["decide_by"][:16] for o in occurrences[2:]}
    assert len(decide_bys) == 1  # every occurrence a year away expires with the first ones, in 48 h
    one = approving.api.post(
        f"/reservations/series/{booked.json()['id']}/approve",
        json={"reason": "Weekly board meeting"},
        headers=bearer(approving.manager["access_token"]),
    )
    # Right: one decision for the series (or one decide_by per occurrence that leaves time to decide).
    assert one.status_code == 200, (one.status_code, one.text)


# 6. Audit: cancelling pending bookings in bulk (leaving, closures) records them as having been active.
def test_leaving_with_a_pending_booking_audits_its_real_status(approving, engine, client_for):
    booking = approving.book(1).json()
    left = client_for("users").request(
        "DELETE",
        "/users/me",
        json={"current_password": STRONG_PASSWORD},
        headers=bearer(approving.booker["access_token"]),
    )
    assert left.status_code == 204, left.text
    with engine.connect() as connection:
        before = connection.execute(
            select(audit_log.c.before).where(
                audit_log.c.entity_id == uuid.UUID(booking["id"]),
                audit_log.c.action == "reservation.cancelled",
            )
        ).scalar_one()
    assert before["status"] == "pending", before


# 7. Leaving turns an expired booking (decide_by passed, start ahead) into a cancelled one.
def test_leaving_does_not_cancel_an_expired_booking(approving, engine, client_for):
    start = approving.day + timedelta(hours=5)
    expired = _pending_row(engine, approving, start, datetime.now(UTC) - timedelta(minutes=1))
    mine = approving.api.get(f"/reservations/{expired}", headers=bearer(approving.booker["access_token"]))
    assert mine.json()["status"] == "expired"
    left = client_for("users").request(
        "DELETE",
        "/users/me",
        json={"current_password": STRONG_PASSWORD},
        headers=bearer(approving.booker["access_token"]),
    )
    assert left.status_code == 204, left.text
    with engine.connect() as connection:
        status = connection.execute(
            select(reservations.c.status).where(reservations.c.id == uuid.UUID(expired))
        ).scalar_one()
    assert status == "expired", status
    assert events_of(engine, "ReservationCancelled") == []


# --- what held up -------------------------------------------------------------------------------


def test_fifty_decisions_at_once_decide_once(approving, admin, engine):
    booking = approving.book(1).json()
    tokens = [approving.manager["access_token"], admin["access_token"]]
    answers = at_once(
        *(
            (
                lambda i=i: approving.decide(
                    booking["id"], "approve" if i % 2 else "decline", tokens[i % 2], f"r{i}"
                )
            )
            for i in range(50)
        )
    )
    codes = sorted({a.status_code for a in answers})
    assert set(codes) <= {200, 409}, [a.text for a in answers if a.status_code not in (200, 409)]
    winners = {a.json()["status"] for a in answers if a.status_code == 200}
    assert len(winners) == 1
    decided = events_of(engine, "ReservationApproved") + events_of(engine, "ReservationDeclined")
    assert decided == [uuid.UUID(booking["id"])]


def test_other_space_manager_and_expired_and_cancelled_cannot_be_decided(
    approving, spaces_api, admin, engine, register
):
    other_space = spaces_api.create(name="Other room", requires_approval=True)
    other_manager = register("om@example.com", name="OM")
    approving.spaces.put(
        f"/spaces/{other_space['id']}/managers/{other_manager['user']['id']}",
        headers=bearer(admin["access_token"]),
    )
    booking = approving.book(1).json()
    assert approving.decide(booking["id"], "approve", other_manager["access_token"]).status_code == 404
    assert approving.decide(str(uuid.uuid4()), "approve", admin["access_token"]).status_code == 404
    expired = _pending_row(
        engine, approving, approving.day + timedelta(hours=5), datetime.now(UTC) - timedelta(seconds=1)
    )
    assert approving.decide(expired, "approve", admin["access_token"]).status_code == 409
    cancelled = approving.api.delete(
        f"/reservations/{booking['id']}", headers=bearer(approving.booker["access_token"])
    )
    assert cancelled.json()["status"] == "cancelled"
    assert approving.decide(booking["id"], "approve", admin["access_token"]).status_code == 409
    # hostile reasons
    fresh = approving.book(2).json()
    for reason in ("a\x00b", "a\x1bb", "x" * 10_000, "\u202e"):
        assert approving.decide(fresh["id"], "decline", admin["access_token"], reason).status_code in (
            400,
            422,
        )
    forged = approving.api.get(
        "/reservations/pending", params={"cursor": "garbage!!"}, headers=bearer(admin["access_token"])
    )
    assert forged.status_code in (400, 422)
    # a pending booking cannot be moved
    moved = approving.api.patch(
        f"/reservations/{fresh['id']}",
        json={"notes": "x"},
        headers=bearer(approving.booker["access_token"]),
    )
    assert moved.status_code == 409


def test_approving_at_the_expiry_race(approving, admin, engine):
    """Approve and the release function at decide_by: one wins, never both."""
    handler = release_function()
    for round_ in range(6):
        start = approving.day + timedelta(hours=6)
        with engine.begin() as connection:
            connection.execute(
                text("DELETE FROM reservations WHERE space_id = :s"), {"s": approving.space["id"]}
            )
        rid = _pending_row(engine, approving, start, datetime.now(UTC) + timedelta(milliseconds=200))
        time.sleep(0.19 + 0.005 * round_)
        answers = at_once(
            lambda: approving.decide(rid, "approve", admin["access_token"]),  # noqa: B023 (called before the loop goes on)
            lambda: handler({}, LambdaContext("ReleaseFunction", timeout_seconds=60)),
        )
        time.sleep(0.1)
        handler({}, LambdaContext("ReleaseFunction", timeout_seconds=60))
        with engine.connect() as connection:
            status = connection.execute(
                select(reservations.c.status).where(reservations.c.id == uuid.UUID(rid))
            ).scalar_one()
            kinds = list(
                connection.execute(
                    select(outbox.c.event_type).where(outbox.c.aggregate_id == uuid.UUID(rid))
                ).scalars()
            )
        approved = answers[0].status_code == 200
        assert (status == "active") == approved, (status, answers[0].text, answers[1])
        assert ("ReservationApproved" in kinds) != ("ReservationExpired" in kinds), kinds


def test_pending_hold_cached_availability_frees_at_decide_by(approving, engine, spaces_api):
    from reservas.spaces.cache import bookings_changed

    start = approving.day + timedelta(hours=4)
    _pending_row(engine, approving, start, datetime.now(UTC) + timedelta(seconds=2))
    bookings_changed(uuid.UUID(approving.space["id"]))
    path = f"/spaces/{approving.space['id']}/availability"

    def free_at_start():
        day = spaces_api.get(path, date=str(start.date())).json()
        return any(datetime.fromisoformat(s["start_time"]) == start for s in day["slots"])

    assert not free_at_start()
    time.sleep(2.5)
    assert free_at_start()
    found = spaces_api.get(
        "/spaces/available",
        start_time=start.isoformat(),
        end_time=(start + timedelta(hours=1)).isoformat(),
    )
    assert approving.space["id"] in [s["id"] for s in found.json()["items"]], found.text


def test_check_in_space_with_approval(spaces_api, register, client_for, admin, engine):
    from tests.support import EVERY_DAY

    space = spaces_api.create(
        name="Desk",
        opening_hours=EVERY_DAY,
        requires_approval=True,
        check_in_required=True,
        slot_minutes=15,
        min_duration_minutes=15,
    )
    user = register("u@example.com", name="Uma")
    api = client_for("reservations")
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    start += timedelta(minutes=30 - start.minute % 15)
    booked = api.post(
        "/reservations",
        json={
            "space_id": space["id"],
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(hours=1)).isoformat(),
        },
        headers=bearer(user["access_token"]),
    )
    assert booked.status_code == 201, booked.text
    b = booked.json()
    assert b["status"] == "pending" and datetime.fromisoformat(b["decide_by"]) == start
    assert (
        api.post(f"/reservations/{b['id']}/check-in", headers=bearer(user["access_token"])).status_code == 409
    )
    ok = api.post(f"/reservations/{b['id']}/approve", json={}, headers=bearer(admin["access_token"]))
    assert ok.status_code == 200 and ok.json()["status"] == "active" and ok.json()["check_in_by"]
    with engine.connect() as connection:
        lapses = connection.execute(
            text("SELECT lapses_at FROM holds WHERE reservation_id = :r"), {"r": b["id"]}
        ).scalar_one()
    assert lapses == datetime.fromisoformat(ok.json()["check_in_by"])


def test_no_body_on_approve(approving, admin):
    booking = approving.book(1).json()
    r = approving.api.post(f"/reservations/{booking['id']}/approve", headers=bearer(admin["access_token"]))
    assert r.status_code == 200, r.text


def test_owner_cancelling_while_manager_approves(approving, engine):
    for hour in range(1, 6):
        booking = approving.book(hour).json()
        approve, cancel = at_once(
            lambda: approving.decide(booking["id"], "approve", approving.manager["access_token"]),  # noqa: B023 (called before the loop goes on)
            lambda: approving.api.delete(
                f"/reservations/{booking['id']}",  # noqa: B023
                headers=bearer(approving.booker["access_token"]),
            ),
        )
        assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled", cancel.text
        assert approve.status_code in (200, 409), approve.text
    with engine.connect() as connection:
        assert (
            connection.execute(text("SELECT count(*) FROM holds WHERE reservation_id IS NOT NULL")).scalar()
            == 0
        )


def test_the_cap_counts_pending_but_not_expired(approving, engine, monkeypatch):
    from tests.conftest import reset_caches

    monkeypatch.setenv("RESERVAS_MAX_ACTIVE_RESERVATIONS", "2")
    reset_caches()
    assert approving.book(1).status_code == 201
    _pending_row(
        engine, approving, approving.day + timedelta(hours=5), datetime.now(UTC) - timedelta(minutes=1)
    )
    assert approving.book(2).status_code == 201  # the expired one does not count
    assert approving.book(3).status_code == 422
