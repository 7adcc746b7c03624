"""Webhooks: admins register HTTPS endpoints for chosen event types; every delivery of an event to an
endpoint is a row that keeps its attempts, retried until delivered or dead (the dead-letter store).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # `secret` is the signing key itself (whsec_...), not a hash of it: every delivery is signed with
    # it (HMAC, Standard Webhooks), so it must be kept readable. It is never shown after create/rotate.
    op.execute(
        """
        CREATE TABLE webhooks (
            id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            url                   varchar(2048) NOT NULL,
            description           varchar(200)  NOT NULL DEFAULT '',
            event_types           text[]        NOT NULL,
            secret                text          NOT NULL,
            previous_secret       text,
            previous_secret_until timestamptz,
            created_by            uuid REFERENCES users (id) ON DELETE SET NULL,
            created_at            timestamptz   NOT NULL DEFAULT now(),
            CONSTRAINT webhooks_event_types CHECK (cardinality(event_types) > 0),
            CONSTRAINT webhooks_previous_secret CHECK (
                (previous_secret IS NULL) = (previous_secret_until IS NULL)
            )
        )
        """
    )
    op.execute("CREATE INDEX idx_webhooks_created ON webhooks (created_at, id)")
    # message_id is the `webhook-id` header: the same on every retry and replay of a delivery.
    op.execute(
        """
        CREATE TABLE webhook_deliveries (
            id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            webhook_id      uuid         NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
            message_id      varchar(64)  NOT NULL,
            event_id        bigint,
            event_type      varchar(64)  NOT NULL,
            payload         jsonb        NOT NULL,
            state           varchar(10)  NOT NULL DEFAULT 'pending',
            attempts        integer      NOT NULL DEFAULT 0,
            next_attempt_at timestamptz,
            last_attempt_at timestamptz,
            last_status     integer,
            last_error      varchar(300),
            created_at      timestamptz  NOT NULL DEFAULT now(),
            delivered_at    timestamptz,
            CONSTRAINT webhook_deliveries_state CHECK (state IN ('pending', 'delivered', 'dead')),
            CONSTRAINT webhook_deliveries_pending_is_due CHECK (
                (state = 'pending') = (next_attempt_at IS NOT NULL)
            ),
            CONSTRAINT webhook_deliveries_once_per_event UNIQUE (webhook_id, event_id)
        )
        """
    )
    op.execute(
        "CREATE INDEX idx_webhook_deliveries_due ON webhook_deliveries (next_attempt_at) "
        "WHERE state = 'pending'"
    )
    op.execute(
        "CREATE INDEX idx_webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, created_at, id)"
    )
    op.execute(
        "CREATE INDEX idx_webhook_deliveries_finished ON webhook_deliveries (last_attempt_at) "
        "WHERE state <> 'pending'"
    )
    # Whose booking a delivery tells of: what goes when that person leaves (leaving.leave).
    op.execute(
        "CREATE INDEX idx_webhook_deliveries_person ON webhook_deliveries ((payload -> 'data' ->> 'user_id'))"
    )


def downgrade() -> None:
    op.execute("DROP TABLE webhook_deliveries")
    op.execute("DROP TABLE webhooks")
