"""The waitlist, attacked (issue 15): each test failed before its fix."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from devtools.apigw import ROOT
from reservas.tables import outbox
from tests.integration.conftest import bearer
from tests.integration.test_waitlist import deliver, wait_for


def rule_types() -> set[str]:
    from samcli.yamlhelper import yaml_parse

    template = yaml_parse((ROOT / "template.yaml").read_text())
    events = template["Resources"]["PromoteFunction"]["Properties"]["Events"]
    return set(events["TimeFreed"]["Properties"]["Pattern"]["detail-type"])


def last_event_id(engine) -> int:
    with engine.connect() as db:
        return db.execute(select(func.coalesce(func.max(outbox.c.id), 0))).scalar_one()


def deliver_routed(engine, after: int) -> int:
    """Every event written since `after` that the template's rule routes to PromoteFunction, delivered
    as EventBridge would; how many entries were promoted."""
    routed = rule_types()
    with engine.connect() as db:
        rows = db.execute(
            select(outbox.c.id, outbox.c.event_type, outbox.c.payload)
            .where(outbox.c.id > after)
            .order_by(outbox.c.id)
        ).all()
    return sum(
        deliver(row.event_type, {"id": row.id, **row.payload})["promoted"]
        for row in rows
        if row.event_type in routed
    )


def statuses(booking, person) -> list[str]:
    return [e["status"] for e in booking.api.get("/waitlist", headers=bearer(person["access_token"])).json()]


# ---------------------------------------------------------------- time freed without an event


def test_deleting_a_closure_promotes_the_people_waiting(booking, register, closing, engine):
    """The issue: "When time frees up (a cancellation, a release, a closure removed, ...)"."""
    closure = closing.space(booking.space["id"], booking.at("10:00"), booking.at("12:00"))
    assert closure.status_code == 201, closure.text
    waiting = register("waiting@example.com", name="Waiting")
    assert booking.post("10:00", "11:00", token=waiting["access_token"]).status_code == 409
    assert wait_for(booking, "10:00", "11:00", waiting["access_token"]).status_code == 201
    mark = last_event_id(engine)
    assert closing.delete(closure.json()["id"]).status_code == 204
    assert deliver_routed(engine, mark) == 1  # today: 0, no event the rule listens to is written
    assert statuses(booking, waiting) == ["promoted"]


# ---------------------------------------------------------------- FIFO window starves later entries


def test_fifty_older_entries_still_blocked_do_not_starve_an_entry_whose_time_frees(
    booking, register, book, engine
):
    """promote() looks at the 50 oldest waiting entries of the space, whatever interval they wait for:
    50 entries for another day (still taken) hide the one entry whose interval just freed."""
    other_day = booking.day + timedelta(days=7)
    from tests.support import local

    book(
        booking.space,
        local("Europe/Madrid", other_day, "08:00"),
        local("Europe/Madrid", other_day, "20:00"),
    )
    halves = [f"{h:02d}:{m}" for h in range(8, 20) for m in ("00", "30")]
    for n in range(5):
        person = register(f"early{n}@example.com", name=f"Early{n}")
        for start, end in list(itertools.pairwise(halves))[:10]:
            joined = booking.api.post(
                "/waitlist",
                json={
                    "space_id": booking.space["id"],
                    "start_time": booking.at(start, other_day),
                    "end_time": booking.at(end, other_day),
                },
                headers=bearer(person["access_token"]),
            )
            assert joined.status_code == 201, joined.text
    taken = booking.post("10:00", "11:00").json()
    late = register("late@example.com", name="Late")
    assert wait_for(booking, "10:00", "11:00", late["access_token"]).status_code == 201
    cancelled = booking.api.delete(
        f"/reservations/{taken['id']}", headers=bearer(booking.user["access_token"])
    )
    assert deliver("ReservationCancelled", cancelled.json()) == {"promoted": 1}  # today: 0
    assert statuses(booking, late) == ["promoted"]


# ---------------------------------------------------------------- your own entry books you again


def test_an_entry_for_time_you_hold_yourself_is_refused(booking):
    booking.post("10:00", "11:00")
    joined = wait_for(booking, "10:00", "11:00", booking.user["access_token"])
    assert joined.status_code in (409, 422), joined.text  # today: 201, waiting for your own booking


def test_cancelling_a_booking_made_by_hand_does_not_book_it_again_from_your_own_entry(booking, register):
    """Bob waits; the time frees and Bob books it by hand before promotion; Carol waits after him. Bob
    cancels: Carol should get it. Today Bob's forgotten entry (still `waiting`) books Bob again: he can
    no longer give the time up, and Carol is passed over."""
    taken = booking.post("10:00", "11:00").json()
    bob, carol = register("bob@example.com", name="Bob"), register("carol@example.com", name="Carol")
    assert wait_for(booking, "10:00", "11:00", bob["access_token"]).status_code == 201
    freed = booking.api.delete(f"/reservations/{taken['id']}", headers=bearer(booking.user["access_token"]))
    by_hand = booking.post("10:00", "11:00", token=bob["access_token"])
    assert by_hand.status_code == 201
    assert deliver("ReservationCancelled", freed.json()) == {"promoted": 0}
    assert wait_for(booking, "10:00", "11:00", carol["access_token"]).status_code == 201
    gone = booking.api.delete(f"/reservations/{by_hand.json()['id']}", headers=bearer(bob["access_token"]))
    assert deliver("ReservationCancelled", gone.json()) == {"promoted": 1}
    assert statuses(booking, carol) == ["promoted"]  # today: ["waiting"]
    bobs = booking.api.get(
        "/reservations", params={"status": "active"}, headers=bearer(bob["access_token"])
    ).json()["items"]
    assert bobs == []  # today: Bob is booked again by his own entry


# ---------------------------------------------------------------- joining free time waits forever


def test_joining_for_time_that_is_free_is_not_a_silent_wait(booking, register):
    """The 409 -> join gap: the time frees (and its one promotion runs, finding nobody) before the
    person joins. Their entry waits for time that is already free, and nothing will ever promote it
    unless something else happens in that space; meanwhile anyone may take it."""
    taken = booking.post("10:00", "11:00").json()
    late = register("late@example.com", name="Late")
    assert booking.post("10:00", "11:00", token=late["access_token"]).status_code == 409
    freed = booking.api.delete(f"/reservations/{taken['id']}", headers=bearer(booking.user["access_token"]))
    assert deliver("ReservationCancelled", freed.json()) == {"promoted": 0}
    joined = wait_for(booking, "10:00", "11:00", late["access_token"])
    # Refused (the time is free: book it), or booked at once; not 201 "waiting" for nothing.
    assert not (joined.status_code == 201 and joined.json()["status"] == "waiting"), joined.text


# ---------------------------------------------------------------- cost of a promotion


def test_entries_that_cannot_be_booked_cost_little_to_try(booking, register, book, engine):
    """Every event in the space tries up to 50 entries, each a full booking attempt; one refused for
    overlap also computes suggestions (free time of the day, every other space free then), which the
    promotion throws away. 50 entries still blocked should cost a few statements, not hundreds."""
    other_day = booking.day + timedelta(days=7)
    from tests.support import local

    book(
        booking.space, local("Europe/Madrid", other_day, "08:00"), local("Europe/Madrid", other_day, "20:00")
    )
    halves = [f"{h:02d}:{m}" for h in range(8, 20) for m in ("00", "30")]
    for n in range(5):
        person = register(f"early{n}@example.com", name=f"Early{n}")
        for start, end in list(itertools.pairwise(halves))[:10]:
            assert (
                booking.api.post(
                    "/waitlist",
                    json={
                        "space_id": booking.space["id"],
                        "start_time": booking.at(start, other_day),
                        "end_time": booking.at(end, other_day),
                    },
                    headers=bearer(person["access_token"]),
                ).status_code
                == 201
            )
    from reservas.database import job_engine
    from reservas.reservations import waitlist

    statements = []
    promote_engine = job_engine(25)
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(promote_engine, "before_cursor_execute", listener)
    try:
        started = time.perf_counter()
        with promote_engine.connect() as db:
            assert waitlist.promote(db, uuid.UUID(booking.space["id"])) == []
        took = time.perf_counter() - started
    finally:
        event.remove(promote_engine, "before_cursor_execute", listener)
    print(f"{len(statements)} statements, {took:.2f} s for 50 blocked entries")
    assert len(statements) <= 50 * 5, f"{len(statements)} statements, {took:.2f} s"


# ---------------------------------------------------------------- hostile or malformed events


@pytest.mark.parametrize(
    "detail",
    [
        "not an object",
        {"space_id": "not-a-uuid"},
        {"cancelled": [{"space_id": "x"}]},
        {"cancelled": {"space_id": "x"}},
        {"cancelled": ["a string"]},
    ],
)
def test_a_malformed_event_is_skipped_not_a_crash(detail, booking):
    from devtools.apigw import LambdaContext
    from tests.integration.test_waitlist import promote_function

    event_body = {"version": "0", "id": "x", "detail-type": "ReservationCancelled", "source": "reservas"}
    answer = promote_function()({**event_body, "detail": detail}, LambdaContext("PromoteFunction"))
    assert answer == {"promoted": 0}


def test_one_bad_space_id_does_not_stop_promotion_in_the_others(booking, register):
    taken = booking.post("10:00", "11:00").json()
    waiting = register("waiting@example.com", name="Waiting")
    assert wait_for(booking, "10:00", "11:00", waiting["access_token"]).status_code == 201
    booking.api.delete(f"/reservations/{taken['id']}", headers=bearer(booking.user["access_token"]))
    detail = {
        "series_id": str(uuid.uuid4()),
        "cancelled": [{"space_id": booking.space["id"]}, {"space_id": "?"}],
    }
    assert deliver("SeriesCancelled", detail) == {"promoted": 1}


# ---------------------------------------------------------------- an event too large to be delivered


def test_a_series_cancelled_fits_in_one_eventbridge_event(series, spaces_api, engine):
    """EventBridge refuses PutEvents entries (and calls) over 256 KB; the outbox then keeps the event
    (and the nine published with it) pending forever, so the time a cancelled series frees never
    reaches PromoteFunction. A 104-week series with 1000 non-ASCII characters of notes is allowed."""
    from tests.support import EVERY_DAY, next_day

    space = spaces_api.create(name="Weekly", opening_hours=EVERY_DAY, max_advance_days=730)
    day = next_day("Europe/Madrid")
    booked = series.book(space, day, "10:00", "11:00", "FREQ=WEEKLY;COUNT=104", notes="é" * 1000)
    assert booked.status_code == 201, booked.text
    mark = last_event_id(engine)
    gone = series.api.delete(f"/reservations/series/{booked.json()['id']}", headers=bearer(series.token))
    assert gone.status_code in (200, 204), gone.text
    with engine.connect() as db:
        row = db.execute(
            select(outbox.c.id, outbox.c.event_type, outbox.c.payload).where(
                outbox.c.id > mark, outbox.c.event_type == "SeriesCancelled"
            )
        ).one()
    size = len("reservas") + len(row.event_type) + len(json.dumps({"id": row.id, **row.payload}).encode())
    assert size <= 256 * 1024, f"SeriesCancelled entry is {size / 1024:.0f} KB"
