"""Alembic migrations, shipped in the layer so the MigrateFunction can apply them after a deploy."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

MIGRATIONS_DIR = Path(__file__).parent
# Any constant works; it keeps two migrators (two deploys, two test workers) from running at once.
_ADVISORY_LOCK_ID = 7_203_341_117


def alembic_config(connection=None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations up to `revision`, then the server-side timeouts of the API's sessions
    (from RESERVAS_DB_TIMEOUT_SECONDS). Idempotent, and safe to run from several processes at once.
    The migrations themselves run without the API's statement timeout."""
    from alembic import command

    from reservas.database import apply_server_timeouts
    from reservas.settings import get_settings

    with engine.connect() as connection:
        # Wait for another migrator as long as it takes; then let a migration wait at most 10 s for a
        # table's lock, rather than queue the API's requests behind it.
        connection.execute(text("SET statement_timeout = 0"))
        connection.execute(text("SET lock_timeout = 0"))
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
        connection.execute(text("SET lock_timeout = '10s'"))
        try:
            command.upgrade(alembic_config(connection), revision)
            apply_server_timeouts(connection, get_settings().db_timeout_seconds)
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _ADVISORY_LOCK_ID})
            connection.execute(text("RESET statement_timeout"))
            connection.execute(text("RESET lock_timeout"))
            connection.commit()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
