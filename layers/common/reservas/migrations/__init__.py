"""Alembic migrations, shipped in the layer so the MigrateFunction can apply them after a deploy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text

MIGRATIONS_DIR = Path(__file__).parent
# Any constant works; it keeps two migrators (two deploys, two test workers) from running at once.
_ADVISORY_LOCK_ID = 7_203_341_117
# Owns the audit log and its schema; the functions' role may only read and add to it (versions/0005).
AUDIT_OWNER = "reservas_audit"
AUDIT_SCHEMA = "audit"


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
            define_audit_purge(connection, get_settings().audit_retention_days)
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


@contextmanager
def as_audit_owner(connection: Connection) -> Iterator[None]:
    """Act as the audit log's owner, in its schema, inside the current transaction: the membership
    that allows it is granted and revoked in the same transaction, so it is never visible, let alone
    kept. Grants made meanwhile to SESSION_USER go to the role the migrations (and functions) use."""
    execute = connection.exec_driver_sql
    execute(f"GRANT {AUDIT_OWNER} TO CURRENT_USER")
    execute(f"CREATE SCHEMA IF NOT EXISTS {AUDIT_SCHEMA} AUTHORIZATION {AUDIT_OWNER}")
    execute(f"SET ROLE {AUDIT_OWNER}")
    yield
    execute("RESET ROLE")
    execute(f"REVOKE {AUDIT_OWNER} FROM CURRENT_USER")


def search_path_of_definer_functions(connection: Connection) -> str:
    """The audit schema, that of the other tables, then pg_temp: a caller's temporary tables never
    stand in for them."""
    schema = connection.exec_driver_sql("SELECT current_schema()").scalar_one()
    return f'{AUDIT_SCHEMA}, "{schema.replace(chr(34), chr(34) * 2)}", pg_temp'


def define_audit_purge(connection: Connection, retention_days: int) -> None:
    """`audit.purge()`: deletes the audit entries older than `retention_days`, the one deletion the log
    allows. The period is written into the function, which belongs to the log's owner, so the
    functions' role may run the clean-up but not choose what it deletes."""
    if connection.exec_driver_sql(f"SELECT to_regclass('{AUDIT_SCHEMA}.log')").scalar_one() is None:
        return  # migrated to a revision before the audit log
    search_path = search_path_of_definer_functions(connection)
    execute = connection.exec_driver_sql
    with as_audit_owner(connection):
        execute(
            f"""
            CREATE OR REPLACE FUNCTION {AUDIT_SCHEMA}.purge() RETURNS bigint
            LANGUAGE sql SECURITY DEFINER SET search_path = {search_path}
            AS $$
                WITH purged AS (
                    DELETE FROM {AUDIT_SCHEMA}.log
                     WHERE occurred_at < now() - interval '{int(retention_days)} days'
                    RETURNING 1
                )
                SELECT count(*) FROM purged
            $$
            """  # noqa: S608 (constants and an int, no input)
        )
        execute(f"REVOKE ALL ON FUNCTION {AUDIT_SCHEMA}.purge() FROM PUBLIC")
        execute(f"GRANT EXECUTE ON FUNCTION {AUDIT_SCHEMA}.purge() TO SESSION_USER")
