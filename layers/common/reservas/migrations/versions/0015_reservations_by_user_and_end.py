"""A user's reservations by end time: "my bookings from now on" (GET /reservations?from=..., the web
page's list) and the count of a user's upcoming bookings that every booking checks read the user's
bookings that end after an instant, and no longer every booking the user ever made. With only
(user_id, start_time), both walked the user's whole history and dropped what had ended (bench/scale.py:
6,410 rows read and dropped for 101 kept, for a user with 10,000 bookings).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # On a large table an operator builds it ahead, CONCURRENTLY (README, Deploying)
    op.execute("CREATE INDEX IF NOT EXISTS idx_reservations_user_end ON reservations (user_id, end_time)")


def downgrade() -> None:
    op.execute("DROP INDEX idx_reservations_user_end")
