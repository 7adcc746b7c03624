"""/users: one's own profile, admin look-ups, and who may see what."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from reservas.tables import account_tokens, outbox, users
from scripts.create_admin import make_admin as create_admin
from tests.integration.conftest import bearer
from tests.support import STRONG_PASSWORD, link_sent_to


@pytest.fixture
def ana(register):
    return register()


def put_me(client_for, token, body):
    return client_for("users").put("/users/me", json=body, headers=bearer(token))


def test_name_and_preferences_can_be_changed(client_for, ana):
    response = put_me(
        client_for,
        ana["access_token"],
        {"name": "Ana María", "preferences": {"lang": "es", "tz": "Europe/Madrid"}},
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Ana María"
    assert response.json()["preferences"] == {"lang": "es", "tz": "Europe/Madrid"}
    assert response.json()["updated_at"] > ana["user"]["updated_at"]
    again = client_for("users").get("/users/me", headers=bearer(ana["access_token"])).json()
    assert again["preferences"] == {"lang": "es", "tz": "Europe/Madrid"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"preferences": ["not", "an", "object"]}, "valid dictionary"),
        ({"preferences": {"blob": "x" * 5000}}, "at most 4096 bytes"),
        ({"name": " "}, "at least 2"),
        ({"role": "admin"}, "Extra inputs"),
        ({"id": str(uuid.uuid4())}, "Extra inputs"),
        ({"created_at": "2020-01-01T00:00:00Z"}, "Extra inputs"),
        ({"email": "new@example.com"}, "current_password is required"),
        ({"password": "Brand-new-Pass-42"}, "current_password is required"),
        ({"password": "Password1", "current_password": STRONG_PASSWORD}, "most common passwords"),
        ({"password": "A1" + "ü" * 40, "current_password": STRONG_PASSWORD}, "72 bytes"),
    ],
)
def test_profile_changes_that_break_a_rule_are_422_and_change_nothing(client_for, ana, engine, body, message):
    response = put_me(client_for, ana["access_token"], body)
    assert response.status_code == 422
    assert message.lower() in response.text.lower()
    with engine.connect() as connection:
        row = connection.execute(select(users.c.role, users.c.email, users.c.name)).one()
    assert tuple(row) == ("user", "ana@example.com", "Ana")


def test_null_fields_change_nothing(client_for, ana):
    response = put_me(client_for, ana["access_token"], {"name": None, "preferences": None, "email": None})
    assert response.status_code == 200
    assert response.json()["name"] == "Ana"


def test_a_new_email_counts_once_the_link_sent_to_it_is_confirmed(client_for, ana, engine):
    wrong = put_me(
        client_for, ana["access_token"], {"email": "new@example.com", "current_password": "Wrong-pass-1"}
    )
    assert wrong.status_code == 403
    right = put_me(
        client_for, ana["access_token"], {"email": " New@Example.com ", "current_password": STRONG_PASSWORD}
    )
    assert right.status_code == 200
    assert right.json()["email"] == "ana@example.com"  # until the new address is proven
    auth = client_for("auth")
    assert (
        auth.post("/auth/login", json={"email": "new@example.com", "password": STRONG_PASSWORD}).status_code
        == 401
    )

    token = link_sent_to(engine, "new@example.com")
    assert auth.post("/auth/verify", json={"token": token, "password": "Wrong-pass-1"}).status_code == 401
    verified = auth.post("/auth/verify", json={"token": token, "password": STRONG_PASSWORD})
    assert verified.status_code == 200 and verified.json()["user"]["email"] == "new@example.com"
    assert (
        auth.post("/auth/login", json={"email": "new@example.com", "password": STRONG_PASSWORD}).status_code
        == 200
    )
    assert (
        auth.post("/auth/login", json={"email": "ana@example.com", "password": STRONG_PASSWORD}).status_code
        == 401
    )


def test_an_email_that_is_taken_answers_as_any_other_and_changes_nothing(client_for, ana, register, engine):
    bob = register("bob@example.com", name="Bob")
    response = put_me(
        client_for, ana["access_token"], {"email": "BOB@example.com", "current_password": STRONG_PASSWORD}
    )
    assert response.status_code == 200 and response.json()["email"] == "ana@example.com"
    with engine.connect() as connection:
        asked = connection.execute(
            select(outbox.c.event_type, outbox.c.payload).where(
                outbox.c.event_type == "AddressAlreadyRegistered"
            )
        ).all()
        links = connection.execute(
            select(account_tokens.c.id).where(
                account_tokens.c.user_id == uuid.UUID(ana["user"]["id"]),
                account_tokens.c.email == "bob@example.com",
            )
        ).all()
    assert [row.payload["user_id"] for row in asked] == [bob["user"]["id"]]  # Bob is told; no link is made
    assert links == []


def test_an_address_someone_registered_without_proving_it_goes_to_whoever_proves_it(client_for, ana, engine):
    client_for("auth").post(
        "/auth/register",
        json={"email": "squat@example.com", "password": "Squatter-pass-1", "name": "Squatter"},
    )
    put_me(
        client_for, ana["access_token"], {"email": "squat@example.com", "current_password": STRONG_PASSWORD}
    )
    token = link_sent_to(engine, "squat@example.com")
    verified = client_for("auth").post("/auth/verify", json={"token": token, "password": STRONG_PASSWORD})
    assert verified.status_code == 200 and verified.json()["user"]["id"] == ana["user"]["id"]
    with engine.connect() as connection:
        assert (
            connection.execute(select(users.c.name).where(users.c.email == "squat@example.com")).scalar_one()
            == "Ana"
        )


def test_deleting_the_account_removes_it(client_for, ana, engine):
    gone = client_for("users").request(
        "DELETE", "/users/me", json={"current_password": STRONG_PASSWORD}, headers=bearer(ana["access_token"])
    )
    assert gone.status_code == 204
    with engine.connect() as connection:
        assert connection.execute(select(users.c.id)).all() == []
    login = client_for("auth").post(
        "/auth/login", json={"email": "ana@example.com", "password": STRONG_PASSWORD}
    )
    assert login.status_code == 401


def test_admins_look_users_up(client_for, admin, ana):
    response = client_for("users").get(f"/users/{ana['user']['id']}", headers=bearer(admin["access_token"]))
    assert response.status_code == 200
    assert response.json() == {**ana["user"], "preferences": {}, "updated_at": response.json()["updated_at"]}
    assert "password_hash" not in response.json()
    missing = client_for("users").get(f"/users/{uuid.uuid4()}", headers=bearer(admin["access_token"]))
    assert missing.status_code == 404
    malformed = client_for("users").get("/users/not-a-uuid", headers=bearer(admin["access_token"]))
    assert malformed.status_code == 422


def test_admins_list_users_by_email_in_pages(client_for, admin, register):
    for i in range(5):
        register(f"member{i}@club.example.com", name=f"Member {i}")
    register("outsider@example.com", name="Outsider")
    seen, cursor = [], None
    for _ in range(5):
        params = {"email": "CLUB.example", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client_for("users").get("/users", params=params, headers=bearer(admin["access_token"])).json()
        seen += [user["email"] for user in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"member{i}@club.example.com" for i in range(5)]
    everyone = (
        client_for("users").get("/users", params={"limit": 100}, headers=bearer(admin["access_token"])).json()
    )
    assert len(everyone["items"]) == 7 and everyone["next_cursor"] is None


@pytest.mark.parametrize("params", [{"cursor": "garbage"}, {"limit": 0}, {"limit": 101}])
def test_bad_paging_is_a_422(client_for, admin, params):
    response = client_for("users").get("/users", params=params, headers=bearer(admin["access_token"]))
    assert response.status_code == 422


@pytest.mark.parametrize(("method", "path"), [("get", "/users"), ("get", "/users/{id}")])
def test_users_are_403_on_admin_routes_and_strangers_401(client_for, ana, method, path):
    path = path.format(id=ana["user"]["id"])
    as_user = getattr(client_for("users"), method)(path, headers=bearer(ana["access_token"]))
    assert as_user.status_code == 403
    assert as_user.json()["detail"] == "This route is for administrators."
    assert getattr(client_for("users"), method)(path).status_code == 401


def test_no_route_shows_or_changes_another_users_data(client_for, register):
    ana, bob = register(), register("bob@example.com", name="Bob")
    assert (
        client_for("users").get("/users/me", headers=bearer(bob["access_token"])).json()["email"]
        == "bob@example.com"
    )
    put_me(client_for, bob["access_token"], {"name": "Bobby"})
    assert client_for("users").get("/users/me", headers=bearer(ana["access_token"])).json()["name"] == "Ana"
    assert (
        client_for("users")
        .get(f"/users/{ana['user']['id']}", headers=bearer(bob["access_token"]))
        .status_code
        == 403
    )


def test_the_admin_command_promotes_or_creates(engine, register, client_for):
    register()
    with engine.connect() as db:
        assert create_admin(db, "Ana@example.com", "Ana", None) == "promoted"
        assert create_admin(db, "ops@example.com", "Ops", "Ops-password-77") == "created"
        with pytest.raises(ValueError, match="password"):
            create_admin(db, "weak@example.com", "Weak", "weak")
    with engine.connect() as connection:
        roles = dict(connection.execute(select(users.c.email, users.c.role)).all())
    assert roles == {"ana@example.com": "admin", "ops@example.com": "admin"}
    login = client_for("auth").post(
        "/auth/login", json={"email": "ops@example.com", "password": "Ops-password-77"}
    )
    assert login.json()["user"]["role"] == "admin"


def test_leaving_needs_the_current_password(client_for, ana):
    users = client_for("users")
    for body in ({"current_password": "Not-my-password-1"}, {}):
        response = users.request("DELETE", "/users/me", json=body, headers=bearer(ana["access_token"]))
        assert response.status_code in (403, 422), response.text
    assert users.get("/users/me", headers=bearer(ana["access_token"])).status_code == 200


def test_leaving_cancels_upcoming_bookings_with_events_and_keeps_the_past_without_the_person(
    booking, client_for, engine, register
):
    from datetime import timedelta

    from sqlalchemy import insert, text

    from reservas.tables import reservations

    upcoming = booking.post("10:00", "11:00", notes="Ana's dentist, call 555-0100")
    assert upcoming.status_code == 201
    booker = booking.user["user"]["id"]
    start = booking.day - timedelta(days=30)
    with engine.begin() as connection:  # a reservation that has taken place
        connection.execute(
            insert(reservations).values(
                user_id=booker,
                space_id=booking.space["id"],
                start_time=booking.at("10:00", day=start),
                end_time=booking.at("11:00", day=start),
                notes="private",
            )
        )
    gone = client_for("users").request(
        "DELETE",
        "/users/me",
        json={"current_password": STRONG_PASSWORD},
        headers=bearer(booking.user["access_token"]),
    )
    assert gone.status_code == 204, gone.text
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT user_id, status, notes, start_time FROM reservations ORDER BY start_time")
        ).all()
        announced = connection.execute(
            text("SELECT aggregate_id, payload FROM outbox WHERE event_type = 'ReservationCancelled'")
        ).all()
        assert connection.execute(text("SELECT count(*) FROM users")).scalar_one() == 1  # the admin only
    assert [(r.user_id, r.status, r.notes) for r in rows] == [(None, "active", ""), (None, "cancelled", "")]
    assert [str(a.aggregate_id) for a in announced] == [upcoming.json()["id"]]
    assert announced[0].payload["notes"] == ""
    # The freed time is bookable again at once.
    other = register("next@example.com", name="Next")
    assert booking.post("10:00", "11:00", token=other["access_token"]).status_code == 201
