"""The audit log: every change to spaces, bookings and roles is recorded with the change, admins read
it, the functions' database role can only add to it, and a person who leaves is erased from it."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import exc, insert, select, text
from sqlalchemy.engine import make_url

from reservas.database import build_engine, sqlstate
from reservas.tables import audit_log
from scripts.create_admin import make_admin as create_admin
from tests.conftest import TABLES, reset_caches
from tests.integration.conftest import FUNCTIONS_ROLE, bearer
from tests.support import STRONG_PASSWORD

INSUFFICIENT_PRIVILEGE = "42501"


def entries(client_for, admin, **params) -> list[dict]:
    response = client_for("users").get("/audit", params=params, headers=bearer(admin["access_token"]))
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_an_admins_change_to_a_space_shows_who_when_where_and_before_and_after(client_for, admin, spaces_api):
    space = spaces_api.create(capacity=8)
    changed = client_for("spaces").put(
        f"/spaces/{space['id']}",
        json={"capacity": 12, "name": "Sala Grande"},
        headers=spaces_api.admin_headers,
    )
    assert changed.status_code == 200

    updated, created = entries(client_for, admin, entity="space", entity_id=space["id"])
    assert updated["action"] == "space.updated"
    assert updated["actor_id"] == admin["user"]["id"]
    assert updated["actor_address"] == "testclient"
    assert updated["before"] == {"capacity": 8, "name": "Sala Retiro"}
    assert updated["after"] == {"capacity": 12, "name": "Sala Grande"}
    assert datetime.fromisoformat(updated["occurred_at"]) > datetime.now(UTC) - timedelta(minutes=1)
    assert created["action"] == "space.created"
    assert created["before"] is None
    assert created["after"]["name"] == "Sala Retiro"


def test_a_change_that_changes_nothing_or_fails_is_not_recorded(client_for, admin, spaces_api):
    space = spaces_api.create()
    headers = spaces_api.admin_headers
    same = client_for("spaces").put(f"/spaces/{space['id']}", json={"capacity": 8}, headers=headers)
    refused = client_for("spaces").put(f"/spaces/{space['id']}", json={"capacity": 0}, headers=headers)
    assert (same.status_code, refused.status_code) == (200, 422)
    assert client_for("spaces").delete(f"/spaces/{space['id']}", headers=headers).status_code == 204
    assert client_for("spaces").delete(f"/spaces/{space['id']}", headers=headers).status_code == 204

    actions = [e["action"] for e in entries(client_for, admin, entity_id=space["id"])]
    assert actions == ["space.deactivated", "space.created"]


def test_bookings_and_cancellations_are_recorded_and_a_refused_booking_is_not(client_for, admin, booking):
    created = booking.post("10:00", "11:00", notes="Quarterly review")
    assert created.status_code == 201
    assert booking.post("10:30", "11:30").status_code == 409
    reservation_id = created.json()["id"]
    cancelled = booking.api.delete(
        f"/reservations/{reservation_id}", headers=bearer(booking.user["access_token"])
    )
    assert cancelled.status_code == 200

    log = entries(client_for, admin, entity="reservation")
    assert [e["action"] for e in log] == ["reservation.cancelled", "reservation.created"]
    assert {e["actor_id"] for e in log} == {booking.user["user"]["id"]}
    assert log[0]["before"]["status"] == "active"
    assert log[0]["after"]["status"] == "cancelled"
    assert log[1]["after"]["notes"] == "Quarterly review"


def test_only_admins_read_the_log(client_for, register):
    user = register("ana@example.com")
    api = client_for("users")
    assert api.get("/audit").status_code == 401
    forbidden = api.get("/audit", headers=bearer(user["access_token"]))
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == "application/problem+json"


def test_roles_change_through_the_api_take_effect_at_once_and_are_recorded(client_for, admin, register):
    ana = register("ana@example.com")
    users_api = client_for("users")
    promoted = users_api.put(
        f"/users/{ana['user']['id']}/role", json={"role": "admin"}, headers=bearer(admin["access_token"])
    )
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "admin"
    # Her token from before the change is enough: roles are read with each request.
    assert users_api.get("/audit", headers=bearer(ana["access_token"])).status_code == 200

    (entry,) = entries(client_for, admin, entity="user", entity_id=ana["user"]["id"])
    assert entry["action"] == "user.role_changed"
    assert entry["entity_id"] == ana["user"]["id"]
    assert (entry["before"], entry["after"]) == ({"role": "user"}, {"role": "admin"})
    assert entry["actor_id"] == admin["user"]["id"]


@pytest.mark.parametrize(
    "body", [{"role": "owner"}, {"role": None}, {}, {"role": "admin", "email": "x@example.com"}]
)
def test_a_role_outside_the_two_is_refused(client_for, admin, register, body):
    ana = register("ana@example.com")
    response = client_for("users").put(
        f"/users/{ana['user']['id']}/role", json=body, headers=bearer(admin["access_token"])
    )
    assert response.status_code == 422
    assert entries(client_for, admin, entity="user", entity_id=ana["user"]["id"]) == []


def test_users_cannot_change_roles_and_unknown_users_are_404(client_for, admin, register):
    ana = register("ana@example.com")
    api = client_for("users")
    own = api.put(
        f"/users/{ana['user']['id']}/role", json={"role": "admin"}, headers=bearer(ana["access_token"])
    )
    assert own.status_code == 403
    missing = api.put(
        f"/users/{uuid.uuid4()}/role", json={"role": "admin"}, headers=bearer(admin["access_token"])
    )
    assert missing.status_code == 404


def test_the_last_administrator_stays_one_even_when_two_demote_each_other_at_once(
    client_for, admin, register, make_admin, engine
):
    register("bea@example.com", name="Bea")
    make_admin("bea@example.com")
    bea = client_for("auth").post(
        "/auth/login", json={"email": "bea@example.com", "password": STRONG_PASSWORD}
    )
    api = client_for("users")
    alone = api.put(
        f"/users/{admin['user']['id']}/role", json={"role": "admin"}, headers=bearer(admin["access_token"])
    )
    assert alone.status_code == 200  # already one: nothing changes

    barrier = threading.Barrier(2)
    results = {}

    def demote(name: str, token: str, target: str) -> None:
        barrier.wait()
        results[name] = api.put(f"/users/{target}/role", json={"role": "user"}, headers=bearer(token))

    threads = [
        threading.Thread(target=demote, args=("root", admin["access_token"], bea.json()["user"]["id"])),
        threading.Thread(target=demote, args=("bea", bea.json()["access_token"], admin["user"]["id"])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(response.status_code for response in results.values())
    # One demotion wins; the other is refused, as the last admin (409) or no longer an admin (403).
    assert statuses[0] == 200 and statuses[1] in (403, 409), statuses
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM users WHERE role = 'admin'")).scalar_one() == 1
    winner = admin if results["root"].status_code == 200 else bea.json()
    by_admins = [e for e in entries(client_for, winner, entity="user") if e["actor_id"] is not None]
    assert len(by_admins) == 1


def test_an_operator_making_an_admin_from_the_command_line_is_recorded_as_no_one(
    client_for, admin, register, engine
):
    ana = register("ana@example.com")
    with engine.connect() as connection:
        assert create_admin(connection, "ana@example.com", "Ana", None) == "promoted"
        assert create_admin(connection, "new@example.com", "New", STRONG_PASSWORD) == "created"
    log = [e for e in entries(client_for, admin, entity="user") if e["entity_id"] != admin["user"]["id"]]
    assert [(e["action"], e["actor_id"], e["actor_address"], e["after"]) for e in log] == [
        ("user.role_changed", None, None, {"role": "admin"}),
        ("user.role_changed", None, None, {"role": "admin"}),
    ]
    assert log[1]["entity_id"] == ana["user"]["id"]


def test_the_last_administrator_cannot_demote_themselves(client_for, admin):
    response = client_for("users").put(
        f"/users/{admin['user']['id']}/role", json={"role": "user"}, headers=bearer(admin["access_token"])
    )
    assert response.status_code == 409
    assert "last administrator" in response.json()["detail"]


def test_leaving_erases_the_person_from_the_log_and_keeps_what_happened(client_for, admin, booking, engine):
    made = booking.post("10:00", "11:00", notes="Dentist, then review")
    assert made.status_code == 201
    by_admin = booking.post("12:00", "13:00", notes="Call with my lawyer")
    assert (
        booking.api.delete(
            f"/reservations/{by_admin.json()['id']}", headers=bearer(admin["access_token"])
        ).status_code
        == 200
    )
    person = booking.user["user"]["id"]
    promoted = client_for("users").put(
        f"/users/{person}/role", json={"role": "admin"}, headers=bearer(admin["access_token"])
    )
    assert promoted.status_code == 200
    left = client_for("users").request(
        "DELETE",
        "/users/me",
        json={"current_password": STRONG_PASSWORD},
        headers=bearer(booking.user["access_token"]),
    )
    assert left.status_code == 204

    log = entries(client_for, admin, limit=100)
    everything = str(log)
    assert person not in everything
    assert "Dentist" not in everything and "lawyer" not in everything
    assert "booker@example.com" not in everything and "Booker" not in everything
    about_the_person = [e for e in log if e["entity"] != "space" and e["entity_id"] != admin["user"]["id"]]
    actions = sorted(e["action"] for e in about_the_person)
    assert actions == [
        "reservation.cancelled",  # by the admin
        "reservation.cancelled",  # on leaving
        "reservation.created",
        "reservation.created",
        "user.erased",  # that an account was erased, and how many entries: no one named
        "user.role_changed",
    ]
    erased = next(e for e in log if e["action"] == "user.erased")
    assert (erased["actor_id"], erased["entity_id"], erased["after"]) == (None, None, {"entries": 5})
    by_the_admin = [e for e in log if e["actor_id"] == admin["user"]["id"] and e["entity"] != "space"]
    assert {e["action"] for e in by_the_admin} == {"reservation.cancelled", "user.role_changed"}
    role_change = next(e for e in log if e["action"] == "user.role_changed")
    assert role_change["entity_id"] is None
    assert {e["entity_id"] for e in log if e["entity"] == "reservation"} == {
        made.json()["id"],
        by_admin.json()["id"],
    }
    with engine.connect() as connection:
        left_behind = connection.execute(
            select(audit_log.c.actor_address).where(audit_log.c.actor_id.is_(None))
        ).scalars()
        assert set(left_behind) == {None}


def test_pages_and_filters(client_for, admin, spaces_api):
    made = [spaces_api.create(name=f"Room {n}") for n in range(5)]
    first = (
        client_for("users")
        .get("/audit", params={"limit": 2, "entity": "space"}, headers=bearer(admin["access_token"]))
        .json()
    )
    assert [e["after"]["name"] for e in first["items"]] == ["Room 4", "Room 3"]
    seen = [e["entity_id"] for e in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = (
            client_for("users")
            .get(
                "/audit",
                params={"limit": 2, "entity": "space", "cursor": cursor},
                headers=bearer(admin["access_token"]),
            )
            .json()
        )
        seen += [e["entity_id"] for e in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [space["id"] for space in reversed(made)]

    assert len(entries(client_for, admin, actor=admin["user"]["id"])) == 5
    assert entries(client_for, admin, actor=str(uuid.uuid4())) == []
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert entries(client_for, admin, **{"from": later}) == []
    assert len(entries(client_for, admin, entity="space", to=later)) == 5


@pytest.mark.parametrize(
    "params",
    [
        {"entity": "password"},
        {"entity_id": "not-a-uuid"},
        {"actor": "1; DROP TABLE audit.log"},
        {"from": "0001-01-01T00:00:00+14:00"},
        {"to": "9999-12-31T23:59:59-12:00"},
        {"cursor": "W10"},
        {"cursor": "WyJub3QtYS10aW1lIiwgIjEiXQ"},
        {
            "cursor": "WyIyMDI2LTExLTI5VDEwOjAwOjAwKzAwOjAwIiwgIjk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OSJd"
        },
        {"limit": "0"},
        {"limit": "1000000000"},
    ],
)
def test_bad_queries_are_clear_4xx(client_for, admin, params):
    response = client_for("users").get("/audit", params=params, headers=bearer(admin["access_token"]))
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"


# ------------------------------------------------- as the functions' role, which is not a superuser


FUNCTIONS_LOGIN = (FUNCTIONS_ROLE, "functions-password-0123456789")


@pytest.fixture(params=["own role", "owner's login"])
def as_the_functions_role(request, engine, server_of_our_own, monkeypatch):
    """The functions connect with a role of their own, made by the migrations (as in AWS), or with
    the owner's login (as in local runs); either way, not as a superuser."""
    from reservas.database import get_engine
    from reservas.migrations import upgrade
    from reservas.migrations.roles import FunctionsLogin

    own_role = request.param == "own role"
    superuser = build_engine(server_of_our_own["superuser"])
    with superuser.begin() as connection:  # each test starts from empty tables, as elsewhere
        if connection.execute(text("SELECT to_regclass('audit.log')")).scalar() is not None:
            connection.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
    superuser.dispose()
    owner = build_engine(server_of_our_own["app"])
    upgrade(owner, functions_login=FunctionsLogin(*FUNCTIONS_LOGIN) if own_role else None)
    owner.dispose()
    url = make_url(server_of_our_own["app"])
    if own_role:
        url = url.set(username=FUNCTIONS_LOGIN[0], password=FUNCTIONS_LOGIN[1])
    monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))
    reset_caches()
    get_engine().own_role = own_role
    yield get_engine()
    monkeypatch.undo()
    reset_caches()


def refused(connection, statement: str, **parameters) -> str:
    try:
        with connection.begin_nested():
            connection.execute(text(statement), parameters)
    except exc.DBAPIError as error:
        return sqlstate(error)
    return "accepted"


def test_the_functions_role_may_add_and_read_but_never_change_or_delete_an_entry(
    as_the_functions_role, server_of_our_own
):
    with as_the_functions_role.connect() as connection:
        superuser = text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert connection.execute(superuser).scalar_one() is False
        connection.execute(
            insert(audit_log).values(action="space.created", entity="space", after={"name": "Room"})
        )
        assert connection.execute(select(audit_log.c.action)).scalars().all() == ["space.created"]
        for statement in (
            "UPDATE audit.log SET action = 'space.deleted'",
            "DELETE FROM audit.log",
            "TRUNCATE audit.log",
            "INSERT INTO audit.log (occurred_at, action, entity, after) "
            "VALUES ('2020-01-01', 'space.created', 'space', '{}')",
            "ALTER TABLE audit.log DISABLE TRIGGER ALL",
            "DROP TABLE audit.log",
            "DROP SCHEMA audit CASCADE",
            "CREATE TABLE audit.shadow (id bigint)",
            "SET ROLE reservas_audit",
            "CREATE OR REPLACE FUNCTION audit.purge() RETURNS bigint LANGUAGE sql AS 'SELECT 0::bigint'",
        ):
            assert refused(connection, statement) == INSUFFICIENT_PRIVILEGE, statement
        if as_the_functions_role.own_role:  # what only a role of their own keeps them from
            for statement in (
                "GRANT reservas_audit TO CURRENT_USER",
                "ALTER TABLE users RENAME TO users_of_old",
                "CREATE TABLE shadow (id uuid)",
                "CREATE ROLE intruder",
            ):
                assert refused(connection, statement) == INSUFFICIENT_PRIVILEGE, statement
        # The erasure is for accounts that are gone, never a live one's entries.
        user_id = connection.execute(
            text(
                "INSERT INTO users (email, password_hash, name) VALUES ('a@example.com', 'x', 'A') RETURNING id"
            )
        ).scalar_one()
        assert (
            refused(connection, "SELECT audit.erase_person(:person)", person=user_id)
            == INSUFFICIENT_PRIVILEGE
        )
        connection.commit()
        assert connection.execute(select(audit_log.c.action)).scalars().all() == ["space.created"]


def test_the_retention_clean_up_deletes_only_what_is_older_than_the_setting(
    as_the_functions_role, server_of_our_own
):
    superuser = build_engine(server_of_our_own["superuser"])
    with superuser.begin() as connection:  # entries from the past, as only time could write them
        connection.execute(text("DELETE FROM audit.log"))
        for days in (400, 300, 1):
            connection.execute(
                insert(audit_log).values(
                    occurred_at=datetime.now(UTC) - timedelta(days=days),
                    action="space.created",
                    entity="space",
                    after={"days": days},
                )
            )
    superuser.dispose()
    from reservas.maintenance import purge

    with as_the_functions_role.connect() as connection:
        assert purge(connection)["audit_log"] == 1
        kept = connection.execute(text("SELECT after->>'days' FROM audit.log ORDER BY 1")).scalars().all()
    assert sorted(map(int, kept)) == [1, 300]


def test_the_api_keeps_its_log_as_the_functions_role(as_the_functions_role, client_for):
    """Booking, changing spaces and roles, reading the log and leaving all work with the grants."""
    auth = client_for("auth")
    from tests.support import sign_up

    tokens = [
        sign_up(auth, as_the_functions_role, email, name="Someone")
        for email in ("root@example.com", "ana@example.com")
    ]
    root, ana = tokens
    with as_the_functions_role.connect() as connection:
        create_admin(connection, "root@example.com", "Root", None)
    admin_headers = bearer(root["access_token"])
    from tests.support import space_body

    space = client_for("spaces").post("/spaces", json=space_body(), headers=admin_headers)
    assert space.status_code == 201
    assert (
        client_for("users")
        .put(f"/users/{ana['user']['id']}/role", json={"role": "admin"}, headers=admin_headers)
        .status_code
        == 200
    )
    left = client_for("users").request(
        "DELETE", "/users/me", json={"current_password": STRONG_PASSWORD}, headers=bearer(ana["access_token"])
    )
    assert left.status_code == 204
    log = client_for("users").get("/audit", params={"actor": root["user"]["id"]}, headers=admin_headers)
    assert [(e["action"], e["entity_id"]) for e in log.json()["items"]] == [
        ("user.role_changed", None),
        ("space.created", space.json()["id"]),
    ]


def test_the_audit_log_migration_goes_down_and_up_again(as_the_functions_role, server_of_our_own):
    from alembic import command

    from reservas.migrations import alembic_config, current_revision, upgrade
    from reservas.migrations.roles import FunctionsLogin

    owner = build_engine(server_of_our_own["app"])
    with owner.connect() as connection:
        command.downgrade(alembic_config(connection), "0004")
        connection.commit()
        assert connection.execute(text("SELECT to_regnamespace('audit')")).scalar() is None
    assert current_revision(owner) == "0004"
    own_role = as_the_functions_role.own_role
    upgrade(owner, functions_login=FunctionsLogin(*FUNCTIONS_LOGIN) if own_role else None)
    owner.dispose()
    with as_the_functions_role.connect() as connection:
        assert connection.execute(text("SELECT audit.purge()")).scalar_one() == 0
        assert refused(connection, "DELETE FROM audit.log") == INSUFFICIENT_PRIVILEGE


# ------------------------------------------------- races with leaving and with changes of roles


class CommitWaits:
    """A request's connection whose commit waits for `go`, as a slow Lambda between its last write and
    its commit; everything else is the real connection."""

    def __init__(self, connection, go: threading.Event, reached: threading.Event):
        self._connection, self._go, self._reached = connection, go, reached

    def __getattr__(self, name):
        return getattr(self._connection, name)

    def commit(self):
        self._reached.set()
        assert self._go.wait(20)
        self._connection.commit()


def in_flight(work) -> tuple[threading.Thread, threading.Event, dict]:
    """Run `work(connection)` in a thread until its commit, which waits for the returned event."""
    go, reached, outcome = threading.Event(), threading.Event(), {}

    def run():
        from reservas.database import get_engine

        with get_engine().connect() as connection:
            try:
                outcome["result"] = work(CommitWaits(connection, go, reached))
            except Exception as error:  # reported through `outcome`
                outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    assert reached.wait(10)
    return thread, go, outcome


def leave(client_for, person: dict):
    return client_for("users").request(
        "DELETE",
        "/users/me",
        json={"current_password": STRONG_PASSWORD},
        headers=bearer(person["access_token"]),
    )


def test_the_last_administrator_cannot_leave(client_for, admin, engine):
    response = leave(client_for, admin)
    assert response.status_code == 409
    assert "last administrator" in response.json()["detail"]
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM users WHERE role = 'admin'")).scalar_one() == 1


def test_an_admin_who_leaves_while_their_change_commits_is_named_nowhere(
    client_for, admin, register, make_admin, spaces_api, engine
):
    from reservas.audit import Actor
    from reservas.spaces import service
    from reservas.spaces.schemas import SpaceUpdate

    register("bea@example.com", name="Bea")
    make_admin("bea@example.com")  # so that Root is not the last administrator
    space = spaces_api.create(capacity=8)
    person = uuid.UUID(admin["user"]["id"])
    thread, go, outcome = in_flight(
        lambda db: service.update_space(
            db, uuid.UUID(space["id"]), SpaceUpdate(capacity=9), actor=Actor(person, "203.0.113.7")
        )
    )
    assert leave(client_for, admin).status_code == 204
    go.set()
    thread.join()
    assert "error" in outcome  # the change named someone who had gone: it rolled back
    with engine.connect() as connection:
        named = connection.execute(
            select(audit_log.c.action).where(
                (audit_log.c.actor_id == person) | (audit_log.c.actor_address == "203.0.113.7")
            )
        ).all()
        capacity = connection.execute(text("SELECT capacity FROM spaces")).scalar_one()
    assert (named, capacity) == ([], 8)


def test_a_booking_that_commits_while_its_booker_leaves_is_cancelled_with_the_rest(
    booking, client_for, engine
):
    from reservas.accounts import profile
    from reservas.audit import Actor
    from reservas.reservations import service
    from reservas.reservations.schemas import BookingRequest

    person = uuid.UUID(booking.user["user"]["id"])
    request = BookingRequest(
        space_id=booking.space["id"],
        start_time=booking.at("10:00"),
        end_time=booking.at("11:00"),
        notes="Meeting my lawyer",
    )
    thread, go, outcome = in_flight(
        lambda db: service.book(
            db, profile.get_user(db, person), request, actor=Actor(person, "198.51.100.9")
        )
    )
    result = {}
    leaving = threading.Thread(target=lambda: result.update(response=leave(client_for, booking.user)))
    leaving.start()
    time.sleep(0.5)  # leaving waits for the booking, which holds the person's row
    go.set()
    thread.join()
    leaving.join()
    assert "error" not in outcome
    assert result["response"].status_code == 204
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT status, user_id, notes FROM reservations")).all()
    assert [tuple(row) for row in rows] == [("cancelled", None, "")]


def test_a_demoted_admin_whose_request_was_waiting_cannot_promote_themselves_back(
    client_for, admin, register, make_admin, engine
):
    from reservas.accounts import profile
    from reservas.audit import Actor

    bea = register("bea@example.com", name="Bea")
    make_admin("bea@example.com")
    root = Actor(uuid.UUID(admin["user"]["id"]), "192.0.2.1")
    thread, go, outcome = in_flight(
        lambda db: profile.change_role(db, uuid.UUID(bea["user"]["id"]), "user", actor=root)
    )
    result = {}

    def bea_promotes_herself():
        result["response"] = client_for("users").put(
            f"/users/{bea['user']['id']}/role", json={"role": "admin"}, headers=bearer(bea["access_token"])
        )

    promoting = threading.Thread(target=bea_promotes_herself)
    promoting.start()
    time.sleep(0.5)  # past the admin check, waiting for the administrators' rows
    go.set()
    thread.join()
    promoting.join()
    assert "error" not in outcome
    assert result["response"].status_code == 403
    with engine.connect() as connection:
        assert (
            connection.execute(text("SELECT role FROM users WHERE email = 'bea@example.com'")).scalar()
            == "user"
        )


def test_a_role_change_for_someone_leaving_meanwhile_is_404(client_for, admin, register):
    from reservas import leaving
    from reservas.accounts import profile

    ana = register("ana@example.com")
    ana_id = uuid.UUID(ana["user"]["id"])
    thread, go, outcome = in_flight(
        lambda db: leaving.leave(db, profile.get_user(db, ana_id), STRONG_PASSWORD, "198.51.100.1")
    )
    result = {}

    def promote():
        result["response"] = client_for("users").put(
            f"/users/{ana_id}/role", json={"role": "admin"}, headers=bearer(admin["access_token"])
        )

    promoting = threading.Thread(target=promote)
    promoting.start()
    time.sleep(0.5)  # the promotion waits for the rows the departure holds
    go.set()
    thread.join()
    promoting.join()
    assert "error" not in outcome
    assert result["response"].status_code == 404
