"""API keys: credentials for integrators that are not a person's password. A key acts on behalf of one
account, within its scopes, until it expires or is revoked; only its hash is kept. Audit entries name
the key a change was made with.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

from alembic import op

from reservas.migrations.roles import as_audit_owner

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE api_keys (
            id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            name         varchar(100) NOT NULL,
            user_id      uuid         NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            scopes       text[]       NOT NULL,
            key_hash     bytea        NOT NULL UNIQUE,
            prefix       varchar(16)  NOT NULL,
            created_by   uuid REFERENCES users (id) ON DELETE SET NULL,
            created_at   timestamptz  NOT NULL DEFAULT now(),
            expires_at   timestamptz  NOT NULL,
            revoked_at   timestamptz,
            last_used_at timestamptz,
            CONSTRAINT api_keys_scopes CHECK (
                cardinality(scopes) > 0
                AND scopes <@ ARRAY['spaces:read', 'reservations:read', 'reservations:write']::text[]
            )
        )
        """
    )
    op.execute("CREATE INDEX idx_api_keys_user ON api_keys (user_id)")
    op.execute("CREATE INDEX idx_api_keys_created ON api_keys (created_at, id)")
    with as_audit_owner(op.get_bind()):
        # Not a reference: an entry keeps naming the key after the key is gone with its account.
        op.execute("ALTER TABLE audit.log ADD COLUMN actor_key_id uuid")
        op.execute(
            "CREATE INDEX log_by_key ON audit.log (actor_key_id, occurred_at, id) "
            "WHERE actor_key_id IS NOT NULL"
        )


def downgrade() -> None:
    with as_audit_owner(op.get_bind()):
        op.execute("ALTER TABLE audit.log DROP COLUMN actor_key_id")
    op.execute("DROP TABLE api_keys")
