"""No request can hurt another user: hostile input gets a clear 4xx before any SQL, a request that fails
mid-statement never poisons a pooled connection, and no input makes a request slow."""

from __future__ import annotations

import base64
import json
import os
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from reservas.errors import PROBLEM_JSON
from tests.conftest import reset_caches
from tests.integration.conftest import bearer
from tests.support import STRONG_PASSWORD, local, next_day, space_body

YEAR_ONE = "0001-01-01T00:00:00+14:00"
YEAR_ONE_END = "0001-01-01T01:00:00+14:00"


def cursor_of(*values: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


def refused(response, status: int = 422) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    return response.json()


# ---------------------------------------------------------------- one pooled connection, shared


@pytest.fixture
def one_connection(engine, monkeypatch):
    """Every function on one pooled connection, as a Lambda instance has."""
    monkeypatch.setenv("RESERVAS_DB_POOL_SIZE", "1")
    reset_caches()
    yield
    monkeypatch.undo()
    reset_caches()


TRIGGERS = [
    ("spaces", "/spaces/available", {"start_time": YEAR_ONE, "end_time": YEAR_ONE_END}),
    ("reservations", "/reservations", {"from": YEAR_ONE}),
    ("reservations", "/reservations/search", {"to": YEAR_ONE}),
    (
        "reservations",
        "/reservations",
        {"cursor": cursor_of(YEAR_ONE, "00000000-0000-0000-0000-000000000000")},
    ),
    ("users", "/users", {"cursor": cursor_of(YEAR_ONE, "00000000-0000-0000-0000-000000000000")}),
    ("spaces", "/spaces/{space}/availability", {"date": "0001-01-01"}),
    ("spaces", "/spaces/{space}/availability", {"date": "9999-12-31"}),
    ("spaces", "/spaces/{space}/availability", {"from": "9999-12-01", "to": "9999-12-31"}),
]


def test_extreme_instants_never_reach_the_database_nor_hurt_the_next_user(
    one_connection, client_for, register, admin, spaces_api
):
    space = spaces_api.create()
    canary = register("canary@example.com", name="Canary")
    attacker = register("mallory@example.com", name="Mallory")
    headers = {"users": bearer(admin["access_token"])}

    def canary_sees_the_truth() -> None:
        me = client_for("users").get("/users/me", headers=bearer(canary["access_token"]))
        assert me.status_code == 200 and me.json()["email"] == "canary@example.com", me.text
        mine = client_for("reservations").get("/reservations", headers=bearer(canary["access_token"]))
        assert mine.status_code == 200 and mine.json()["items"] == [], mine.text
        login = client_for("auth").post(
            "/auth/login", json={"email": "canary@example.com", "password": STRONG_PASSWORD}
        )
        assert login.status_code == 200, login.text

    for group, path, params in TRIGGERS:
        caller = headers.get(group, bearer(attacker["access_token"]))
        response = client_for(group).get(path.format(space=space["id"]), params=params, headers=caller)
        body = refused(response)
        assert "1970" in body["detail"] or "cursor" in body["detail"], body
        canary_sees_the_truth()


def test_a_connection_that_failed_mid_statement_is_discarded(engine):
    """The root of it, in the database layer: whatever the driver fails on after sending a statement,
    the connection does not go back to the pool."""
    from reservas.database import build_engine

    pool_of_one = build_engine(os.environ["DATABASE_URL"], pool_size=1, timeout_seconds=2)
    year_one = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))
    with pool_of_one.connect() as connection, pytest.raises(OverflowError):
        connection.execute(text("SELECT CAST(:at AS timestamptz)"), {"at": year_one})
    for answer in (42, 43):
        with pool_of_one.connect() as connection:
            assert connection.execute(text(f"SELECT {answer}")).scalar_one() == answer
    pool_of_one.dispose()


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("9999-12-31T23:00:00-12:00", "9999-12-31T23:30:00-12:00"),
        ("0001-01-01T10:00:00+14:00", "0001-01-01T11:00:00+14:00"),
        ("1969-12-31T23:00:00Z", "1970-01-01T00:00:00Z"),
    ],
)
def test_bookings_at_the_ends_of_time_are_422(booking, start, end):
    response = booking.api.post(
        "/reservations",
        json={"space_id": booking.space["id"], "start_time": start, "end_time": end},
        headers=bearer(booking.user["access_token"]),
    )
    assert "between 1970 and 2199" in refused(response)["detail"]


# ---------------------------------------------------------------- one gate for what cannot be stored


@pytest.mark.parametrize(
    ("group", "method", "path", "kwargs", "where"),
    [
        ("spaces", "GET", "/spaces", {"params": {"q": "\x00"}}, "query.q"),
        ("spaces", "GET", "/spaces", {"params": {"location": "a\x00b"}}, "query.location"),
        ("spaces", "GET", "/spaces", {"params": {"cursor": "\x00"}}, "query.cursor"),
        (
            "auth",
            "POST",
            "/auth/register",
            {"json": {"email": "n@example.com", "password": STRONG_PASSWORD, "name": "a\x00b"}},
            "body",
        ),
        (
            "auth",
            "POST",
            "/auth/login",
            {"content": b'{"email": "a@example.com", "password": "x\x00"}'},
            "body",
        ),
        ("users", "PUT", "/users/me", {"json": {"preferences": {"theme": "\x00"}}}, "body"),
        ("users", "PUT", "/users/me", {"json": {"preferences": {"\x00": 1}}}, "body"),
    ],
)
def test_nul_is_refused_at_the_edge_for_every_input(client_for, register, group, method, path, kwargs, where):
    token = register()["access_token"]
    response = client_for(group).request(method, path, headers=bearer(token), **kwargs)
    body = refused(response)
    assert body["detail"].startswith(where) and "NUL" in body["detail"]


def test_an_escaped_backslash_before_u0000_is_text_not_nul(client_for, register):
    token = register()["access_token"]
    response = client_for("users").put(
        "/users/me", json={"preferences": {"path": "C:\\u0000"}}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    assert response.json()["preferences"] == {"path": "C:\\u0000"}


def test_bodies_larger_than_any_request_needs_are_413(client_for):
    response = client_for("auth").post(
        "/auth/login", content=b"[" * 70_000, headers={"content-type": "application/json"}
    )
    refused(response, 413)


def nested(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize("levels", [9, 256, 900])
def test_preferences_that_could_not_be_returned_are_never_stored(client_for, register, admin, levels):
    ana = register()
    users = client_for("users")
    response = users.put(
        "/users/me", json={"preferences": nested(levels)}, headers=bearer(ana["access_token"])
    )
    assert response.status_code in (400, 422), response.text
    assert users.get("/users/me", headers=bearer(ana["access_token"])).json()["preferences"] == {}
    login = client_for("auth").post(
        "/auth/login", json={"email": "ana@example.com", "password": STRONG_PASSWORD}
    )
    assert login.status_code == 200
    refreshed = client_for("auth").post(
        "/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}
    )
    assert refreshed.status_code == 200
    assert users.get("/users", headers=bearer(admin["access_token"])).status_code == 200


def test_preferences_eight_levels_deep_are_kept(client_for, register):
    ana = register()
    response = client_for("users").put(
        "/users/me", json={"preferences": nested(8)}, headers=bearer(ana["access_token"])
    )
    assert response.status_code == 200
    assert response.json()["preferences"] == nested(8)


@pytest.mark.parametrize(
    "name",
    [
        "\u200b\u200b\u200b",
        "\u3164\u3164",
        "\u2800\u2800",
        "Ana\x07",
        "Ana\nMaría",
        "\u202eanA",
        "\u00ad\u200d",
    ],
)
def test_names_are_one_visible_line(client_for, name):
    response = client_for("auth").post(
        "/auth/register", json={"email": "n@example.com", "password": STRONG_PASSWORD, "name": name}
    )
    refused(response)


def test_names_of_every_script_and_emoji_are_welcome(register):
    for n, name in enumerate(["José Ñúñez", "李小龍", "محمد", "👩‍👩‍👧 family", "O'Brien-Smith"]):
        assert register(f"p{n}@example.com", name=name)["user"]["name"] == name


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": "\u200b"},
        {"amenities": ["\u200b"]},
        {"location": "Floor\x1b[31m3"},
        {"description": "bell\x07"},
        {"opening_hours": {"mon": [["08:00\n", "20:00"]]}},
        {"opening_hours": {"mon": [["08:00", "20:00 "]]}},
    ],
)
def test_space_texts_follow_the_same_rules(client_for, admin, overrides):
    response = client_for("spaces").post(
        "/spaces", json=space_body(**overrides), headers=bearer(admin["access_token"])
    )
    refused(response)


# ---------------------------------------------------------------- money that fits, in its own units


def test_a_price_whose_longest_booking_cannot_be_stored_is_refused(client_for, admin):
    body = space_body(price_per_hour="9999999999.99", max_duration_minutes=31 * 24 * 60)
    response = client_for("spaces").post("/spaces", json=body, headers=bearer(admin["access_token"]))
    assert "longest booking" in refused(response)["detail"]


@pytest.mark.parametrize(
    ("currency", "price", "minutes", "cost"),
    [("JPY", "1000", 90, "1500"), ("BHD", "1.235", 90, "1.853"), ("EUR", "25.00", 90, "37.50")],
)
def test_money_is_rounded_to_the_currencys_own_minor_unit(
    booking, spaces_api, currency, price, minutes, cost
):
    space = spaces_api.create(name=f"Room in {currency}", currency=currency, price_per_hour=price)
    assert space["price_per_hour"] == price
    start = local("Europe/Madrid", booking.day, "10:00")
    response = booking.api.post(
        "/reservations",
        json={
            "space_id": space["id"],
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(minutes=minutes)).isoformat(),
        },
        headers=bearer(booking.user["access_token"]),
    )
    assert response.status_code == 201, response.text
    assert response.json()["cost"] == {"amount": cost, "currency": currency}


@pytest.mark.parametrize(("currency", "price"), [("JPY", "100.5"), ("EUR", "1.234"), ("XXZ", "1.00")])
def test_prices_finer_than_the_currency_or_unknown_currencies_are_refused(client_for, admin, currency, price):
    body = space_body(currency=currency, price_per_hour=price)
    refused(client_for("spaces").post("/spaces", json=body, headers=bearer(admin["access_token"])))


# ---------------------------------------------------------------- bounded cost, whatever the parameters


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("1970-01-02T10:00:00Z", "2199-01-01T10:00:00Z"),
        ("2030-01-01T10:00:00Z", "2130-01-01T10:00:00Z"),
        ("2030-01-01T10:00:00Z", "2030-02-02T10:00:00Z"),
    ],
)
def test_searching_a_huge_interval_is_refused_before_any_work(spaces_api, start, end):
    for n in range(3):
        spaces_api.create(
            name=f"Room {n}", opening_hours={day: [["00:00", "24:00"]] for day in ("mon", "sat")}
        )
    response, seconds = timed(lambda: spaces_api.get("/spaces/available", start_time=start, end_time=end))
    assert "31 days" in refused(response)["detail"]
    assert seconds < 2


def test_a_booking_spanning_centuries_is_refused_at_once_and_holds_no_lock(booking, engine):
    start = local("Europe/Madrid", booking.day, "10:00")
    body = {
        "space_id": booking.space["id"],
        "start_time": start.isoformat(),
        "end_time": start.replace(year=2199).isoformat(),
    }
    response, seconds = timed(
        lambda: booking.api.post("/reservations", json=body, headers=bearer(booking.user["access_token"]))
    )
    problems = refused(response)
    assert "at most" in problems["detail"]
    # Refused for its length, before the opening hours of 170 years were looked at, day by day.
    assert not [error for error in problems["errors"] if "open" in error["msg"]], problems
    assert seconds < 2
    assert booking.post("10:00", "11:00").status_code == 201


# ---------------------------------------------------------------- logs hold no secrets


def test_a_failing_write_leaves_no_hash_email_or_note_in_the_logs(client_for, engine, caplog):
    with engine.begin() as connection:
        connection.execute(
            text("ALTER TABLE users ADD CONSTRAINT refuse_for_test CHECK (name <> 'Refused Name')")
        )
    try:
        response = client_for("auth").post(
            "/auth/register",
            json={"email": "secret-person@example.com", "password": STRONG_PASSWORD, "name": "Refused Name"},
        )
    finally:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE users DROP CONSTRAINT refuse_for_test"))
    assert response.status_code == 500, response.text
    captured = caplog.text
    assert "INSERT INTO users" in captured  # the failure was logged...
    assert "$2b$" not in captured and "secret-person@example.com" not in captured  # ...without its values


# ---------------------------------------------------------------- found by attacking the above


@pytest.mark.parametrize("path", ["/spaces", "/spaces/available"])
@pytest.mark.parametrize("name", ["\x00", "\ud800", "a\x00b"])
def test_a_forged_cursor_with_text_that_cannot_be_stored_is_422(spaces_api, path, name):
    cursor = (
        base64.urlsafe_b64encode(json.dumps([name, "00000000-0000-0000-0000-000000000000"]).encode())
        .decode()
        .rstrip("=")
    )
    params = (
        {"start_time": "2030-01-07T10:00:00Z", "end_time": "2030-01-07T11:00:00Z"}
        if "available" in path
        else {}
    )
    assert "cursor" in refused(spaces_api.get(path, cursor=cursor, **params))["detail"]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"preferences": {"x": NaN}}',
        b'{"preferences": {"x": Infinity}}',
        b'{"preferences": {"x": -Infinity}}',
        b'{"preferences": {"x": 1e400}}',
        b'{"preferences": {"x": "\\ud800"}}',
        b'{"preferences": {"x": "\xed\xa0\x80"}}',
    ],
)
def test_preferences_json_cannot_hold_what_postgresql_cannot_store(client_for, register, raw):
    token = register()["access_token"]
    response = client_for("users").put(
        "/users/me", content=raw, headers={**bearer(token), "content-type": "application/json"}
    )
    assert response.status_code in (400, 422), response.text


def test_preferences_are_bounded_as_stored_not_as_sent(client_for, register):
    token = register()["access_token"]
    huge_numbers = {"a": [1e308] * 500}  # 3.5 KiB as sent, 155 KiB as jsonb returns it
    refused(client_for("users").put("/users/me", json={"preferences": huge_numbers}, headers=bearer(token)))


def test_the_servers_context_never_reaches_the_logs(client_for, engine, caplog):
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE FUNCTION refuse_users() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused'; END $$"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER refuse_users BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION refuse_users()"
            )
        )
    try:
        response = client_for("auth").post(
            "/auth/register",
            json={"email": "ctx@example.com", "password": STRONG_PASSWORD, "name": "Quoted Name"},
        )
    finally:
        with engine.begin() as connection:
            connection.execute(text("DROP TRIGGER refuse_users ON users"))
            connection.execute(text("DROP FUNCTION refuse_users()"))
    assert response.status_code == 500
    assert "refused" in caplog.text  # logged...
    assert "'W':" not in caplog.text and "PL/pgSQL function" not in caplog.text  # ...without its context


@pytest.mark.parametrize("name", ["Ana\u2028María", "Ana\u2029Mar", "\u200eAna", "Ana\u200f", "Ana\u061c"])
def test_names_hold_no_line_separators_or_bidi_marks(client_for, name):
    response = client_for("auth").post(
        "/auth/register", json={"email": "n@example.com", "password": STRONG_PASSWORD, "name": name}
    )
    refused(response)


@pytest.mark.parametrize(
    "price", ["٢٥", "\uff11\uff12", "1_000", "\t25", "25.00\n", "+25", "1e5", "25.", ".5"]
)
def test_prices_are_plain_decimal_strings(client_for, admin, price):
    refused(
        client_for("spaces").post(
            "/spaces", json=space_body(price_per_hour=price), headers=bearer(admin["access_token"])
        )
    )


def test_opening_hours_take_ascii_digits_only(client_for, admin):
    body = space_body(opening_hours={"mon": [["0٨:00", "20:00"]]})
    refused(client_for("spaces").post("/spaces", json=body, headers=bearer(admin["access_token"])))


@pytest.mark.parametrize("currency", ["XXX", "XTS", "ESP", "DEM"])
def test_only_currencies_in_use_are_taken(client_for, admin, currency):
    body = space_body(currency=currency, price_per_hour="10.00")
    refused(client_for("spaces").post("/spaces", json=body, headers=bearer(admin["access_token"])))


def test_a_search_for_free_spaces_examines_a_bounded_number_per_request(spaces_api, monkeypatch):
    from reservas.spaces import service

    monkeypatch.setattr(service, "MAX_SPACES_EXAMINED", 3)
    closed = {"sat": [["08:00", "20:00"]]}
    for n in range(5):
        spaces_api.create(name=f"A closed {n}", opening_hours=closed)
    spaces_api.create(name="B open")
    monday = next_day("Europe/Madrid", weekday=0)
    start, end = (local("Europe/Madrid", monday, hhmm).isoformat() for hhmm in ("10:00", "11:00"))
    found, pages = [], 0
    cursor = None
    while True:
        pages += 1
        params = {"start_time": start, "end_time": end, **({"cursor": cursor} if cursor else {})}
        response = spaces_api.get("/spaces/available", **params)
        assert response.status_code == 200, response.text
        found += [space["name"] for space in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert found == ["B open"]
    assert pages == 2  # 3 spaces examined, then the rest
