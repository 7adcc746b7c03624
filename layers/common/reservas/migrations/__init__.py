"""Alembic migrations, shipped in the layer so the MigrateFunction can apply them after a deploy."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text

if TYPE_CHECKING:
    from alembic.config import Config

from reservas.migrations.roles import (
    FunctionsLogin,
    define_audit_purge,
    grant_to_the_functions,
    keep_functions_login,
)

MIGRATIONS_DIR = Path(__file__).parent
# Any constant works; it keeps two migrators (two deploys, two test workers) from running at once.
_ADVISORY_LOCK_ID = 7_203_341_117


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head", functions_login: FunctionsLogin | None = None) -> None:
    """Apply the migrations up to `revision`, then what the functions' role may do and its server-side
    timeouts (from RESERVAS_DB_TIMEOUT_SECONDS), and the audit log's retention. With `functions_login`,
    the functions have a role of their own, made or updated here (see roles.py). Idempotent, and safe
    to run from several processes at once. The migrations run without the API's statement timeout."""
    from alembic import command

    with engine.connect() as connection:
        # Wait for another migrator as long as it takes; then let a migration wait at most 10 s for a
        # table's lock, rather than queue the API's requests behind it.
        connection.execute(text("SET statement_timeout = 0"))
        connection.execute(text("SET lock_timeout = 0"))
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
        connection.execute(text("SET lock_timeout = '10s'"))
        try:
            command.upgrade(alembic_config(connection), revision)
            _settle_the_functions_role(connection, functions_login)
            connection.commit()
        except BaseException:
            connection.rollback()  # so that the lock can be released and the error seen
            raise
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _ADVISORY_LOCK_ID})
            connection.execute(text("RESET statement_timeout"))
            connection.execute(text("RESET lock_timeout"))
            connection.commit()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _settle_the_functions_role(connection: Connection, login: FunctionsLogin | None) -> None:
    from reservas.database import apply_server_timeouts
    from reservas.settings import get_settings

    role = None
    if login is not None:
        keep_functions_login(connection, login)
        role = login.username
    apply_server_timeouts(connection, get_settings().db_timeout_seconds, role)
    has_audit_log = "SELECT EXISTS (SELECT FROM pg_tables WHERE schemaname = 'audit' AND tablename = 'log')"
    if connection.exec_driver_sql(has_audit_log).scalar_one():  # from revision 0005 on
        define_audit_purge(connection, get_settings().audit_retention_days)
        grant_to_the_functions(connection, role)
