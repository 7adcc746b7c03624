"""Check-in and no-show release, attacked: each test failed before its fix (or, at the end, held)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select

from devtools.apigw import LambdaContext
from reservas.tables import holds, outbox, reservations, users
from tests.conftest import reset_caches
from tests.integration.conftest import bearer
from tests.integration.test_check_in import release_function, released_events
from tests.support import EVERY_DAY, at_once


def quarter(now: datetime | None = None) -> datetime:
    """The current quarter hour, floored."""
    now = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    return now - timedelta(minutes=now.minute % 15)


def insert_booking(engine, email: str, space_id: str, start: datetime, end: datetime) -> str:
    with engine.begin() as connection:
        owner = connection.execute(select(users.c.id).where(users.c.email == email)).scalar_one()
        return str(
            connection.execute(
                insert(reservations)
                .values(user_id=owner, space_id=space_id, start_time=start, end_time=end)
                .returning(reservations.c.id)
            ).scalar_one()
        )


def events_of(engine, event_type: str) -> list[uuid.UUID]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(outbox.c.aggregate_id).where(outbox.c.event_type == event_type)
            ).scalars()
        )


# --- 1. admin cancelling a released booking: 500 ------------------------------------------------------


def test_an_admin_cancelling_a_released_booking_gets_a_409_not_a_500(checked, admin):
    no_show = checked.booked(timedelta(minutes=-20))
    release_function()({}, LambdaContext("ReleaseFunction", timeout_seconds=60))
    assert checked.get(no_show)["status"] == "released"
    answer = checked.api.delete(f"/reservations/{no_show}", headers=bearer(admin["access_token"]))
    # a released booking has nothing left to cancel: 409 (or 200 unchanged), never a 500.
    assert answer.status_code in (200, 409), answer.text
    assert checked.get(no_show)["status"] == "released"


# --- 2. admin cancelling a lapsed booking the job has not reached: released -> cancelled -----------------


def test_a_booking_that_reads_released_does_not_turn_cancelled(checked, admin, engine):
    no_show = checked.booked(timedelta(minutes=-20))
    assert checked.get(no_show)["status"] == "released"
    answer = checked.api.delete(f"/reservations/{no_show}", headers=bearer(admin["access_token"]))
    # the same answer as once the job has run (it reads released: 409, or unchanged).
    assert answer.status_code in (200, 409), answer.text
    assert checked.get(no_show)["status"] == "released"
    assert events_of(engine, "ReservationCancelled") == []


# --- 3. GET /reservations?status=released is refused ---------------------------------------------------


def test_reservations_can_be_filtered_by_released(checked):
    no_show = checked.booked(timedelta(minutes=-20))
    answer = checked.api.get("/reservations", params={"status": "released"}, headers=checked.headers())
    assert answer.status_code == 200, answer.text
    assert [r["id"] for r in answer.json()["items"]] == [no_show]


# --- 4. extending a booking under way after check-in was turned on releases it on the spot ------------


def test_extending_a_booking_under_way_does_not_release_it(spaces_api, register, client_for, engine):
    space = spaces_api.create(name="Room", opening_hours=EVERY_DAY, slot_minutes=15, min_duration_minutes=15)
    user = register("ext@example.com", name="Ext")
    start = quarter() - timedelta(minutes=30)  # booked before check-in was required, under way now
    mine = insert_booking(engine, "ext@example.com", space["id"], start, start + timedelta(hours=1))
    assert spaces_api.update(space["id"], check_in_required=True).status_code == 200
    api = client_for("reservations")
    extended = api.patch(
        f"/reservations/{mine}",
        json={"end_time": (start + timedelta(hours=1, minutes=15)).isoformat()},
        headers=bearer(user["access_token"]),
    )
    assert extended.status_code == 200, extended.text
    # a booking keeps the check-in terms it was made with while under way (the docs: "applies to bookings
    # made or moved from then on"; its start did not move).
    assert extended.json()["status"] == "active", extended.json()
    assert extended.json()["check_in_by"] is None


def test_shortening_the_grace_then_extending_does_not_release_a_booking_within_its_grace(
    spaces_api, register, client_for, engine
):
    space = spaces_api.create(
        name="Room",
        opening_hours=EVERY_DAY,
        slot_minutes=15,
        min_duration_minutes=15,
        check_in_required=True,
        check_in_grace_minutes=60,
    )
    user = register("ext@example.com", name="Ext")
    start = quarter() - timedelta(minutes=15)  # check_in_by = start + 60 min: not yet due
    mine = insert_booking(engine, "ext@example.com", space["id"], start, start + timedelta(hours=2))
    assert spaces_api.update(space["id"], check_in_grace_minutes=5).status_code == 200
    api = client_for("reservations")
    extended = api.patch(
        f"/reservations/{mine}",
        json={"end_time": (start + timedelta(hours=2, minutes=15)).isoformat()},
        headers=bearer(user["access_token"]),
    )
    assert extended.status_code == 200, extended.text
    assert extended.json()["status"] == "active", extended.json()


# --- 5. ending a booking early, before its check_in_by, records a no-show ------------------------------


def test_ending_early_within_the_grace_is_no_no_show(checked, engine):
    mine = checked.booked(timedelta(minutes=-5))  # check_in_by in 10 minutes
    ended = checked.api.patch(
        f"/reservations/{mine}",
        json={"end_time": datetime.now(UTC).isoformat()},
        headers=checked.headers(),
    )
    assert ended.status_code == 200, ended.text
    time.sleep(0.5)
    ended = checked.api.get(f"/reservations/{mine}", headers=checked.headers())
    # the owner ended it (the only way to give back a booking once it has started): completed, not a
    # no-show. Now it reads released, and the job announces ReservationReleased for it.
    assert ended.json()["status"] == "completed", ended.json()
    release_function()({}, LambdaContext("ReleaseFunction", timeout_seconds=60))
    assert released_events(engine) == []


# --- 6. a checked-in booking moved to another day stays checked in -------------------------------------


def test_moving_a_checked_in_booking_to_another_time_needs_a_new_check_in(checked, engine):
    soon = checked.booked(timedelta(minutes=10))
    assert checked.check_in(soon).status_code == 200
    tomorrow = quarter() + timedelta(days=1)
    moved = checked.api.patch(
        f"/reservations/{soon}",
        json={"start_time": tomorrow.isoformat(), "end_time": (tomorrow + timedelta(hours=1)).isoformat()},
        headers=checked.headers(),
    )
    assert moved.status_code == 200, moved.text
    # the check-in was for the old time; at the new time nobody has checked in (or the move is refused). Now
    # the booking stays checked in and its hold never lapses: check in once, 15 minutes before any start,
    # and move the booking anywhere to be immune to no-show release.
    assert moved.json()["checked_in_at"] is None, moved.json()
    with engine.connect() as connection:
        lapses = connection.execute(
            select(holds.c.lapses_at).where(holds.c.reservation_id == uuid.UUID(soon))
        ).scalar_one()
    assert lapses is not None


# --- 7. a check-in window that can never open ----------------------------------------------------------


def test_a_space_whose_check_in_window_is_empty_is_refused(spaces_api, client_for):
    from tests.support import space_body

    answer = client_for("spaces").post(
        "/spaces",
        json=space_body(check_in_required=True, check_in_opens_minutes=0, check_in_grace_minutes=0),
        headers=spaces_api.admin_headers,
    )
    # 422. Check-in is open from start - 0 until check_in_by = start (exclusive): never; every booking in
    # the space is released at its start, whatever its owner does.
    assert answer.status_code == 422, answer.text


# --- 8. the cap on upcoming bookings counts a no-show that reads released --------------------------------


def test_a_no_show_does_not_count_against_the_cap(checked, monkeypatch):
    monkeypatch.setenv("RESERVAS_MAX_ACTIVE_RESERVATIONS", "1")
    reset_caches()
    try:
        no_show = checked.booked(timedelta(minutes=-20))
        assert checked.get(no_show)["status"] == "released"
        tomorrow = quarter() + timedelta(days=1)
        answer = checked.api.post(
            "/reservations",
            json={
                "space_id": checked.space["id"],
                "start_time": tomorrow.isoformat(),
                "end_time": (tomorrow + timedelta(hours=1)).isoformat(),
            },
            headers=checked.headers(),
        )
        # 201; the person holds no upcoming booking (the one they had reads released).
        assert answer.status_code == 201, answer.text
    finally:
        monkeypatch.undo()
        reset_caches()


# --- 9. closures over a no-show the job has not reached -------------------------------------------------


def test_a_closure_over_a_no_show_is_not_refused(checked, closing):
    no_show = checked.booked(timedelta(minutes=-20), lasting=timedelta(hours=2))
    assert checked.get(no_show)["status"] == "released"
    now = datetime.now(UTC)
    answer = closing.space(
        checked.space["id"], now.isoformat(), (now + timedelta(hours=1)).isoformat(), reason="leak"
    )
    # 201, as availability shows the time free.
    assert answer.status_code == 201, answer.text


def test_a_closure_cancelling_bookings_leaves_a_no_show_released(checked, closing, engine):
    no_show = checked.booked(timedelta(minutes=-20), lasting=timedelta(hours=2))
    now = datetime.now(UTC)
    answer = closing.space(
        checked.space["id"],
        now.isoformat(),
        (now + timedelta(hours=1)).isoformat(),
        cancel_bookings=True,
    )
    assert answer.status_code == 201, answer.text
    # the no-show stays released (announced ReservationReleased), not cancelled by the closure.
    assert answer.json()["cancelled_reservations"] == []
    assert checked.get(no_show)["status"] == "released"
    assert events_of(engine, "ReservationCancelled") == []


# --- 10. cached availability keeps a lapsed hold for up to 55 s ------------------------------------------


def test_availability_frees_a_no_shows_time_as_soon_as_it_lapses(checked, spaces_api):
    # check_in_by 3 s from now (start 15 minutes ago less 3 s, grace 15).
    lapsing = checked.booked(timedelta(minutes=-15, seconds=3), lasting=timedelta(hours=2))
    next_slot = quarter() + timedelta(minutes=15)
    # the space's own day of that slot (late in the UTC evening, Madrid is already on the next day)
    today = str(next_slot.astimezone(ZoneInfo(checked.space["timezone"])).date())
    path = f"/spaces/{checked.space['id']}/availability"
    before = spaces_api.get(path, date=today).json()  # computed while the hold is still held: cached
    assert not any(datetime.fromisoformat(s["start_time"]) == next_slot for s in before["slots"])
    time.sleep(4)
    assert checked.get(lapsing)["status"] == "released"
    after = spaces_api.get(path, date=today).json()
    # "the rule applied on read so that a late run never shows wrong availability". Now the cache answers
    # with the held time until the release job bumps the version (a minute) or 55 s pass.
    assert any(datetime.fromisoformat(s["start_time"]) == next_slot for s in after["slots"]), (
        "the booking reads released but availability still shows its time held"
    )


# --- 11. a booker meets a no-show another transaction is releasing: 409 for free time -------------------


def test_booking_a_no_shows_free_time_while_someone_else_releases_it_succeeds(checked, engine):
    import threading

    from sqlalchemy import text

    no_show = checked.booked(timedelta(minutes=-20), lasting=timedelta(hours=3))
    locked, done = threading.Event(), threading.Event()

    def other_release():  # what a second booker's released_in_the_way (or the job) does meanwhile
        with engine.connect() as connection:
            connection.execute(
                text("SELECT id FROM reservations WHERE id = :id FOR UPDATE"), {"id": uuid.UUID(no_show)}
            )
            locked.set()
            time.sleep(0.3)  # a release on its way, a moment before it commits
            connection.execute(
                text("UPDATE reservations SET status = 'released', released_at = now() WHERE id = :id"),
                {"id": uuid.UUID(no_show)},
            )
            connection.commit()

    thread = threading.Thread(target=other_release)
    thread.start()
    locked.wait(timeout=10)
    start = quarter() + timedelta(minutes=60)
    try:
        answer = checked.api.post(
            "/reservations",
            json={
                "space_id": checked.space["id"],
                "start_time": start.isoformat(),
                "end_time": (start + timedelta(minutes=30)).isoformat(),
            },
            headers=checked.headers(),
        )
    finally:
        done.set()
        thread.join()
    # The time reads free, and is free a moment later: the booking waits for the release on its way
    # (it once skipped the row and answered 409; two people booking halves of a no-show's time lost so).
    assert answer.status_code == 201, answer.text


# --- 12. turning check-in off does not stop the releases ----------------------------------------------


def test_turning_check_in_off_stops_releasing_the_bookings_already_made(checked, spaces_api):
    tomorrow = checked.booked(timedelta(days=1))
    under_way = checked.booked(timedelta(minutes=-20))  # its grace ended 5 minutes ago, job not run yet
    assert spaces_api.update(checked.space["id"], check_in_required=False).status_code == 200
    # A space that no longer asks for check-in (its kiosk broke, say) releases no booking whose check-in
    # is open or to come. One already released stays so: its time may have been booked since.
    assert checked.get(tomorrow)["check_in_by"] is None
    assert checked.get(under_way)["status"] == "released"


# --- things that held (kept as regression checks) --------------------------------------------------------


def test_fifty_check_ins_at_once_check_in_once(checked, engine):
    soon = checked.booked(timedelta(minutes=5))
    answers = at_once(*[lambda: checked.check_in(soon) for _ in range(50)])
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["checked_in_at"] for a in answers}) == 1
    assert events_of(engine, "ReservationCheckedIn") == [uuid.UUID(soon)]


def test_the_job_and_a_booking_releasing_at_once_announce_once(checked, engine):
    for _ in range(5):
        no_show = checked.booked(timedelta(minutes=-20), lasting=timedelta(hours=3))
        start = quarter() + timedelta(minutes=15)
        handler = release_function()
        answers = at_once(
            lambda: handler({}, LambdaContext("ReleaseFunction", timeout_seconds=60)),  # noqa: B023 (called before the loop goes on)
            lambda: checked.api.post(
                "/reservations",
                json={
                    "space_id": checked.space["id"],
                    "start_time": start.isoformat(),  # noqa: B023 (called before the loop goes on)
                    "end_time": (start + timedelta(minutes=15)).isoformat(),  # noqa: B023 (called before the loop goes on)
                },
                headers=checked.headers(),
            ),
        )
        assert released_events(engine).count(uuid.UUID(no_show)) == 1
        if answers[1].status_code == 201:
            checked.api.delete(f"/reservations/{answers[1].json()['id']}", headers=checked.headers())


def test_a_check_in_and_a_booking_of_the_lapsing_time_never_both_win(checked, register, engine):
    other = register("other@example.com", name="Other")
    outcomes = []
    for _ in range(8):
        # check_in_by about 0.3 s from now
        lapsing = checked.booked(timedelta(minutes=-15, milliseconds=300) - timedelta(microseconds=0))
        with engine.begin() as connection:
            connection.execute(
                reservations.update()
                .where(reservations.c.id == uuid.UUID(lapsing))
                .values(start_time=func.now() - timedelta(minutes=15) + timedelta(milliseconds=300))
            )
        start = quarter() + timedelta(minutes=15)
        time.sleep(0.25)
        a, b = at_once(
            lambda: checked.check_in(lapsing),  # noqa: B023 (called before the loop goes on)
            lambda: checked.api.post(
                "/reservations",
                json={
                    "space_id": checked.space["id"],
                    "start_time": start.isoformat(),  # noqa: B023 (called before the loop goes on)
                    "end_time": (start + timedelta(minutes=15)).isoformat(),  # noqa: B023 (called before the loop goes on)
                },
                headers=bearer(other["access_token"]),
            ),
        )
        outcomes.append((a.status_code, b.status_code))
        assert not (a.status_code == 200 and b.status_code == 201), outcomes
        if b.status_code == 201:
            checked.api.delete(f"/reservations/{b.json()['id']}", headers=bearer(other["access_token"]))
        with engine.begin() as connection:  # out of the way for the next round
            connection.execute(
                reservations.update()
                .where(reservations.c.id == uuid.UUID(lapsing), reservations.c.status == "active")
                .values(status="cancelled", cancelled_at=func.now())
            )
    print(outcomes)


def test_leaving_with_a_no_show_releases_it_once(checked, client_for, engine):
    from tests.support import STRONG_PASSWORD

    no_show = checked.booked(timedelta(minutes=-20))
    gone = client_for("users").request(
        "DELETE", "/users/me", json={"current_password": STRONG_PASSWORD}, headers=checked.headers()
    )
    assert gone.status_code in (200, 204), gone.text
    # Released as the person leaves (not cancelled), and the job finds nothing more to do.
    result = release_function()({}, LambdaContext("ReleaseFunction", timeout_seconds=60))
    assert result == {"released": 0}
    assert released_events(engine) == [uuid.UUID(no_show)]
