"""What booking needs beyond the schema: an outbox for events, and remembered idempotency keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Events are written here in the transaction that makes them true, and published from here.
    op.execute(
        """
        CREATE TABLE outbox (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            event_type   varchar(64) NOT NULL,
            aggregate_id uuid        NOT NULL,
            payload      jsonb       NOT NULL,
            created_at   timestamptz NOT NULL DEFAULT now(),
            published_at timestamptz,
            attempts     integer     NOT NULL DEFAULT 0,
            last_error   text
        )
        """
    )
    op.execute("CREATE INDEX idx_outbox_unpublished ON outbox (id) WHERE published_at IS NULL")
    # A booking and the answer it gave commit together, so a repeated request can never book twice.
    op.execute(
        """
        CREATE TABLE idempotency_keys (
            user_id       uuid         NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            key           varchar(255) NOT NULL,
            request_hash  char(64)     NOT NULL,
            status_code   integer      NOT NULL,
            response_body jsonb        NOT NULL,
            created_at    timestamptz  NOT NULL DEFAULT now(),
            expires_at    timestamptz  NOT NULL,
            PRIMARY KEY (user_id, key)
        )
        """
    )
    op.execute("CREATE INDEX idx_idempotency_keys_expiry ON idempotency_keys (expires_at)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS idempotency_keys")
    op.execute("DROP TABLE IF EXISTS outbox")
