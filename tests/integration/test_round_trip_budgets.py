"""How many round trips each hot route makes to PostgreSQL and to Redis: a budget per route, so that a
change that adds one is seen (and either justified by raising the budget, or undone). Counted at the
wire (pg8000's exchanges with the server, redis-py's commands sent), not timed; `make bench` reports
the same counts next to the timings."""

from __future__ import annotations

import uuid

import pytest

from devtools.round_trips import counting
from tests.integration.conftest import bearer
from tests.support import STRONG_PASSWORD, http_event, invoke, local_time, next_day

# route: (PostgreSQL round trips, Redis round trips) at the most, rate limits on; what main does today.
# A statement is one round trip (reservas.pg_connection), the BEGIN travelling with a transaction's
# first; a connection's return costs a rollback, its check-out a ping only after sitting idle. Lower a
# budget when a change saves a trip; raise one only with a reason in the commit. A read the cache
# answers checks no connection out.
BUDGETS = {
    "GET /spaces (cached)": (0, 3),
    "GET /spaces/{id} (cached)": (0, 3),
    "GET /spaces/{id}/availability (cached)": (0, 3),
    "GET /spaces/{id}/availability (uncached)": (2, 4),
    "POST /reservations": (5, 2),
    "POST /reservations (the same Idempotency-Key again)": (4, 1),
    "GET /reservations": (3, 1),
    "PATCH /reservations/{id}": (7, 2),
    "DELETE /reservations/{id}": (6, 2),
    "POST /auth/login": (4, 3),
}


def measured(counts_by_route: dict, route: str, group: str, event: dict) -> tuple[int, dict]:
    with counting() as counts:
        status, _, body = invoke(group, event)
    counts_by_route[route] = (counts["postgresql"], counts["redis"])
    return status, body


@pytest.fixture
def ready(limits_on, register, spaces_api):
    limits_on()  # the rate limits' own round trips count
    user = register(f"budget-{uuid.uuid4().hex[:8]}@example.com")
    space = spaces_api.create(name=f"Budget {uuid.uuid4().hex[:6]}")
    return user, space


def test_each_hot_route_keeps_to_its_round_trip_budget(ready):
    user, space = ready
    trips: dict[str, tuple[int, int]] = {}
    token = bearer(user["access_token"])
    space_path = f"/spaces/{space['id']}"
    day = next_day("Europe/Madrid")

    invoke("spaces", http_event("GET", "/spaces"))  # the cache filled
    assert measured(trips, "GET /spaces (cached)", "spaces", http_event("GET", "/spaces"))[0] == 200
    one = http_event("GET", space_path, route="/spaces/{space_id}")
    invoke("spaces", one)
    assert measured(trips, "GET /spaces/{id} (cached)", "spaces", one)[0] == 200
    availability = http_event(
        "GET", f"{space_path}/availability", route="/spaces/{space_id}/availability", query=f"date={day}"
    )
    assert measured(trips, "GET /spaces/{id}/availability (uncached)", "spaces", availability)[0] == 200
    assert measured(trips, "GET /spaces/{id}/availability (cached)", "spaces", availability)[0] == 200

    booking = {
        "space_id": space["id"],
        "start_time": local_time("Europe/Madrid", day, "10:00"),
        "end_time": local_time("Europe/Madrid", day, "11:00"),
    }
    key = {**token, "idempotency-key": str(uuid.uuid4())}
    book = http_event("POST", "/reservations", body=booking, headers=key)
    status, booked = measured(trips, "POST /reservations", "reservations", book)
    assert status == 201, booked
    again = measured(trips, "POST /reservations (the same Idempotency-Key again)", "reservations", book)
    assert again[1]["id"] == booked["id"]
    assert (
        measured(
            trips, "GET /reservations", "reservations", http_event("GET", "/reservations", headers=token)
        )[0]
        == 200
    )
    later = {"end_time": local_time("Europe/Madrid", day, "11:30")}
    path = f"/reservations/{booked['id']}"
    change = http_event("PATCH", path, route="/reservations/{reservation_id}", body=later, headers=token)
    assert measured(trips, "PATCH /reservations/{id}", "reservations", change)[0] == 200
    cancel = http_event("DELETE", path, route="/reservations/{reservation_id}", headers=token)
    assert measured(trips, "DELETE /reservations/{id}", "reservations", cancel)[0] == 200

    login = {"email": user["user"]["email"], "password": STRONG_PASSWORD}
    assert (
        measured(trips, "POST /auth/login", "auth", http_event("POST", "/auth/login", body=login))[0] == 200
    )

    over = {
        route: (trips[route], budget)
        for route, budget in BUDGETS.items()
        if not _within(trips[route], budget)
    }
    assert over == {}, f"round trips (PostgreSQL, Redis) over budget: {over}; all: {trips}"


def _within(counted: tuple[int, int], budget: tuple[int, int]) -> bool:
    return counted[0] <= budget[0] and counted[1] <= budget[1]


def test_a_read_the_cache_answers_needs_no_database(ready, monkeypatch):
    """Cached, a space's details answer while PostgreSQL is out of reach (it used to be a 503: every
    request checked a connection out first, whether it needed one or not)."""
    from tests.conftest import reset_caches

    _, space = ready
    one = http_event("GET", f"/spaces/{space['id']}", route="/spaces/{space_id}")
    assert invoke("spaces", one)[0] == 200  # now cached
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody:nothing@127.0.0.1:9/reservas")
    reset_caches()  # the next request builds its engine on the address that does not answer
    status, _, body = invoke("spaces", one)
    assert status == 200 and body["id"] == space["id"]
    listing = invoke("spaces", http_event("GET", "/spaces", query="q=no-such-space-anywhere"))
    assert listing[0] == 503  # what the cache does not hold still needs the database
