"""The waitlist: a person turned away from a time may wait for exactly that interval; when it frees up,
the first waiting entry whose whole interval is free and valid is booked for its person.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE waitlist (
            id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id        uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            space_id       uuid        NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
            start_time     timestamptz NOT NULL,
            end_time       timestamptz NOT NULL,
            attendees      integer     NOT NULL DEFAULT 1,
            notes          text        NOT NULL DEFAULT '',
            created_at     timestamptz NOT NULL DEFAULT now(),
            -- The booking made for it; NULL while it waits.
            reservation_id uuid REFERENCES reservations (id) ON DELETE SET NULL,
            promoted_at    timestamptz,
            CONSTRAINT waitlist_valid_time_range CHECK (end_time > start_time),
            CONSTRAINT waitlist_valid_attendees CHECK (attendees >= 1)
        )
        """
    )
    # First come, first served, per space, among those still waiting.
    op.execute(
        "CREATE INDEX idx_waitlist_waiting ON waitlist (space_id, created_at) WHERE promoted_at IS NULL"
    )
    op.execute("CREATE INDEX idx_waitlist_user ON waitlist (user_id, start_time)")


def downgrade() -> None:
    op.execute("DROP TABLE waitlist")
