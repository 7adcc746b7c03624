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

from reservas.migrations.roles import (
    AUDIT_OWNER,
    DEFINER_SEARCH_PATH,
    as_audit_owner,
    tables_schema,
)

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
    users = f"{tables_schema(op.get_bind())}.users"
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
        # Accounts whose entries were erased: such an account never comes back (see users_stay_erased),
        # so the erasure cannot be turned on someone who is still here by deleting and re-adding them.
        op.execute(
            """
            CREATE TABLE audit.erased_accounts (
                id        uuid PRIMARY KEY,
                erased_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        # Definer functions name every table with its schema and search only pg_catalog: nothing a
        # caller may create (a table, an operator) can stand in for what they use.
        op.execute(
            f"""
            CREATE FUNCTION audit.erase_person(person uuid) RETURNS bigint
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = {DEFINER_SEARCH_PATH} AS $$
            DECLARE
                erased bigint;
            BEGIN
                IF person IS NULL OR EXISTS (SELECT FROM {users} WHERE id = person) THEN
                    RAISE EXCEPTION 'only a deleted account''s audit entries are erased'
                        USING ERRCODE = 'insufficient_privilege';
                END IF;
                INSERT INTO audit.erased_accounts (id) VALUES (person) ON CONFLICT DO NOTHING;
                -- As the actor: no id, no address. As the subject: no id, nothing personal.
                UPDATE audit.log
                   SET actor_id = CASE WHEN actor_id = person THEN NULL ELSE actor_id END,
                       actor_address = CASE WHEN actor_id = person THEN NULL ELSE actor_address END,
                       subject_id = CASE WHEN subject_id = person THEN NULL ELSE subject_id END,
                       entity_id = CASE WHEN subject_id = person AND entity::text = 'user' THEN NULL
                                        ELSE entity_id END,
                       before = CASE WHEN subject_id = person THEN before - ARRAY[{personal}]::text[]
                                     ELSE before END,
                       after = CASE WHEN subject_id = person THEN after - ARRAY[{personal}]::text[]
                                    ELSE after END
                 WHERE actor_id = person OR subject_id = person;
                GET DIAGNOSTICS erased = ROW_COUNT;
                INSERT INTO audit.log (action, entity, after)
                VALUES ('user.erased', 'user', jsonb_build_object('entries', erased));
                RETURN erased;
            END
            $$
            """  # noqa: S608 (constants, no input)
        )
        op.execute(
            f"""
            CREATE FUNCTION audit.refuse_an_erased_account() RETURNS trigger
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = {DEFINER_SEARCH_PATH} AS $$
            BEGIN
                IF EXISTS (SELECT FROM audit.erased_accounts WHERE id = NEW.id) THEN
                    RAISE EXCEPTION 'this account was erased; it cannot come back'
                        USING ERRCODE = 'insufficient_privilege';
                END IF;
                RETURN NEW;
            END
            $$
            """
        )
        op.execute("REVOKE ALL ON FUNCTION audit.refuse_an_erased_account() FROM PUBLIC")
        op.execute("GRANT USAGE ON SCHEMA audit TO SESSION_USER")  # the owner, for the trigger below
        op.execute("GRANT EXECUTE ON FUNCTION audit.refuse_an_erased_account() TO SESSION_USER")
        op.execute("REVOKE ALL ON FUNCTION audit.erase_person(uuid) FROM PUBLIC")
    # On users, which the owner keeps: the functions' role may not drop or disable its triggers.
    op.execute(
        f"CREATE TRIGGER users_stay_erased BEFORE INSERT OR UPDATE OF id ON {users} "
        "FOR EACH ROW EXECUTE FUNCTION audit.refuse_an_erased_account()"
    )
    # What the functions may do with the log is granted after every migration (grant_to_the_functions).


def downgrade() -> None:
    op.execute("DROP TRIGGER users_stay_erased ON users")
    with as_audit_owner(op.get_bind()):
        op.execute("DROP FUNCTION IF EXISTS audit.purge()")
        op.execute("DROP FUNCTION audit.erase_person(uuid)")
        op.execute("DROP FUNCTION audit.refuse_an_erased_account()")
        op.execute("DROP TABLE audit.erased_accounts")
        op.execute("DROP TABLE audit.log")
        op.execute("DROP SCHEMA audit")
    op.execute(f"REVOKE SELECT (id), REFERENCES (id) ON users FROM {AUDIT_OWNER}")  # noqa: S608 (a constant)
