"""Calendar feeds: each person's private feed of their bookings is reached by an unguessable token,
whose hash alone is kept; rotating it ends the old feed at once.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE calendar_feeds (
            user_id    uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
            token_hash bytea       NOT NULL UNIQUE,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE calendar_feeds")
