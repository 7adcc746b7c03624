"""What the functions' own role cannot do, even on purpose, with nothing but its own password."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import exc, text
from sqlalchemy.engine import make_url

from reservas.database import build_engine, sqlstate
from reservas.migrations import upgrade
from reservas.migrations.roles import FunctionsLogin, keep_functions_login
from tests.integration.conftest import FUNCTIONS_ROLE

PASSWORD = "functions-password-0123456789"
INSUFFICIENT_PRIVILEGE = "42501"


def engine_as(server, user: str, password: str):
    url = make_url(server["app"]).set(username=user, password=password)
    return build_engine(url.render_as_string(hide_password=False))


def migrate(server, login: FunctionsLogin | None = None) -> None:
    owner = build_engine(server["app"])
    try:
        upgrade(owner, functions_login=login or FunctionsLogin(FUNCTIONS_ROLE, PASSWORD))
    finally:
        owner.dispose()


@pytest.fixture
def functions(server_of_our_own):
    migrate(server_of_our_own)
    engine = engine_as(server_of_our_own, FUNCTIONS_ROLE, PASSWORD)
    yield engine
    engine.dispose()


@pytest.fixture
def superuser(server_of_our_own):
    engine = build_engine(server_of_our_own["superuser"])
    yield engine
    engine.dispose()


def new_user(connection) -> uuid.UUID:
    return connection.execute(
        text("INSERT INTO users (email, password_hash, name) VALUES (:e, 'x', 'Victim') RETURNING id"),
        {"e": f"{uuid.uuid4()}@example.com"},
    ).scalar_one()


def log_an_entry_about(connection, person: uuid.UUID) -> None:
    connection.execute(
        text(
            "INSERT INTO audit.log (actor_id, actor_address, action, entity, entity_id, subject_id, after) "
            "VALUES (:p, '203.0.113.9', 'user.role_changed', 'user', :p, :p, '{\"role\": \"admin\"}')"
        ),
        {"p": person},
    )


def test_a_live_persons_entries_cannot_be_erased_by_deleting_and_re_adding_them(functions):
    with functions.connect() as connection:
        victim = new_user(connection)
        log_an_entry_about(connection, victim)
        connection.commit()
        row = dict(
            connection.execute(text("SELECT * FROM users WHERE id = :v"), {"v": victim}).mappings().one()
        )
        connection.execute(text("DELETE FROM users WHERE id = :v"), {"v": victim})
        connection.execute(text("SELECT audit.erase_person(:v)"), {"v": victim})
        columns = ", ".join(row)
        with pytest.raises(exc.DBAPIError) as refused:
            connection.execute(
                text(f"INSERT INTO users ({columns}) VALUES ({', '.join(':' + c for c in row)})"),  # noqa: S608
                row,
            )
        assert sqlstate(refused.value) == INSUFFICIENT_PRIVILEGE
        connection.rollback()
        named = connection.execute(
            text("SELECT count(*) FROM audit.log WHERE actor_id = :v AND subject_id = :v"), {"v": victim}
        ).scalar_one()
    assert named == 1  # nothing was erased: the whole attempt rolled back


def test_an_operator_the_functions_create_never_runs_inside_the_audit_functions(functions, superuser):
    """PostgreSQL 13 and 14 let anyone create in schema public; simulated with an explicit grant."""
    with superuser.begin() as connection:
        connection.execute(text(f"GRANT CREATE ON SCHEMA public TO {FUNCTIONS_ROLE}"))
    try:
        with functions.connect() as connection:
            connection.execute(
                text(
                    "CREATE FUNCTION public.shadow_equals(varchar, varchar) RETURNS boolean LANGUAGE plpgsql AS "
                    "$f$ BEGIN IF current_user = 'reservas_audit' THEN DELETE FROM audit.log; END IF; "
                    "RETURN $1::text = $2::text; END $f$"
                )
            )
            connection.execute(
                text(
                    "CREATE OPERATOR public.= (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = public.shadow_equals)"
                )
            )
            kept = new_user(connection)
            log_an_entry_about(connection, kept)
            gone = new_user(connection)
            log_an_entry_about(connection, gone)
            connection.commit()
            connection.execute(text("DELETE FROM users WHERE id = :v"), {"v": gone})
            connection.execute(text("SELECT audit.erase_person(:v)"), {"v": gone})
            connection.commit()
            still_there = connection.execute(
                text("SELECT count(*) FROM audit.log WHERE subject_id = :v"), {"v": kept}
            ).scalar_one()
        assert still_there == 1
    finally:
        with superuser.begin() as connection:
            connection.execute(text("DROP OPERATOR IF EXISTS public.= (varchar, varchar)"))
            connection.execute(text("DROP FUNCTION IF EXISTS public.shadow_equals(varchar, varchar)"))
            connection.execute(text(f"REVOKE CREATE ON SCHEMA public FROM {FUNCTIONS_ROLE}"))


def test_the_migrations_record_is_not_the_functions_to_change(functions, server_of_our_own):
    with functions.connect() as connection:
        for statement in ("UPDATE alembic_version SET version_num = '0004'", "DELETE FROM alembic_version"):
            with pytest.raises(exc.DBAPIError) as refused:
                connection.execute(text(statement))
            assert sqlstate(refused.value) == INSUFFICIENT_PRIVILEGE
            connection.rollback()
    migrate(server_of_our_own)  # the next deploy migrates as ever


def test_settings_the_functions_give_themselves_are_undone_by_the_next_migration(
    functions, server_of_our_own
):
    with functions.connect() as connection:
        connection.execute(text(f"ALTER ROLE {FUNCTIONS_ROLE} SET default_transaction_read_only = on"))
        connection.execute(text(f"ALTER ROLE {FUNCTIONS_ROLE} PASSWORD 'a-password-of-their-own-1234'"))
        connection.commit()
    migrate(server_of_our_own)  # the next deploy
    again = engine_as(server_of_our_own, FUNCTIONS_ROLE, PASSWORD)
    try:
        with again.connect() as connection:
            assert connection.execute(text("SHOW default_transaction_read_only")).scalar_one() == "off"
            new_user(connection)  # writes work
            assert connection.execute(text("SHOW statement_timeout")).scalar_one() == "1500ms"
            connection.rollback()
    finally:
        again.dispose()


@pytest.mark.parametrize("name", ["reservas_audit", "pg_read_all_data", "rdsadmin", "rds_superuser"])
def test_roles_of_the_database_or_of_rds_are_never_the_functions_login(name):
    with pytest.raises(ValueError):
        FunctionsLogin(name, PASSWORD)


def test_an_existing_role_that_can_do_more_than_log_in_is_never_taken_over(server_of_our_own, superuser):
    with superuser.begin() as connection:
        connection.execute(text("CREATE ROLE reservas_operator LOGIN CREATEDB PASSWORD 'operator-password'"))
    owner = build_engine(server_of_our_own["app"])
    try:
        for name in ("reservas_app", "reservas_operator"):  # the owner itself; a role with powers
            with owner.connect() as connection, pytest.raises(ValueError, match="more than log in"):
                keep_functions_login(connection, FunctionsLogin(name, PASSWORD))
    finally:
        owner.dispose()
        with superuser.begin() as connection:
            connection.execute(text("DROP ROLE reservas_operator"))
