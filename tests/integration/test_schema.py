"""The schema the migrations build: constraints, triggers, cascades, and the tables the code queries."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import exc, insert, select, text, update

from reservas.database import sqlstate
from reservas.migrations import current_revision, upgrade
from reservas.tables import metadata, reservations, spaces, users

CHECK_VIOLATION = "23514"
START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


def _user(connection, email="ana@example.com"):
    return connection.execute(
        insert(users).values(email=email, password_hash="x", name="Ana").returning(users.c.id)
    ).scalar_one()


def _space(connection, **values):
    return connection.execute(
        insert(spaces).values(**{"name": "Room", "capacity": 4, **values}).returning(spaces.c.id)
    ).scalar_one()


def test_migrations_are_idempotent_even_when_run_concurrently(engine):
    errors = []

    def migrate():
        try:
            upgrade(engine)
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=migrate) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert current_revision(engine) == "0015"


def test_tables_in_code_match_the_migrated_database(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_schemas": True,
                "include_name": lambda name, kind, _: kind != "schema" or name in (None, "audit"),
            },
        )
        diff = compare_metadata(context, metadata)
    kinds = {"add_table", "remove_table", "add_column", "remove_column", "modify_type", "modify_nullable"}
    changes = [change if isinstance(change, tuple) else change[0] for change in diff]
    table_or_column_changes = [
        change for change in changes if change[0] in kinds and not _jsonb_declared_as_json(change)
    ]
    assert table_or_column_changes == []


def _jsonb_declared_as_json(change: tuple) -> bool:
    """tables.py declares jsonb columns as generic JSON on purpose (see there); nothing else may differ."""
    from sqlalchemy import JSON
    from sqlalchemy.dialects.postgresql import JSONB

    return change[0] == "modify_type" and isinstance(change[5], JSONB) and isinstance(change[6], JSON)


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"start_time": START, "end_time": START}, "valid_time_range"),
        ({"start_time": START, "end_time": START - timedelta(hours=1)}, "valid_time_range"),
        ({"status": "on hold"}, "valid_status"),
        ({"status": "pending"}, "pending_has_decide_by"),
        ({"status": "cancelled"}, "cancelled_iff_cancelled_at"),
        ({"attendees": 0}, "valid_attendees"),
    ],
)
def test_reservation_checks(engine, values, constraint):
    with engine.begin() as connection:
        user_id, space_id = _user(connection), _space(connection)
    row = {
        "user_id": user_id,
        "space_id": space_id,
        "start_time": START,
        "end_time": START + timedelta(hours=1),
    }
    with pytest.raises(exc.DBAPIError) as raised, engine.begin() as connection:
        connection.execute(insert(reservations).values(**{**row, **values}))
    assert sqlstate(raised.value) == CHECK_VIOLATION
    assert constraint in str(raised.value)


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"capacity": 0}, "spaces_valid_capacity"),
        ({"price_per_hour": -1}, "spaces_valid_price"),
        ({"currency": "eur"}, "spaces_valid_currency"),
        ({"min_duration_minutes": 60, "max_duration_minutes": 30}, "spaces_valid_durations"),
    ],
)
def test_space_checks(engine, values, constraint):
    with pytest.raises(exc.DBAPIError) as raised, engine.begin() as connection:
        _space(connection, **values)
    assert constraint in str(raised.value)


def test_emails_are_stored_normalised_and_unique(engine):
    with pytest.raises(exc.DBAPIError, match="users_email_normalised"), engine.begin() as connection:
        _user(connection, email="Ana@Example.com")
    with engine.begin() as connection:
        _user(connection)
    with pytest.raises(exc.DBAPIError, match="users_email_key"), engine.begin() as connection:
        _user(connection)


def test_updated_at_follows_every_update(engine):
    with engine.begin() as connection:
        user_id = _user(connection)
        created = connection.execute(select(users.c.updated_at).where(users.c.id == user_id)).scalar_one()
    time.sleep(0.01)
    with engine.begin() as connection:
        connection.execute(update(users).where(users.c.id == user_id).values(name="Ana María"))
        row = connection.execute(
            select(users.c.created_at, users.c.updated_at).where(users.c.id == user_id)
        ).one()
    assert row.updated_at > created
    assert row.created_at == created


def test_deleting_a_user_keeps_their_reservations_naming_no_one(engine):
    with engine.begin() as connection:
        user_id, space_id = _user(connection), _space(connection)
        connection.execute(
            insert(reservations).values(
                user_id=user_id, space_id=space_id, start_time=START, end_time=START + timedelta(hours=1)
            )
        )
        connection.execute(users.delete().where(users.c.id == user_id))
        assert connection.execute(select(reservations.c.user_id)).scalars().all() == [None]


def test_a_failed_migration_shows_its_own_error_and_releases_the_lock(engine, monkeypatch):
    import reservas.database

    def broken(connection, seconds, role=None):
        connection.exec_driver_sql("SELECT 1/0")

    monkeypatch.setattr(reservas.database, "apply_server_timeouts", broken)
    with pytest.raises(exc.DBAPIError) as raised:
        upgrade(engine)
    assert sqlstate(raised.value) == "22012"  # division by zero, not "current transaction is aborted"
    monkeypatch.undo()
    upgrade(engine)  # the advisory lock was released
    assert current_revision(engine) == "0015"


def test_an_index_an_operator_built_ahead_is_taken_as_done(engine):
    """On a large table the README has operators build new indexes CONCURRENTLY before the deploy,
    under the migration's own names; the migration then goes on without building them again."""
    from alembic import command

    from reservas.migrations import alembic_config

    with engine.connect() as connection:
        command.downgrade(alembic_config(connection), "0013")
        connection.commit()
        connection.execute(text("CREATE INDEX idx_spaces_by_name ON spaces (name, id)"))
        connection.execute(text("CREATE INDEX idx_reservations_user_end ON reservations (user_id, end_time)"))
        connection.commit()
    upgrade(engine)
    assert current_revision(engine) == "0015"
