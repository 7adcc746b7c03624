"""The audit log: who changed what, when and from where. Append-only for the functions.

`audit.log` and its schema belong to `reservas_audit`, a role no one logs in as (see ../roles.py). The
functions' role may read the log and add to it, but not change, delete or drop an entry, nor write an
entry's time. Two SECURITY DEFINER functions do what the owner allows beyond that: `audit.erase_person`,
the erasure of a deleted account's personal data, and `audit.purge`, the retention clean-up (defined
by `roles.define_audit_purge`, as its period is a setting).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from alembic import op

from reservas.migrations.roles import AUDIT_OWNER, as_audit_owner, search_path_of_definer_functions

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# What an entry may say about a person besides their id: erased with their account.
PERSONAL_FIELDS = ("user_id", "email", "name", "notes")


def upgrade() -> None:
    op.execute(
        f"""
        DO $$
        BEGIN
            CREATE ROLE {AUDIT_OWNER} NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- made by the migrations of another database of this server
        END
        $$
        """
    )
    # What the log needs of users: whether an account is gone, for the erasure, and to refer to
    # accounts. The references are checked at commit: an account cannot go, in any order of commits,
    # while an entry names it, so the erasure always sees every entry about the person.
    op.execute(f"GRANT SELECT (id), REFERENCES (id) ON users TO {AUDIT_OWNER}")
    search_path = search_path_of_definer_functions(op.get_bind())
    personal = ", ".join(f"'{field}'" for field in PERSONAL_FIELDS)
    with as_audit_owner(op.get_bind()):
        op.execute(
            """
            CREATE TABLE audit.log (
                id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                occurred_at   timestamptz NOT NULL DEFAULT now(),
                actor_id      uuid REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED,
                actor_address varchar(64),
                action        varchar(64) NOT NULL,
                entity        varchar(32) NOT NULL,
                entity_id     uuid,
                subject_id    uuid REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED,
                before        jsonb,
                after         jsonb,
                CONSTRAINT log_says_something CHECK (before IS NOT NULL OR after IS NOT NULL)
            )
            """
        )
        op.execute("CREATE INDEX log_by_time ON audit.log (occurred_at, id)")
        op.execute("CREATE INDEX log_by_entity ON audit.log (entity, entity_id, occurred_at, id)")
        op.execute("CREATE INDEX log_by_actor ON audit.log (actor_id, occurred_at, id)")
        op.execute("CREATE INDEX log_by_subject ON audit.log (subject_id) WHERE subject_id IS NOT NULL")
        op.execute(
            f"""
            CREATE FUNCTION audit.erase_person(person uuid) RETURNS bigint
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = {search_path} AS $$
            DECLARE
                anonymous bigint;
                erased bigint;
            BEGIN
                IF EXISTS (SELECT FROM users WHERE id = person) THEN
                    RAISE EXCEPTION 'only a deleted account''s audit entries are erased'
                        USING ERRCODE = 'insufficient_privilege';
                END IF;
                UPDATE audit.log SET actor_id = NULL, actor_address = NULL WHERE actor_id = person;
                GET DIAGNOSTICS anonymous = ROW_COUNT;
                UPDATE audit.log
                   SET subject_id = NULL,
                       entity_id = CASE WHEN entity = 'user' THEN NULL ELSE entity_id END,
                       before = before - ARRAY[{personal}],
                       after = after - ARRAY[{personal}]
                 WHERE subject_id = person;
                GET DIAGNOSTICS erased = ROW_COUNT;
                RETURN anonymous + erased;
            END
            $$
            """  # noqa: S608 (constants, no input)
        )
        op.execute("REVOKE ALL ON FUNCTION audit.erase_person(uuid) FROM PUBLIC")
    # What the functions may do with it is granted after every migration (roles.grant_to_the_functions).


def downgrade() -> None:
    with as_audit_owner(op.get_bind()):
        op.execute("DROP FUNCTION IF EXISTS audit.purge()")
        op.execute("DROP FUNCTION audit.erase_person(uuid)")
        op.execute("DROP TABLE audit.log")
        op.execute("DROP SCHEMA audit")
    op.execute(f"REVOKE SELECT (id), REFERENCES (id) ON users FROM {AUDIT_OWNER}")  # noqa: S608 (a constant)
