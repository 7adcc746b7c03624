"""Check-in: a space may require people to check in to their bookings; a booking nobody checked in to by
the end of its grace period is released, and its time is free again.

A booking made in such a space gets `check_in_by` (its start plus the space's grace, at most its end),
set by a trigger with the row; moving its start sets it again (and asks for a new check-in), other
changes keep it, and ending a booking before it drops it (given back, not a no-show). Its hold lapses
then (`holds.lapses_at`) unless it was checked in: reads leave a lapsed hold out at once, and a write
that meets one releases it first.
The scheduled release function marks lapsed bookings `released`.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE spaces
            ADD COLUMN check_in_required      boolean NOT NULL DEFAULT false,
            ADD COLUMN check_in_opens_minutes integer NOT NULL DEFAULT 15,
            ADD COLUMN check_in_grace_minutes integer NOT NULL DEFAULT 15,
            ADD CONSTRAINT spaces_valid_check_in CHECK (
                check_in_opens_minutes BETWEEN 0 AND 1440 AND check_in_grace_minutes BETWEEN 0 AND 1440
            )
        """
    )
    op.execute(
        """
        ALTER TABLE reservations
            ADD COLUMN check_in_by   timestamptz,
            ADD COLUMN checked_in_at timestamptz,
            ADD COLUMN released_at   timestamptz,
            DROP CONSTRAINT valid_status,
            ADD CONSTRAINT valid_status CHECK (status IN ('active', 'cancelled', 'completed', 'released')),
            ADD CONSTRAINT released_iff_released_at CHECK ((status = 'released') = (released_at IS NOT NULL))
        """
    )
    op.execute(
        "CREATE INDEX idx_reservations_check_in_due ON reservations (check_in_by) "
        "WHERE status = 'active' AND checked_in_at IS NULL AND check_in_by IS NOT NULL"
    )
    op.execute("ALTER TABLE holds ADD COLUMN lapses_at timestamptz")
    # Each space's check-in code, printed as a QR code where the space is; rotating replaces it. Apart
    # from spaces, whose rows anyone may read.
    op.execute(
        """
        CREATE TABLE check_in_codes (
            space_id   uuid PRIMARY KEY REFERENCES spaces (id) ON DELETE CASCADE,
            code       varchar(64) NOT NULL,
            rotated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE FUNCTION reservations_check_in_by() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' OR NEW.start_time <> OLD.start_time THEN
                -- Booked or moved: the space's rules as they are now, and a check-in to come.
                IF TG_OP = 'UPDATE' THEN
                    NEW.checked_in_at := NULL;
                END IF;
                SELECT CASE WHEN s.check_in_required
                            THEN least(NEW.start_time + make_interval(mins => s.check_in_grace_minutes),
                                       NEW.end_time)
                       END
                INTO NEW.check_in_by FROM spaces s WHERE s.id = NEW.space_id;
            ELSIF NEW.end_time <> OLD.end_time AND NEW.end_time <= OLD.check_in_by THEN
                -- Ended before its check-in closed: given back, not a no-show.
                NEW.check_in_by := NULL;
            END IF;
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER reservations_check_in_by BEFORE INSERT OR UPDATE ON reservations "
        "FOR EACH ROW EXECUTE FUNCTION reservations_check_in_by()"
    )
    # The hold of a booking not checked in lapses at its check_in_by (the rest as in 0006).
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


def downgrade() -> None:
    op.execute("DROP TABLE check_in_codes")
    op.execute("DROP TRIGGER reservations_check_in_by ON reservations")
    op.execute("DROP FUNCTION reservations_check_in_by()")
    # 0006's hold trigger, which knows no lapsing.
    op.execute(
        """
        CREATE OR REPLACE FUNCTION reservations_hold_their_time() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            padded tstzrange;
        BEGIN
            IF TG_OP = 'UPDATE' AND NEW.status = OLD.status AND NEW.start_time = OLD.start_time
               AND NEW.end_time = OLD.end_time AND NEW.space_id = OLD.space_id THEN
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
                                       NEW.end_time + (upper(during) - OLD.end_time))
                WHERE reservation_id = NEW.id;
                RETURN NULL;
            END IF;
            SELECT tstzrange(NEW.start_time - make_interval(mins => s.buffer_before_minutes),
                             NEW.end_time + make_interval(mins => s.buffer_after_minutes))
            INTO padded FROM spaces s WHERE s.id = NEW.space_id;
            IF TG_OP = 'UPDATE' AND OLD.status = 'active' THEN  -- moved or longer: it holds already
                UPDATE holds SET space_id = NEW.space_id, during = padded WHERE reservation_id = NEW.id;
            ELSE
                INSERT INTO holds (space_id, during, reservation_id) VALUES (NEW.space_id, padded, NEW.id);
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute("ALTER TABLE holds DROP COLUMN lapses_at")
    op.execute(
        "UPDATE reservations SET status = 'cancelled', cancelled_at = released_at WHERE status = 'released'"
    )
    op.execute(
        """
        ALTER TABLE reservations
            DROP CONSTRAINT released_iff_released_at,
            DROP CONSTRAINT valid_status,
            ADD CONSTRAINT valid_status CHECK (status IN ('active', 'cancelled', 'completed')),
            DROP COLUMN check_in_by, DROP COLUMN checked_in_at, DROP COLUMN released_at
        """
    )
    op.execute(
        "ALTER TABLE spaces DROP CONSTRAINT spaces_valid_check_in, DROP COLUMN check_in_required, "
        "DROP COLUMN check_in_opens_minutes, DROP COLUMN check_in_grace_minutes"
    )
