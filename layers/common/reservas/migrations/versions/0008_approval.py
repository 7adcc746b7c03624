"""Approval: a space may require its bookings to be approved. They start `pending` and hold their time
like any booking (the exclusion constraint covers them) until an approver approves (`active`) or
declines (`declined`) them; one nobody decided by its `decide_by` expires (`expired`) and its time is
free, as a no-show's is (its hold lapses then).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE spaces ADD COLUMN requires_approval boolean NOT NULL DEFAULT false")
    # Who, besides the administrators, approves a space's bookings.
    op.execute(
        """
        CREATE TABLE space_managers (
            space_id uuid NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
            user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            PRIMARY KEY (space_id, user_id)
        )
        """
    )
    op.execute("CREATE INDEX idx_space_managers_user ON space_managers (user_id)")
    op.execute(
        """
        ALTER TABLE reservations
            ADD COLUMN decide_by       timestamptz,
            ADD COLUMN decided_at      timestamptz,
            ADD COLUMN decided_by      uuid REFERENCES users (id) ON DELETE SET NULL,
            ADD COLUMN decision_reason varchar(500) NOT NULL DEFAULT '',
            DROP CONSTRAINT valid_status,
            ADD CONSTRAINT valid_status CHECK (
                status IN ('pending', 'active', 'cancelled', 'completed', 'released', 'declined', 'expired')
            ),
            ADD CONSTRAINT pending_has_decide_by CHECK (status <> 'pending' OR decide_by IS NOT NULL)
        """
    )
    op.execute("CREATE INDEX idx_reservations_undecided ON reservations (decide_by) WHERE status = 'pending'")
    # Pending bookings hold their time too, until their decide_by (the rest as in 0007).
    op.execute(
        """
        CREATE OR REPLACE FUNCTION reservations_hold_their_time() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            padded tstzrange;
            holding boolean := NEW.status IN ('active', 'pending');
            held boolean := TG_OP = 'UPDATE' AND OLD.status IN ('active', 'pending');
            lapses timestamptz := CASE WHEN NEW.status = 'pending' THEN NEW.decide_by
                                       WHEN NEW.checked_in_at IS NULL THEN NEW.check_in_by END;
        BEGIN
            IF TG_OP = 'UPDATE' AND NEW.status = OLD.status AND NEW.start_time = OLD.start_time
               AND NEW.end_time = OLD.end_time AND NEW.space_id = OLD.space_id THEN
                IF holding AND (NEW.checked_in_at IS DISTINCT FROM OLD.checked_in_at
                                OR NEW.check_in_by IS DISTINCT FROM OLD.check_in_by
                                OR NEW.decide_by IS DISTINCT FROM OLD.decide_by) THEN
                    UPDATE holds SET lapses_at = lapses WHERE reservation_id = NEW.id;
                END IF;
                RETURN NULL;  -- same time: the hold, and the buffers it was padded with, stay
            END IF;
            IF NOT holding THEN
                DELETE FROM holds WHERE reservation_id = NEW.id;
                RETURN NULL;
            END IF;
            IF held AND NEW.space_id = OLD.space_id
               AND NEW.start_time >= OLD.start_time AND NEW.end_time <= OLD.end_time THEN
                -- Shorter (ended early, say): the buffers it was booked with stay, so that its hold
                -- only ever shrinks, whatever the space's buffers have become.
                UPDATE holds
                SET during = tstzrange(NEW.start_time - (OLD.start_time - lower(during)),
                                       NEW.end_time + (upper(during) - OLD.end_time)),
                    lapses_at = lapses
                WHERE reservation_id = NEW.id;
                RETURN NULL;
            END IF;
            SELECT tstzrange(NEW.start_time - make_interval(mins => s.buffer_before_minutes),
                             NEW.end_time + make_interval(mins => s.buffer_after_minutes))
            INTO padded FROM spaces s WHERE s.id = NEW.space_id;
            IF held THEN  -- moved or longer: it holds already
                UPDATE holds SET space_id = NEW.space_id, during = padded, lapses_at = lapses
                WHERE reservation_id = NEW.id;
            ELSE
                INSERT INTO holds (space_id, during, reservation_id, lapses_at)
                VALUES (NEW.space_id, padded, NEW.id, lapses);
            END IF;
            RETURN NULL;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute(
        """
        CREATE OR REPLACE FUNCTION reservations_hold_their_time() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            padded tstzrange;
            lapses timestamptz := CASE WHEN NEW.checked_in_at IS NULL THEN NEW.check_in_by END;
        BEGIN
            IF TG_OP = 'UPDATE' AND NEW.status = OLD.status AND NEW.start_time = OLD.start_time
               AND NEW.end_time = OLD.end_time AND NEW.space_id = OLD.space_id THEN
                IF NEW.status = 'active' AND (NEW.checked_in_at IS DISTINCT FROM OLD.checked_in_at
                                              OR NEW.check_in_by IS DISTINCT FROM OLD.check_in_by) THEN
                    UPDATE holds SET lapses_at = lapses WHERE reservation_id = NEW.id;
                END IF;
                RETURN NULL;  -- same time: the hold, and the buffers it was padded with, stay
            END IF;
            IF NEW.status <> 'active' THEN
                DELETE FROM holds WHERE reservation_id = NEW.id;
                RETURN NULL;
            END IF;
            IF TG_OP = 'UPDATE' AND OLD.status = 'active' AND NEW.space_id = OLD.space_id
               AND NEW.start_time >= OLD.start_time AND NEW.end_time <= OLD.end_time THEN
                -- Shorter (ended early, say): the buffers it was booked with stay, so that its hold
                -- only ever shrinks, whatever the space's buffers have become.
                UPDATE holds
                SET during = tstzrange(NEW.start_time - (OLD.start_time - lower(during)),
                                       NEW.end_time + (upper(during) - OLD.end_time)),
                    lapses_at = lapses
                WHERE reservation_id = NEW.id;
                RETURN NULL;
            END IF;
            SELECT tstzrange(NEW.start_time - make_interval(mins => s.buffer_before_minutes),
                             NEW.end_time + make_interval(mins => s.buffer_after_minutes))
            INTO padded FROM spaces s WHERE s.id = NEW.space_id;
            IF TG_OP = 'UPDATE' AND OLD.status = 'active' THEN  -- moved or longer: it holds already
                UPDATE holds SET space_id = NEW.space_id, during = padded, lapses_at = lapses
                WHERE reservation_id = NEW.id;
            ELSE
                INSERT INTO holds (space_id, during, reservation_id, lapses_at)
                VALUES (NEW.space_id, padded, NEW.id, lapses);
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "UPDATE reservations SET status = 'cancelled', cancelled_at = now() "
        "WHERE status IN ('pending', 'declined', 'expired')"
    )
    op.execute(
        """
        ALTER TABLE reservations
            DROP CONSTRAINT pending_has_decide_by,
            DROP CONSTRAINT valid_status,
            ADD CONSTRAINT valid_status CHECK (status IN ('active', 'cancelled', 'completed', 'released')),
            DROP COLUMN decide_by, DROP COLUMN decided_at, DROP COLUMN decided_by, DROP COLUMN decision_reason
        """
    )
    op.execute("DROP TABLE space_managers")
    op.execute("ALTER TABLE spaces DROP COLUMN requires_approval")
