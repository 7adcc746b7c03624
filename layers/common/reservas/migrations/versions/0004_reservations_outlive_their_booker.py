"""A person who leaves takes their data, not the spaces' history: a reservation outlives its booker,
with no one named (user_id NULL).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE reservations ALTER COLUMN user_id DROP NOT NULL")
    op.execute("ALTER TABLE reservations DROP CONSTRAINT reservations_user_id_fkey")
    op.execute(
        "ALTER TABLE reservations ADD CONSTRAINT reservations_user_id_fkey "
        "FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL"
    )


def downgrade() -> None:
    op.execute("DELETE FROM reservations WHERE user_id IS NULL")
    op.execute("ALTER TABLE reservations DROP CONSTRAINT reservations_user_id_fkey")
    op.execute(
        "ALTER TABLE reservations ADD CONSTRAINT reservations_user_id_fkey "
        "FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE"
    )
    op.execute("ALTER TABLE reservations ALTER COLUMN user_id SET NOT NULL")
