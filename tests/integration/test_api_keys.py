"""API keys for integrators: made by admins for one account, with scopes and an expiry, shown once,
refused at once when revoked, counted per key, and named in the audit log."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from reservas.errors import PROBLEM_JSON
from reservas.tables import api_keys, reservations
from tests.integration.conftest import bearer
from tests.support import STRONG_PASSWORD, http_event, invoke

ROOT = Path(__file__).resolve().parents[2]
ALL_SCOPES = ["spaces:read", "reservations:read", "reservations:write"]


def bookings_of(engine, user_id: str) -> int:
    with engine.connect() as connection:
        return connection.execute(
            select(func.count()).where(reservations.c.user_id == uuid.UUID(user_id))
        ).scalar_one()


def test_a_key_is_shown_once_and_only_its_hash_is_kept(keys, booking, engine):
    made = keys.create(booking.user["user"]["id"], ["reservations:read"])

    assert made["key"].startswith("rsv_") and len(made["key"]) > 40
    assert made["key"].startswith(made["prefix"])
    assert made["scopes"] == ["reservations:read"]
    listed = keys.listed()
    assert [item["id"] for item in listed] == [made["id"]]
    assert "key" not in listed[0] and made["key"] not in json.dumps(listed)
    with engine.connect() as connection:
        stored = connection.execute(select(api_keys)).mappings().one()
    assert made["key"] not in repr(dict(stored))
    # 90 days unless told otherwise
    expires = datetime.fromisoformat(made["expires_at"])
    assert timedelta(days=89) < expires - datetime.now(UTC) <= timedelta(days=90)


def test_a_key_without_reservations_write_cannot_book(keys, booking, engine):
    user_id = booking.user["user"]["id"]
    reader = keys.create(user_id, ["reservations:read", "spaces:read"])

    refused = booking.post("10:00", "11:00", token=reader["key"])

    assert refused.status_code == 403
    assert refused.headers["content-type"] == PROBLEM_JSON
    assert "reservations:write" in refused.json()["detail"]
    assert bookings_of(engine, user_id) == 0
    # what it may do, it does: read the account's bookings and the catalogue
    assert booking.post("10:00", "11:00").status_code == 201  # the person books
    mine = booking.api.get("/reservations", headers=bearer(reader["key"]))
    assert mine.status_code == 200 and len(mine.json()["items"]) == 1
    one = mine.json()["items"][0]["id"]
    assert booking.api.get(f"/reservations/{one}", headers=bearer(reader["key"])).status_code == 200
    status, _, _ = invoke(
        "spaces",
        http_event(
            "GET",
            f"/spaces/{booking.space['id']}/availability",
            query=f"date={booking.day.isoformat()}",
            headers={"authorization": f"Bearer {reader['key']}"},
        ),
    )
    assert status == 200


def test_a_key_with_reservations_write_books_as_its_account_and_the_audit_log_names_the_key(
    keys, booking, client_for, admin, engine
):
    user_id = booking.user["user"]["id"]
    writer = keys.create(user_id, ["reservations:write"])

    booked = booking.post("10:00", "11:00", token=writer["key"])

    assert booked.status_code == 201, booked.text
    assert booked.json()["user_id"] == user_id
    audit = client_for("users").get(
        "/audit", params={"api_key": writer["id"]}, headers=bearer(admin["access_token"])
    )
    assert audit.status_code == 200
    entries = audit.json()["items"]
    assert [entry["action"] for entry in entries] == ["reservation.created"]
    assert entries[0]["actor_id"] == user_id
    assert entries[0]["actor_key_id"] == writer["id"]
    # and cancelling it with the key is recorded the same way
    cancelled = booking.api.delete(f"/reservations/{booked.json()['id']}", headers=bearer(writer["key"]))
    assert cancelled.status_code in (200, 204), cancelled.text
    # reading needs reservations:read, which this key lacks
    assert booking.api.get("/reservations", headers=bearer(writer["key"])).status_code == 403


def test_a_revoked_key_is_refused_at_once(keys, booking):
    key = keys.create(booking.user["user"]["id"], ["reservations:read"])
    assert booking.api.get("/reservations", headers=bearer(key["key"])).status_code == 200

    assert keys.revoke(key["id"]).status_code == 204

    refused = booking.api.get("/reservations", headers=bearer(key["key"]))
    assert refused.status_code == 401
    assert refused.headers["content-type"] == PROBLEM_JSON
    assert keys.revoke(key["id"]).status_code == 204  # again: nothing changes
    assert keys.listed()[0]["revoked_at"] is not None
    assert keys.revoke(str(uuid.uuid4())).status_code == 404


def test_an_expired_key_is_refused(keys, booking, engine):
    key = keys.create(booking.user["user"]["id"], ["reservations:read"])
    with engine.begin() as connection:  # time passes
        connection.execute(
            update(api_keys).values(
                expires_at=func.now() - timedelta(seconds=1), created_at=func.now() - timedelta(days=91)
            )
        )
    assert booking.api.get("/reservations", headers=bearer(key["key"])).status_code == 401


def test_a_key_goes_with_its_account(keys, booking, client_for):
    key = keys.create(booking.user["user"]["id"], ["reservations:read"])
    left = client_for("users").request(
        "DELETE",
        "/users/me",
        json={"current_password": STRONG_PASSWORD},
        headers=bearer(booking.user["access_token"]),
    )
    assert left.status_code == 204
    assert booking.api.get("/reservations", headers=bearer(key["key"])).status_code == 401


def test_the_last_use_is_recorded(keys, booking):
    key = keys.create(booking.user["user"]["id"], ["reservations:read"])
    assert keys.listed()[0]["last_used_at"] is None

    before = datetime.now(UTC) - timedelta(seconds=5)
    booking.api.get("/reservations", headers=bearer(key["key"]))
    # a refused request is a use too (the key was genuine)
    booking.post("10:00", "11:00", token=key["key"])

    used = datetime.fromisoformat(keys.listed()[0]["last_used_at"])
    assert before <= used <= datetime.now(UTC) + timedelta(seconds=5)


def test_keys_reach_only_the_routes_named_for_them(keys, register, make_admin, client_for, booking, admin):
    """Even a key of an administrator with every scope cannot manage spaces, users, keys or its
    account, nor read the audit log: people do that, signed in."""
    register("ops@example.com", name="Ops")
    make_admin("ops@example.com")
    ops = client_for("users").get("/users", params={"email": "ops@"}, headers=bearer(admin["access_token"]))
    ops_id = ops.json()["items"][0]["id"]
    key = keys.create(ops_id, ALL_SCOPES)["key"]
    headers = {"authorization": f"Bearer {key}"}

    for group, method, path, body in [
        ("users", "GET", "/users/me", None),
        ("users", "PUT", "/users/me", {"name": "Mallory"}),
        ("users", "GET", "/users", None),
        ("users", "GET", "/audit", None),
        ("users", "POST", "/api-keys", {"name": "x", "user_id": ops_id, "scopes": ALL_SCOPES}),
        ("users", "GET", "/api-keys", None),
        ("users", "POST", "/users/me/calendar-token", None),
        ("spaces", "POST", "/spaces", {"name": "Mine"}),
        ("spaces", "DELETE", f"/spaces/{booking.space['id']}", None),
    ]:
        status, answer_headers, answer = invoke(group, http_event(method, path, body=body, headers=headers))
        assert status == 403, (method, path, status, answer)
        assert answer_headers["content-type"] == PROBLEM_JSON
    # signing out with a key is not a thing either
    status, _, _ = invoke(
        "auth", http_event("POST", "/auth/logout", body={"refresh_token": "x" * 43}, headers=headers)
    )
    assert status in (401, 403)
    # what it is for works
    status, _, answer = invoke("spaces", http_event("GET", "/spaces", headers=headers))
    assert status == 200 and answer["items"]


def _key_routes() -> list[tuple[str, str, str]]:
    """Every route of the functions that take keys, as the contract lists them."""
    document = json.loads((ROOT / "docs" / "openapi.json").read_text())
    routes = []
    for path, operations in document["paths"].items():
        for method in operations:
            group = next(
                (tag for tag in ("users", "spaces", "reservations") if path.startswith(f"/{tag}")), None
            )
            if path.startswith(("/closures", "/waitlist", "/audit", "/api-keys", "/webhooks")):
                group = {"/closures": "spaces", "/waitlist": "reservations"}.get(
                    "/" + path.split("/")[1], "users"
                )
            if path.startswith("/calendar") or path.endswith("/health") or group is None:
                continue  # a feed's token is its own credential; health is for anyone
            routes.append((group, method.upper(), path))
    return routes


@pytest.mark.parametrize(("group", "method", "path"), _key_routes())
def test_a_made_up_key_is_refused_on_every_route(engine, group, method, path):
    """Whatever route a key is sent to, a key that is not genuine is a 401: no route ignores it (a
    request with a key is counted per key, so one ignored would escape its address's rate limit)."""
    forged = "rsv_" + secrets.token_urlsafe(32)
    concrete = path
    for name in (
        "space_id",
        "reservation_id",
        "series_id",
        "user_id",
        "entry_id",
        "closure_id",
        "key_id",
        "webhook_id",
        "delivery_id",
    ):
        concrete = concrete.replace("{" + name + "}", str(uuid.uuid4()))
    query = "start_time=2030-01-07T10:00:00Z&end_time=2030-01-07T11:00:00Z&date=2030-01-07"
    status, headers, body = invoke(
        group, http_event(method, concrete, query=query, headers={"authorization": f"Bearer {forged}"})
    )
    assert status == 401, (method, path, status, body)
    assert headers["content-type"] == PROBLEM_JSON


@pytest.mark.parametrize(
    "key",
    [
        "rsv_",
        "rsv_short",
        "rsv_" + "A" * 10_000,
        "rsv_" + "\u200b" * 43,
        "rsv_" + "a" * 42 + "\x00",
        "rsv_" + "a" * 42 + "é",
    ],
)
def test_malformed_keys_are_401_not_500(booking, key):
    status, headers, _ = invoke(
        "reservations",
        http_event("GET", "/reservations", headers={"authorization": "Bearer " + key}),
    )
    assert status in (400, 401)
    assert headers["content-type"] == PROBLEM_JSON


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "x" * 10_000}, "name"),
        ({"name": "room\x00display"}, None),  # refused with the whole body, before any route
        ({"name": "   "}, "name"),
        ({"scopes": []}, "scopes"),
        ({"scopes": ["spaces:write"]}, "scopes"),
        ({"scopes": ["reservations:read"] * 4}, "scopes"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "2199-12-31T23:00:00-12:00"}, "expires_at"),
        ({"expires_at": "9999-12-31T23:59:59+14:00"}, "expires_at"),
        ({"user_id": str(uuid.uuid4())}, "user_id"),
        ({"user_id": "1" * 5000}, "user_id"),
        ({"role": "admin"}, "role"),
    ],
)
def test_bad_key_requests_are_422_naming_the_field(client_for, admin, booking, engine, change, field):
    body = {"name": "Display", "user_id": booking.user["user"]["id"], "scopes": ["spaces:read"], **change}
    response = client_for("users").post("/api-keys", json=body, headers=bearer(admin["access_token"]))

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    named = ["body", field] if field else ["body"]
    assert any(error["loc"][: len(named)] == named for error in response.json()["errors"]), response.json()
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(api_keys)).scalar_one() == 0


def test_only_admins_manage_keys(client_for, booking, keys):
    users = client_for("users")
    person = bearer(booking.user["access_token"])
    body = {"name": "Mine", "user_id": booking.user["user"]["id"], "scopes": ALL_SCOPES}
    key = keys.create(booking.user["user"]["id"], ["reservations:read"])

    assert users.post("/api-keys", json=body, headers=person).status_code == 403
    assert users.get("/api-keys", headers=person).status_code == 403
    assert users.delete(f"/api-keys/{key['id']}", headers=person).status_code == 403
    assert users.post("/api-keys", json=body).status_code == 401
    assert users.get("/api-keys").status_code == 401
    assert booking.api.get("/reservations", headers=bearer(key["key"])).status_code == 200  # still works


def test_requests_with_a_key_are_counted_per_key(limits_on, keys, booking, client_for):
    """One integrator using up its key's budget holds up neither another key nor people at the same
    address; keys that are not genuine count against the address."""
    user_id = booking.user["user"]["id"]
    first, second = (keys.create(user_id, ["reservations:read"])["key"] for _ in range(2))
    for key in (first, second):  # each counts per key once the function has seen it accepted
        assert booking.api.get("/reservations", headers=bearer(key)).status_code == 200
    limits_on(rate_limit_api_key="3/minute", rate_limit_default="5/minute")
    address = "198.51.100.77"

    def get(token: str) -> int:
        return invoke(
            "reservations",
            http_event(
                "GET", "/reservations", headers={"authorization": f"Bearer {token}"}, source_ip=address
            ),
        )[0]

    assert [get(first) for _ in range(3)] == [200, 200, 200]
    status, headers, body = invoke(
        "reservations",
        http_event("GET", "/reservations", headers={"authorization": f"Bearer {first}"}, source_ip=address),
    )
    assert status == 429 and "API key" in body["detail"] and int(headers["retry-after"]) >= 1
    assert get(second) == 200
    assert get(booking.user["access_token"]) == 200  # a person at the same address

    forged = ["rsv_" + secrets.token_urlsafe(32) for _ in range(6)]
    statuses = [get(key) for key in forged]
    assert statuses[:4] == [401] * 4  # the person's request counted already
    assert statuses[4:] == [429, 429]
