"""Who may do what in the database, set by the migrations.

Two roles matter besides the one the migrations run as (the *owner*, RDS's master user in AWS):

- `reservas_audit` owns the audit log (schema `audit`); no one logs in as it. The owner acts as it only
  inside a migration's transaction (`as_audit_owner`).
- the *functions' role*, the login the Lambda functions use. In AWS it is a role of its own, made and
  kept by the migrations from the stack's functions secret (`FunctionsLogin`): it reads and writes
  the tables, adds to the audit log, and can do nothing else: no DDL, no roles, no rewriting the log.
  Without one (local runs, tests), the functions use the owner's login, and the audit log is then
  append-only against the application's statements, not against someone holding that login, which
  may grant itself `reservas_audit` (it made it)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, text

AUDIT_OWNER = "reservas_audit"
AUDIT_SCHEMA = "audit"
# SECURITY DEFINER functions name every table with its schema and search nothing a caller can write to.
DEFINER_SEARCH_PATH = "pg_catalog, pg_temp"
# The columns of an audit entry the functions write; its id and time are the database's.
AUDIT_COLUMNS_WRITTEN = (
    "actor_id",
    "actor_address",
    "action",
    "entity",
    "entity_id",
    "subject_id",
    "before",
    "after",
    "actor_key_id",
)
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_RESERVED_PREFIXES = ("pg_", "rds")  # PostgreSQL's own roles, and RDS's


@dataclass(frozen=True)
class FunctionsLogin:
    """The functions' own database login."""

    username: str
    password: str

    def __post_init__(self) -> None:
        if not _ROLE_NAME.match(self.username):
            raise ValueError("the functions' database username must be lower-case letters, digits and _")
        if self.username == AUDIT_OWNER or self.username.startswith(_RESERVED_PREFIXES):
            raise ValueError(f"{self.username!r} is a role the functions may not log in as")
        if len(self.password) < 16:
            raise ValueError("the functions' database password must be at least 16 characters")

    def __repr__(self) -> str:
        return f"FunctionsLogin(username={self.username!r}, password=***)"


@contextmanager
def as_audit_owner(connection: Connection) -> Iterator[None]:
    """Act as the audit log's owner, in its schema, inside the current transaction: the membership
    that allows it is granted and revoked in the same transaction, so it is never visible, let alone
    kept."""
    execute = connection.exec_driver_sql
    execute(f"GRANT {AUDIT_OWNER} TO CURRENT_USER")
    execute(f"CREATE SCHEMA IF NOT EXISTS {AUDIT_SCHEMA} AUTHORIZATION {AUDIT_OWNER}")
    execute(f"SET ROLE {AUDIT_OWNER}")
    yield
    execute("RESET ROLE")
    execute(f"REVOKE {AUDIT_OWNER} FROM CURRENT_USER")


def tables_schema(connection: Connection) -> str:
    """The schema of the product's tables, quoted for SQL."""
    schema: str = connection.exec_driver_sql("SELECT current_schema()").scalar_one()
    return '"' + schema.replace('"', '""') + '"'


def define_audit_purge(connection: Connection, retention_days: int) -> None:
    """`audit.purge()`: deletes the audit entries older than `retention_days`, the one deletion the log
    allows. The period is written into the function, which belongs to the log's owner, so the
    functions' role may run the clean-up but not choose what it deletes."""
    with as_audit_owner(connection):
        connection.exec_driver_sql(
            f"""
            CREATE OR REPLACE FUNCTION {AUDIT_SCHEMA}.purge() RETURNS bigint
            LANGUAGE sql SECURITY DEFINER SET search_path = {DEFINER_SEARCH_PATH}
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
        connection.exec_driver_sql(f"REVOKE ALL ON FUNCTION {AUDIT_SCHEMA}.purge() FROM PUBLIC")


def keep_functions_login(connection: Connection, login: FunctionsLogin) -> None:
    """Make the functions' role, or bring it back to what it should be: its password (sent as a SCRAM
    verifier, never in clear, so it is in no statement the server might log) and no settings of its
    own (a role may change its own; the timeouts are applied afterwards). An existing role that can
    do more than log in (the owner's, an administrator's) is never taken over."""
    existing = connection.execute(
        text(
            "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls "
            "OR rolname = session_user "
            "OR EXISTS (SELECT FROM pg_auth_members WHERE member = pg_roles.oid) AS more "
            "FROM pg_roles WHERE rolname = :name"
        ),
        {"name": login.username},
    ).first()
    if existing is not None and existing.more:
        raise ValueError(f"{login.username!r} can do more than log in: it cannot be the functions' login")
    verb = "ALTER" if existing is not None else "CREATE"  # a new role can do nothing but log in
    verifier = scram_sha_256_verifier(login.password)
    connection.exec_driver_sql(f"{verb} ROLE {login.username} WITH LOGIN PASSWORD '{verifier}'")
    database = connection.exec_driver_sql("SELECT current_database()").scalar_one()
    connection.exec_driver_sql(f"ALTER ROLE {login.username} RESET ALL")
    connection.exec_driver_sql(
        f'ALTER ROLE {login.username} IN DATABASE "{database.replace(chr(34), chr(34) * 2)}" RESET ALL'
    )


def grant_to_the_functions(connection: Connection, role: str | None) -> None:
    """What the functions may do, granted to their role (None: the owner's login, which owns the
    tables already): read and write the tables, read the audit log and add to it, and run its two
    functions. Idempotent; run after every migration, as new tables need it."""
    grantee = role or "SESSION_USER"
    schema = tables_schema(connection)
    # As PostgreSQL 15 and later have it: only the schema's owner creates in it (on 13 and 14 anyone
    # may, unless revoked; nothing a caller creates there may shadow what the product uses).
    connection.exec_driver_sql(f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC")
    if role is not None:
        for statement in (
            f"GRANT USAGE ON SCHEMA {schema} TO {role}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
            # Which migrations ran is the migrations' business.
            f"REVOKE INSERT, UPDATE, DELETE ON {schema}.alembic_version FROM {role}",
        ):
            connection.exec_driver_sql(statement)
    columns = ", ".join(AUDIT_COLUMNS_WRITTEN)
    functions = f"{AUDIT_SCHEMA}.erase_person(uuid), {AUDIT_SCHEMA}.purge()"
    with as_audit_owner(connection):
        for statement in (
            f"GRANT USAGE ON SCHEMA {AUDIT_SCHEMA} TO {grantee}",
            f"GRANT SELECT, INSERT ({columns}) ON {AUDIT_SCHEMA}.log TO {grantee}",
            f"GRANT EXECUTE ON FUNCTION {functions} TO {grantee}",
        ):
            connection.exec_driver_sql(statement)


def scram_sha_256_verifier(password: str, iterations: int = 4096) -> str:
    """What PostgreSQL stores for a SCRAM-SHA-256 password (RFC 5802, RFC 7677), as psql's
    \\password computes it; PostgreSQL takes it in place of the password itself."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"
