"""Attacks on API keys for integrators: a hostile integrator, a malicious non-admin, an unlucky operator.
Some showed holes when the keys were new (made-up keys escaping the address's limit, keys of accounts
nobody verified, revoking racing leaving); the others pin defences that held."""

from __future__ import annotations

import secrets
import threading
import time
import uuid

import pytest
from sqlalchemy import select

from reservas.tables import api_keys, reservations, users
from tests.integration.conftest import bearer
from tests.integration.test_api_keys import ALL_SCOPES
from tests.support import STRONG_PASSWORD, http_event, invoke

JSON = {"content-type": "application/json"}


def made_up() -> str:
    return "rsv_" + secrets.token_urlsafe(32)


# ---------------------------------------------------------------- rate limits


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/reservations", "{"),  # malformed JSON: refused before any dependency runs
        ("GET", "/reservations/a/b/c", None),  # no such route: 404, no dependency runs
        ("PUT", "/reservations", None),  # 405, no dependency runs
    ],
)
def test_made_up_keys_do_not_escape_the_address_limit_on_requests_refused_before_sign_in(
    limits_on, engine, method, path, body
):
    """docs/api.md: "A key that is not genuine counts against its address's limit instead, so made-up
    keys do not escape it." The middleware puts every `Bearer rsv_...` request in the key's bucket and
    leaves it to the `caller` dependency to count a bad key against the address; a request refused
    before any dependency runs is counted nowhere but in the made-up key's own, fresh bucket."""
    limits_on(rate_limit_default="3/minute;20/second", rate_limit_api_key="600/minute;20/second")

    def send(address: str, authorization: str | None) -> int:
        headers = {**JSON, **({"authorization": authorization} if authorization else {})}
        return invoke(
            "reservations", http_event(method, path, body=body, headers=headers, source_ip=address)
        )[0]

    # Without a key the address is held to its limit...
    assert [send("198.51.100.31", None) for _ in range(5)][3:] == [429, 429]
    # ...with a fresh made-up key on each request it is not.
    statuses = [send("198.51.100.32", f"Bearer {made_up()}") for _ in range(8)]
    assert 429 in statuses, statuses


def test_a_key_on_the_busy_feed_is_counted_per_key_not_against_the_address(limits_on, keys, booking):
    """docs: requests with a key "have a rate limit of their own ... wherever they come from; one
    integrator using up its budget holds up neither other keys nor people at the same address". On
    `/spaces/{id}/busy.ics` (which takes `spaces:read`) the middleware picks the feeds bucket before
    looking for a key, so the key's requests use up the address's feed budget."""
    key = keys.create(booking.user["user"]["id"], ["spaces:read"])["key"]
    limits_on(rate_limit_feeds="3/minute", rate_limit_api_key="600/minute")
    address = "198.51.100.41"
    path = f"/spaces/{booking.space['id']}/busy.ics"

    def get(headers: dict) -> int:
        from devtools.apigw import LambdaContext
        from tests.support import function_module

        event = http_event("GET", path, headers=headers, source_ip=address)
        return function_module("spaces").handler(event, LambdaContext("SpacesFunction"))["statusCode"]

    assert [get({"authorization": f"Bearer {key}"}) for _ in range(4)] == [200] * 4
    assert get({}) == 200  # a calendar service at the same address is not held up by the integrator


# ---------------------------------------------------------------- who a key acts for


def test_a_key_cannot_be_made_for_an_account_whose_address_nobody_verified(client_for, admin, engine):
    """An account whose address is not verified "belongs to no one" (accounts.verification.register):
    anyone may register the same address again and whoever confirms a link takes the account, with
    its id; confirming an address change to it deletes the account (`_free`). It cannot sign in, is
    sent no mail, and the API never acts for it, yet api_keys.create only checks that the id exists:
    a key made for it books as an account that may tomorrow be a stranger's, or vanish with its key."""
    auth = client_for("auth")
    registered = auth.post(
        "/auth/register", json={"email": "typo@exampel.com", "password": STRONG_PASSWORD, "name": "Typo"}
    )
    assert registered.status_code == 202
    with engine.connect() as connection:
        unverified = connection.execute(
            select(users.c.id, users.c.email_verified_at).where(users.c.email == "typo@exampel.com")
        ).one()
    assert unverified.email_verified_at is None
    assert (
        auth.post("/auth/login", json={"email": "typo@exampel.com", "password": STRONG_PASSWORD}).status_code
        != 200
    )

    response = client_for("users").post(
        "/api-keys",
        json={"name": "Display", "user_id": str(unverified.id), "scopes": ALL_SCOPES},
        headers=bearer(admin["access_token"]),
    )

    assert response.status_code == 422, response.text
    assert any(error["loc"][:2] == ["body", "user_id"] for error in response.json()["errors"])


# ---------------------------------------------------------------- races


def test_revoking_a_key_while_its_account_leaves_lets_both_finish(
    keys, booking, client_for, admin, engine, monkeypatch
):
    """An admin revokes a person's key at the moment the person deletes their account. `revoke` locks
    the key's row, then (committing its audit entry, `subject_id` = the person, a deferred reference)
    asks for the person's row; `leaving.leave` locks the person's row, then deleting the account
    cascades to the key's row. Lock order key->person versus person->key: the leaving waits on the key
    until its lock_timeout (503), or, where deadlock_timeout is shorter, one side dies with 40P01 (500)."""
    from reservas import audit

    user_id = booking.user["user"]["id"]
    key = keys.create(user_id, ["reservations:read"])
    original = audit.record
    revoking = threading.Event()

    def record_then_dawdle(db, actor, action, *args, **kwargs):
        original(db, actor, action, *args, **kwargs)
        if action == "api_key.revoked":
            revoking.set()
            time.sleep(0.6)  # the rest of revoke's transaction: commit, with its references checked

    monkeypatch.setattr(audit, "record", record_then_dawdle)
    answers: dict[str, int] = {}

    def revoke() -> None:
        answers["revoke"] = keys.revoke(key["id"]).status_code

    revoker = threading.Thread(target=revoke)
    revoker.start()
    assert revoking.wait(5)
    left = client_for("users").request(
        "DELETE",
        "/users/me",
        json={"current_password": STRONG_PASSWORD},
        headers=bearer(booking.user["access_token"]),
    )
    answers["leave"] = left.status_code
    revoker.join(10)

    assert answers["revoke"] in (204, 404) and answers["leave"] == 204, answers


def test_fifty_requests_in_flight_while_the_key_is_revoked_never_5xx(keys, booking):
    key = keys.create(booking.user["user"]["id"], ["reservations:read"])
    statuses: list[int] = []
    lock = threading.Lock()

    def use() -> None:
        status = booking.api.get("/reservations", headers=bearer(key["key"])).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=use) for _ in range(50)]
    for i, thread in enumerate(threads):
        thread.start()
        if i == 25:
            assert keys.revoke(key["id"]).status_code == 204
    for thread in threads:
        thread.join(20)
    assert len(statuses) == 50 and set(statuses) <= {200, 401}, sorted(set(statuses))
    assert booking.api.get("/reservations", headers=bearer(key["key"])).status_code == 401


# ---------------------------------------------------------------- defences that held


def test_a_read_key_cannot_change_a_booking_by_any_route(keys, booking, engine):
    booked = booking.post("10:00", "11:00")
    assert booked.status_code == 201
    reservation_id = booked.json()["id"]
    reader = bearer(keys.create(booking.user["user"]["id"], ["reservations:read", "spaces:read"])["key"])
    api = booking.api
    attempts = [
        api.delete(f"/reservations/{reservation_id}", headers=reader),
        api.patch(f"/reservations/{reservation_id}", json={"notes": "pwned"}, headers=reader),
        api.post(f"/reservations/{reservation_id}/check-in", headers=reader),
        api.post(
            "/reservations/check-in", json={"space_id": booking.space["id"], "code": "x" * 8}, headers=reader
        ),
        api.post(f"/reservations/{reservation_id}/approve", headers=reader),
        api.post(f"/reservations/{reservation_id}/decline", json={"reason": "no"}, headers=reader),
        api.post(
            "/waitlist",
            json={
                "space_id": booking.space["id"],
                "start_time": booking.at("10:00"),
                "end_time": booking.at("11:00"),
            },
            headers=reader,
        ),
        api.delete(f"/waitlist/{uuid.uuid4()}", headers=reader),
        api.delete(f"/reservations/series/{uuid.uuid4()}", headers=reader),
        api.post(
            "/reservations/series",
            json={
                "space_id": booking.space["id"],
                "start_time": booking.at("12:00"),
                "end_time": booking.at("13:00"),
                "rule": "FREQ=DAILY;COUNT=2",
            },
            headers=reader,
        ),
    ]
    assert [a.status_code for a in attempts] == [403] * len(attempts), [
        (a.status_code, a.text) for a in attempts
    ]
    with engine.connect() as connection:
        row = (
            connection.execute(select(reservations).where(reservations.c.id == uuid.UUID(reservation_id)))
            .mappings()
            .one()
        )
    assert row["status"] == "active" if "status" in row else True
    assert (row.get("notes") or "") != "pwned"


@pytest.mark.parametrize(
    ("group", "method", "path", "body"),
    [
        ("auth", "POST", "/auth/logout", {"refresh_token": "x" * 43}),
        ("users", "DELETE", "/users/me", {"current_password": STRONG_PASSWORD}),
        ("users", "DELETE", "/users/me/calendar-token", None),
        ("users", "PUT", "/users/me", {"name": "Mallory", "current_password": STRONG_PASSWORD}),
        ("users", "GET", "/audit", None),
        ("spaces", "GET", "/closures", None),
    ],
)
def test_a_key_with_every_scope_is_refused_where_people_sign_in(
    keys, booking, engine, group, method, path, body
):
    user_id = booking.user["user"]["id"]
    key = keys.create(user_id, ALL_SCOPES)["key"]
    status, _, answer = invoke(
        group, http_event(method, path, body=body, headers={"authorization": f"Bearer {key}", **JSON})
    )
    assert status == 403, (status, answer)
    with engine.connect() as connection:
        assert (
            connection.execute(select(users.c.name).where(users.c.id == uuid.UUID(user_id))).scalar_one()
            == "Booker"
        )


def test_a_key_is_taken_only_from_the_authorization_header(keys, booking):
    key = keys.create(booking.user["user"]["id"], ["reservations:read"])["key"]
    for query, cookies in [
        (f"access_token={key}", None),
        (f"api_key={key}", None),
        ("", [f"access_token={key}"]),
    ]:
        status, _, _ = invoke(
            "reservations", http_event("GET", "/reservations", query=query, cookies=cookies)
        )
        assert status == 401


@pytest.mark.parametrize(
    "template",
    ["bearer {key}", "BEARER {key}", "Bearer  {key}", "Bearer {key} ", "Bearer {key}, Bearer {token}"],
)
def test_odd_authorization_headers_are_counted_where_they_are_judged(limits_on, keys, booking, template):
    """The middleware and the dependency read the header alike: whatever the spacing or case, a
    genuine key is counted per key and accepted, and anything else is refused and counted against the
    address; two credentials comma-joined (as API Gateway joins repeated headers) are neither."""
    key = keys.create(booking.user["user"]["id"], ["reservations:read"])["key"]
    assert booking.api.get("/reservations", headers=bearer(key)).status_code == 200  # seen accepted
    limits_on(rate_limit_api_key="2/minute", rate_limit_default="3/minute")
    header = template.format(key=key, token=booking.user["access_token"])
    address = "198.51.100.51"

    def get(authorization: str) -> int:
        return invoke(
            "reservations",
            http_event("GET", "/reservations", headers={"authorization": authorization}, source_ip=address),
        )[0]

    if "," in template:
        # not a key seen accepted: counted against the address (3/minute), and refused
        assert [get(header) for _ in range(5)] == [401, 401, 401, 429, 429]
        return
    assert [get(f"Bearer {key}") for _ in range(2)] == [200, 200]
    assert get(header) == 429  # the same key's bucket, however it is written
    assert get(f"Bearer {booking.user['access_token']}") == 200  # the address's budget is untouched


def test_redis_down_does_not_stop_keys(limits_on, keys, booking, monkeypatch):
    key = keys.create(booking.user["user"]["id"], ["reservations:read"])["key"]
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    limits_on(rate_limit_api_key="1/minute")
    started = time.monotonic()
    statuses = [
        invoke("reservations", http_event("GET", "/reservations", headers={"authorization": f"Bearer {h}"}))[
            0
        ]
        for h in (key, key, made_up())
    ]
    assert statuses == [200, 200, 401]
    assert time.monotonic() - started < 5


def test_the_last_use_update_commits_nothing_of_the_request(keys, booking, engine):
    """holder() commits the request's connection; a booking with the key still writes all or nothing:
    a refused booking leaves no row and no audit entry behind."""
    writer = keys.create(booking.user["user"]["id"], ["reservations:write"])
    with engine.begin() as connection:
        connection.execute(api_keys.update().values(last_used_at=None))
    refused = booking.post("03:00", "04:00", token=writer["key"])  # outside opening hours
    assert refused.status_code == 422
    with engine.connect() as connection:
        assert connection.execute(select(reservations.c.id)).first() is None
        assert connection.execute(select(api_keys.c.last_used_at)).scalar_one() is not None


def test_every_change_made_with_a_key_is_recorded_as_the_key(keys, booking, client_for, admin):
    """Booking, changing, cancelling and a series: each audit entry names the account and the key."""
    user_id = booking.user["user"]["id"]
    writer = keys.create(user_id, ["reservations:write"])
    headers = bearer(writer["key"])
    booked = booking.post("10:00", "11:00", token=writer["key"])
    assert booked.status_code == 201, booked.text
    reservation_id = booked.json()["id"]
    changed = booking.api.patch(
        f"/reservations/{reservation_id}", json={"end_time": booking.at("11:30")}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    assert booking.api.delete(f"/reservations/{reservation_id}", headers=headers).status_code == 200
    series = booking.api.post(
        "/reservations/series",
        json={
            "space_id": booking.space["id"],
            "start_time": booking.at("14:00"),
            "end_time": booking.at("15:00"),
            "rule": {"frequency": "weekly", "count": 2},
        },
        headers=headers,
    )
    log = client_for("users").get("/audit", params={"actor": user_id}, headers=bearer(admin["access_token"]))
    entries = log.json()["items"]
    assert entries and all(entry["actor_key_id"] == writer["id"] for entry in entries), entries
    actions = {entry["action"] for entry in entries}
    assert {"reservation.created", "reservation.changed", "reservation.cancelled"} <= actions or (
        {"reservation.created", "reservation.cancelled"} <= actions
    ), actions
    assert series.status_code in (201, 422), series.text
