"""Register, log in, read the profile: the slice that proves the stack, and every way to get it wrong."""

from __future__ import annotations

import pytest

from reservas.errors import PROBLEM_JSON
from tests.support import STRONG_PASSWORD, mark_verified


def assert_problem(response, status: int, detail_contains: str = "") -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["type"]
    assert detail_contains.lower() in body["detail"].lower(), body
    return body


def test_register_verify_login_and_read_profile(client_for, engine):
    auth, users = client_for("auth"), client_for("users")

    registered = auth.post(
        "/auth/register", json={"email": "  Ana@Example.COM ", "password": STRONG_PASSWORD, "name": "Ana"}
    )
    assert registered.status_code == 202
    assert set(registered.json()) == {"detail"}  # no account, no tokens: the address is not proven yet
    assert registered.headers["cache-control"] == "no-store"
    mark_verified(engine, "ana@example.com")

    login = auth.post("/auth/login", json={"email": "ANA@example.com", "password": STRONG_PASSWORD})
    assert login.status_code == 200
    body = login.json()
    assert body["user"]["email"] == "ana@example.com"
    assert body["user"]["role"] == "user"
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert "password_hash" not in body["user"] and "password" not in body["user"]
    assert login.headers["cache-control"] == "no-store"

    me = users.get("/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json() == {**body["user"], "preferences": {}}  # the profile; signing in names the account


def test_passwords_are_stored_as_bcrypt_hashes(client_for, register, engine):
    from sqlalchemy import select

    from reservas.tables import users

    register()
    with engine.connect() as connection:
        stored = connection.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$2b$") and STRONG_PASSWORD not in stored


def test_malformed_json_is_a_400(client_for):
    response = client_for("auth").post(
        "/auth/register", content='{"email": "a@b.com",', headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "not valid JSON")


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"password": STRONG_PASSWORD, "name": "Ana"}, "email", "Field required"),
        ({"email": "ana@example.com", "name": "Ana"}, "password", "Field required"),
        ({"email": "ana@example.com", "password": STRONG_PASSWORD}, "name", "Field required"),
        ({"email": "not-an-email", "password": STRONG_PASSWORD, "name": "Ana"}, "email", "not a valid email"),
        ({"email": "ana@example.com", "password": "short1A", "name": "Ana"}, "password", "at least 8"),
        ({"email": "ana@example.com", "password": "alllowercase1", "name": "Ana"}, "password", "uppercase"),
        ({"email": "ana@example.com", "password": "NoDigitsHere", "name": "Ana"}, "password", "digit"),
        ({"email": "ana@example.com", "password": "Aa1" + "é" * 40, "name": "Ana"}, "password", "72 bytes"),
        ({"email": "ana@example.com", "password": STRONG_PASSWORD, "name": "A"}, "name", "at least 2"),
        (
            {"email": "ana@example.com", "password": STRONG_PASSWORD, "name": "Ana", "role": "admin"},
            "role",
            "Extra inputs",
        ),
    ],
)
def test_register_rejects_bad_input_with_a_422_naming_the_field(client_for, engine, body, field, message):
    response = client_for("auth").post("/auth/register", json=body)
    problem = assert_problem(response, 422)
    assert any(
        error["loc"][-1] == field and message.lower() in error["msg"].lower() for error in problem["errors"]
    )
    from sqlalchemy import func, select

    from reservas.tables import users

    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(users)).scalar() == 0


def test_register_with_a_body_that_is_not_an_object(client_for):
    assert_problem(client_for("auth").post("/auth/register", json=["a", "b"]), 422)


def test_a_taken_email_whatever_its_case_keeps_its_account(client_for, register):
    register()
    response = client_for("auth").post(
        "/auth/register", json={"email": "ANA@example.com", "password": "Other-Pass-123", "name": "Other"}
    )
    assert response.status_code == 202  # as for a new address: the owner is told by email
    login = client_for("auth").post(
        "/auth/login", json={"email": "ana@example.com", "password": STRONG_PASSWORD}
    )
    assert login.status_code == 200 and login.json()["user"]["name"] == "Ana"


def test_wrong_password_and_unknown_email_look_the_same(client_for, register):
    register()
    auth = client_for("auth")
    wrong = auth.post("/auth/login", json={"email": "ana@example.com", "password": "Wrong-password-1"})
    unknown = auth.post("/auth/login", json={"email": "nobody@example.com", "password": "Wrong-password-1"})
    assert_problem(wrong, 401, "incorrect")
    assert_problem(unknown, 401, "incorrect")
    assert wrong.json() == unknown.json()


def test_login_with_missing_fields_is_a_422(client_for):
    assert_problem(client_for("auth").post("/auth/login", json={"email": "ana@example.com"}), 422, "password")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "Authentication is required"),
        ("Bearer", "Authentication is required"),
        ("Basic YW5hOnB3", "Authentication is required"),
        ("Bearer garbage", "invalid or has expired"),
        ("Bearer " + "a.b.c", "invalid or has expired"),
    ],
)
def test_profile_without_a_usable_token_is_a_401(client_for, engine, header, message):
    headers = {"Authorization": header} if header else {}
    response = client_for("users").get("/users/me", headers=headers)
    assert_problem(response, 401, message)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_token_of_a_deleted_account_is_refused(client_for, register, engine):
    from reservas.tables import users

    token = register()["access_token"]
    with engine.begin() as connection:
        connection.execute(users.delete())
    response = client_for("users").get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401, "no longer exists")


def test_unknown_route_and_wrong_method_are_problems(client_for, engine):
    assert_problem(client_for("auth").get("/auth/nowhere"), 404)
    assert_problem(client_for("auth").get("/auth/register"), 405)
