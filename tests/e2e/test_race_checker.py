"""The race checker against the local API: clients book, cancel and re-book overlapping intervals at
once; afterwards every acknowledged booking exists as acknowledged, nothing overlaps, nothing was a 5xx."""

from __future__ import annotations

from bench.race_checker import Workload, check, run_against_api
from tests.support import local, next_day, sign_up, space_body

EVERY_DAY = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def test_bookings_cancellations_and_rebookings_racing_keep_every_promise(
    http, local_api, engine, admin_headers
):
    headers = admin_headers
    spaces = [
        http.post(
            "/spaces", json=space_body(name=f"Room {n}", opening_hours=EVERY_DAY), headers=headers
        ).json()["id"]
        for n in range(3)
    ]
    tokens = [
        sign_up(http, engine, f"client{n}@example.com", name="Client")["access_token"] for n in range(8)
    ]
    workload = Workload(
        spaces=spaces,
        first_start=local("Europe/Madrid", next_day("Europe/Madrid", weekday=1), "09:00"),
        clients=8,
        operations_per_client=20,
        max_seconds=90,
    )

    history = run_against_api(workload, local_api.url, tokens)
    verdict = check(history, engine)

    assert verdict.ok, verdict
    assert verdict.acknowledged_bookings > 0 and verdict.refused_bookings > 0  # the clients did collide
    assert verdict.cancellations > 0
