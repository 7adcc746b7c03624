"""Money to the minor unit of its currency (ISO 4217): none for JPY, three for BHD, four for CLF.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE spaces ALTER COLUMN price_per_hour TYPE numeric(16,4)")
    op.execute("ALTER TABLE reservations ALTER COLUMN cost TYPE numeric(16,4)")


def downgrade() -> None:
    op.execute("ALTER TABLE reservations ALTER COLUMN cost TYPE numeric(12,2)")
    op.execute("ALTER TABLE spaces ALTER COLUMN price_per_hour TYPE numeric(12,2)")
