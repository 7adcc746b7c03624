"""Sessions: refresh-token rotation with reuse detection, logout, and what ends every session."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from reservas.errors import PROBLEM_JSON
from reservas.tables import sessions
from tests.integration.conftest import bearer
from tests.support import STRONG_PASSWORD, link_sent_to


def refresh(client_for, token: str):
    return client_for("auth").post("/auth/refresh", json={"refresh_token": token})


def sign_in_again(client_for) -> dict:
    """A second session of Ana's, as from another device."""
    return (
        client_for("auth")
        .post("/auth/login", json={"email": "ana@example.com", "password": STRONG_PASSWORD})
        .json()
    )


def me(client_for, token: str) -> int:
    return client_for("users").get("/users/me", headers=bearer(token)).status_code


def test_refresh_rotates_and_reuse_ends_the_session(register, client_for):
    first = register()

    rotated = refresh(client_for, first["refresh_token"])
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["user"]["id"] == first["user"]["id"]
    assert me(client_for, second["access_token"]) == 200

    reused = refresh(client_for, first["refresh_token"])
    assert reused.status_code == 401
    assert reused.headers["content-type"] == PROBLEM_JSON

    # The reuse revoked the whole session: the pair issued by the rotation is dead too.
    assert refresh(client_for, second["refresh_token"]).status_code == 401
    assert me(client_for, second["access_token"]) == 401
    assert me(client_for, first["access_token"]) == 401


def test_other_sessions_survive_a_reuse(register, client_for):
    laptop = register()
    phone = client_for("auth").post(
        "/auth/login", json={"email": "ana@example.com", "password": STRONG_PASSWORD}
    )
    refresh(client_for, laptop["refresh_token"])
    refresh(client_for, laptop["refresh_token"])  # reuse: the laptop's session ends
    assert me(client_for, phone.json()["access_token"]) == 200


def test_concurrent_refreshes_of_one_token_give_one_pair_and_no_errors(register, client_for):
    token = register()["refresh_token"]
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def attempt():
        barrier.wait()
        statuses.append(refresh(client_for, token).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [401] * 7


def test_the_session_lifetime_is_absolute(register, client_for, engine):
    first = register()
    second = refresh(client_for, first["refresh_token"]).json()
    with engine.begin() as connection:
        connection.execute(update(sessions).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert refresh(client_for, second["refresh_token"]).status_code == 401
    assert me(client_for, second["access_token"]) == 401


def test_refresh_with_an_unknown_token_or_bad_body(client_for, engine):
    assert refresh(client_for, "never-issued").status_code == 401
    assert client_for("auth").post("/auth/refresh", json={}).status_code == 422
    assert client_for("auth").post("/auth/refresh", json={"refresh_token": ""}).status_code == 422


def test_logout_ends_the_access_token_and_the_refresh_token(register, client_for):
    session = register()
    response = client_for("auth").post(
        "/auth/logout",
        json={"refresh_token": session["refresh_token"]},
        headers=bearer(session["access_token"]),
    )
    assert response.status_code == 204
    assert me(client_for, session["access_token"]) == 401
    assert refresh(client_for, session["refresh_token"]).status_code == 401


def test_logout_needs_authentication(register, client_for):
    session = register()
    response = client_for("auth").post("/auth/logout", json={"refresh_token": session["refresh_token"]})
    assert response.status_code == 401
    assert refresh(client_for, session["refresh_token"]).status_code == 200


def test_logout_with_someone_elses_refresh_token_does_not_end_their_session(register, client_for):
    ana, bob = register(), register("bob@example.com", name="Bob")
    client_for("auth").post(
        "/auth/logout", json={"refresh_token": bob["refresh_token"]}, headers=bearer(ana["access_token"])
    )
    assert me(client_for, bob["access_token"]) == 200
    assert refresh(client_for, bob["refresh_token"]).status_code == 200


def test_changing_the_password_ends_every_session(register, client_for):
    laptop = register()
    phone = sign_in_again(client_for)
    changed = client_for("users").put(
        "/users/me",
        json={"password": "Brand-new-Pass-42", "current_password": STRONG_PASSWORD},
        headers=bearer(laptop["access_token"]),
    )
    assert changed.status_code == 200
    for session in (laptop, phone):
        assert me(client_for, session["access_token"]) == 401
        assert refresh(client_for, session["refresh_token"]).status_code == 401
    auth = client_for("auth")
    assert (
        auth.post("/auth/login", json={"email": "ana@example.com", "password": STRONG_PASSWORD}).status_code
        == 401
    )
    assert (
        auth.post(
            "/auth/login", json={"email": "ana@example.com", "password": "Brand-new-Pass-42"}
        ).status_code
        == 200
    )


def test_a_new_email_ends_every_other_session_once_proven_and_validate_names_it(register, client_for, engine):
    laptop = register()
    phone = sign_in_again(client_for)
    changed = client_for("users").put(
        "/users/me",
        json={"email": "ana.new@example.com", "current_password": STRONG_PASSWORD},
        headers=bearer(laptop["access_token"]),
    )
    assert changed.status_code == 200
    assert me(client_for, phone["access_token"]) == 200  # nothing changed yet
    token = link_sent_to(engine, "ana.new@example.com")
    verified = client_for("auth").post("/auth/verify", json={"token": token, "password": STRONG_PASSWORD})
    assert verified.status_code == 200
    assert me(client_for, phone["access_token"]) == 401  # its token still names the old email
    assert refresh(client_for, phone["refresh_token"]).status_code == 401
    assert me(client_for, laptop["access_token"]) == 200  # the session that asked for the change goes on
    validated = client_for("auth").post("/auth/validate", json={"token": laptop["access_token"]})
    assert validated.json()["claims"]["email"] == "ana.new@example.com"
    renewed = refresh(client_for, laptop["refresh_token"])
    assert renewed.status_code == 200 and renewed.json()["user"]["email"] == "ana.new@example.com"
    assert me(client_for, verified.json()["access_token"]) == 200


def test_deleting_the_account_ends_every_session(register, client_for):
    session = register()
    gone = client_for("users").request(
        "DELETE",
        "/users/me",
        json={"current_password": STRONG_PASSWORD},
        headers=bearer(session["access_token"]),
    )
    assert gone.status_code == 204
    assert me(client_for, session["access_token"]) == 401
    assert refresh(client_for, session["refresh_token"]).status_code == 401
