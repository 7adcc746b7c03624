"""Check-in and no-show release: in a space that requires it, a booking nobody checked in to by its start
plus the grace period is released, and the rest of its time is free at once: on read before any job
runs, on write (booking that time succeeds), and on time by the scheduled release function.

Time is under control without sleeping: bookings are written straight into the table with starts in
the recent past, as they would be by now had they been booked earlier."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from devtools.apigw import ROOT, LambdaContext, load_function_module
from reservas.tables import outbox, reservations
from tests.conftest import reset_caches
from tests.integration.conftest import bearer
from tests.support import EVERY_DAY


def release_function():
    return load_function_module(ROOT / "functions" / "release").handler


def released_events(engine) -> list[uuid.UUID]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(outbox.c.aggregate_id).where(outbox.c.event_type == "ReservationReleased")
            ).scalars()
        )


def test_a_booking_in_a_check_in_space_says_by_when_to_check_in(checked, client_for):
    start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    answer = checked.api.post(
        "/reservations",
        json={
            "space_id": checked.space["id"],
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(hours=1)).isoformat(),
        },
        headers=checked.headers(),
    )
    assert answer.status_code == 201, answer.text
    assert datetime.fromisoformat(answer.json()["check_in_by"]) == start + timedelta(minutes=15)
    moved = checked.api.patch(
        f"/reservations/{answer.json()['id']}",
        json={
            "start_time": (start + timedelta(hours=2)).isoformat(),
            "end_time": (start + timedelta(hours=3)).isoformat(),
        },
        headers=checked.headers(),
    )
    assert datetime.fromisoformat(moved.json()["check_in_by"]) == start + timedelta(hours=2, minutes=15)


def test_check_in_opens_before_the_start_and_is_idempotent(checked, register):
    early = checked.booked(timedelta(minutes=40))
    refused = checked.check_in(early)
    assert refused.status_code == 409
    assert refused.json()["title"] == "Check-in not open yet"
    # Ends before `early` starts, whatever second each was made in.
    soon = checked.booked(timedelta(minutes=10), lasting=timedelta(minutes=25))
    first = checked.check_in(soon)
    assert first.status_code == 200, first.text
    assert first.json()["checked_in_at"] is not None
    again = checked.check_in(soon)
    assert again.json() == first.json()
    stranger = register("stranger@example.com", name="Stranger")
    assert checked.check_in(soon, token=stranger["access_token"]).status_code == 404


def test_a_no_show_reads_released_and_its_time_is_free_before_any_job(checked, spaces_api, engine):
    no_show = checked.booked(timedelta(minutes=-20))  # grace ended 5 minutes ago
    assert checked.get(no_show)["status"] == "released"
    assert checked.check_in(no_show).status_code == 409
    today = datetime.now(ZoneInfo(checked.space["timezone"])).date()  # the space's day, not UTC's
    day = spaces_api.get(f"/spaces/{checked.space['id']}/availability", date=str(today)).json()
    # The rest of its hour is free for anyone (from the next quarter hour on).
    next_quarter = datetime.now(UTC).replace(second=0, microsecond=0)
    next_quarter += timedelta(minutes=15 - next_quarter.minute % 15)
    assert any(datetime.fromisoformat(s["start_time"]) == next_quarter for s in day["slots"]), (
        "the rest of a no-show's time is not offered"
    )
    # And booking it succeeds: the no-show is released on the way, announced once.
    booked = checked.api.post(
        "/reservations",
        json={
            "space_id": checked.space["id"],
            "start_time": next_quarter.isoformat(),
            "end_time": (next_quarter + timedelta(minutes=15)).isoformat(),
        },
        headers=checked.headers(),
    )
    assert booked.status_code == 201, booked.text
    assert released_events(engine) == [uuid.UUID(no_show)]
    with engine.connect() as connection:
        stored = connection.execute(
            select(reservations.c.status, reservations.c.released_at).where(
                reservations.c.id == uuid.UUID(no_show)
            )
        ).one()
    assert stored.status == "released" and stored.released_at is not None


def test_the_release_function_releases_each_no_show_once_even_run_twice_at_once(checked, engine):
    no_shows = {checked.booked(timedelta(minutes=-20 - 70 * n)) for n in range(5)}
    checked_in = checked.booked(timedelta(minutes=60), lasting=timedelta(hours=2))
    with engine.begin() as connection:
        connection.execute(
            reservations.update()
            .where(reservations.c.id == uuid.UUID(checked_in))
            .values(checked_in_at=func.now())
        )
    waiting = checked.booked(timedelta(minutes=200))  # its grace has not begun
    handler = release_function()
    counts: list[dict] = []
    barrier = threading.Barrier(2)

    def run():
        barrier.wait()
        counts.append(handler({}, LambdaContext("ReleaseFunction", timeout_seconds=60)))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(count["released"] for count in counts) == 5
    assert sorted(map(str, released_events(engine))) == sorted(no_shows)
    assert {checked.get(r)["status"] for r in no_shows} == {"released"}
    assert checked.get(checked_in)["status"] == "active"
    assert checked.get(waiting)["status"] == "active"
    assert handler({}, LambdaContext("ReleaseFunction", timeout_seconds=60)) == {"released": 0}


def test_a_booking_checked_in_keeps_its_time(checked):
    here = checked.booked(timedelta(minutes=-5), lasting=timedelta(hours=1))
    assert checked.check_in(here).status_code == 200
    later = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=30)
    later -= timedelta(minutes=later.minute % 15)
    taken = checked.api.post(
        "/reservations",
        json={
            "space_id": checked.space["id"],
            "start_time": later.isoformat(),
            "end_time": (later + timedelta(minutes=15)).isoformat(),
        },
        headers=checked.headers(),
    )
    assert taken.status_code == 409
    assert checked.get(here)["status"] == "active"


def test_a_space_without_check_in_asks_for_none(booking):
    mine = booking.post("10:00", "11:00").json()
    assert mine["check_in_by"] is None
    answer = booking.api.post(
        f"/reservations/{mine['id']}/check-in", headers=bearer(booking.user["access_token"])
    )
    assert answer.status_code == 409
    assert answer.json()["title"] == "No check-in needed"


def test_a_person_checks_in_with_the_code_printed_where_the_space_is(
    checked, client_for, spaces_api, monkeypatch
):
    monkeypatch.setenv("RESERVAS_PUBLIC_URL", "https://rooms.example.org/")
    reset_caches()
    spaces = client_for("spaces")
    path = f"/spaces/{checked.space['id']}/check-in-code"
    assert spaces.get(path, headers=checked.headers()).status_code == 403  # admins print codes
    printed = spaces.get(path, headers=spaces_api.admin_headers).json()
    assert printed["url"] == (
        f"https://rooms.example.org/check-in?space={checked.space['id']}&code={printed['code']}"
    )
    assert printed["svg"].startswith("<svg") and "<title>Check in</title>" in printed["svg"]
    # A document of its own: saved as a file, or shown as an image, it is drawn (no namespace: not SVG).
    assert ElementTree.fromstring(printed["svg"]).tag == "{http://www.w3.org/2000/svg}svg"  # noqa: S314
    assert spaces.get(path, headers=spaces_api.admin_headers).json()["code"] == printed["code"]  # stable
    assert printed["code"] not in spaces_api.get(f"/spaces/{checked.space['id']}").text

    def scan(code, space_id=checked.space["id"]):
        return checked.api.post(
            "/reservations/check-in", json={"space_id": space_id, "code": code}, headers=checked.headers()
        )

    nothing = scan(printed["code"])
    assert nothing.status_code == 404 and nothing.json()["title"] == "Nothing to check in to"
    mine = checked.booked(timedelta(minutes=5))
    later = checked.booked(timedelta(hours=3))  # not open yet: never the one checked in
    scanned = scan(printed["code"])
    assert scanned.status_code == 200, scanned.text
    assert scanned.json()["id"] == mine and scanned.json()["checked_in_at"] is not None
    assert scan(printed["code"]).json() == scanned.json()  # again: the same
    assert checked.get(later)["checked_in_at"] is None
    # Rotated: the printed code stops working at once.
    rotated = spaces.post(path, headers=spaces_api.admin_headers).json()
    assert rotated["code"] != printed["code"]
    assert scan(printed["code"]).status_code == 404
    assert scan(rotated["code"]).status_code == 200
    other = spaces_api.create(name="Other desk", opening_hours=EVERY_DAY, check_in_required=True)
    assert scan(rotated["code"], space_id=other["id"]).status_code == 404
    for forged in ("", "x" * 65, "a b", "<script>"):
        assert scan(forged).status_code == 422


def test_admins_see_how_a_space_is_used(checked, client_for, spaces_api, engine):
    used = checked.booked(timedelta(hours=-3))  # 1 h, checked in
    with engine.begin() as connection:
        connection.execute(
            reservations.update().where(reservations.c.id == uuid.UUID(used)).values(checked_in_at=func.now())
        )
    checked.booked(timedelta(minutes=-75))  # 1 h, nobody came: lapsed 60 minutes ago, 45 minutes freed
    released = checked.booked(timedelta(hours=-6))  # released by the function: freed from its check_in_by
    waiting = checked.booked(timedelta(hours=2))  # check-in not closed yet
    release_function()({}, LambdaContext("ReleaseFunction", timeout_seconds=60))
    assert checked.get(released)["status"] == "released" and checked.get(waiting)["status"] == "active"
    now = datetime.now(UTC)
    spaces = client_for("spaces")
    path = f"/spaces/{checked.space['id']}/usage"
    period = {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(days=1)).isoformat()}
    assert spaces.get(path, params=period, headers=checked.headers()).status_code == 403
    usage = spaces.get(path, params=period, headers=spaces_api.admin_headers).json()
    assert usage["bookings"] == 4
    assert usage["booked_hours"] == 4
    assert usage["used_hours"] == 1
    assert usage["no_shows"] == 2
    assert usage["released_hours"] == 1.5  # 45 minutes of each no-show
    assert usage["no_show_rate"] == round(2 / 3, 4)  # of the three whose check-in has closed
    for bad in (
        {**period, "to": period["from"]},
        {"from": period["from"], "to": (now + timedelta(days=400)).isoformat()},
    ):
        assert spaces.get(path, params=bad, headers=spaces_api.admin_headers).status_code == 422
    empty = spaces_api.create(name="Quiet room")
    quiet = spaces.get(f"/spaces/{empty['id']}/usage", params=period, headers=spaces_api.admin_headers).json()
    assert quiet["bookings"] == 0 and quiet["used_hours"] is None and quiet["no_show_rate"] is None
