"""Everything that holds a space's time in one table, `holds`, whose exclusion constraint is the promise:
bookings (with the space's buffers around them), closures, and the occurrences of a series (which are
bookings). Two holds of one space never overlap, except two closures, which may.

A booking's hold is written by a trigger with the row, so no code path can book without it: an active
reservation holds [start - buffer_before, end + buffer_after) of its space, with the space's buffers as
they are when it is booked, moved or made longer (a shorter time keeps the buffers it had); a cancelled
one holds nothing. A closure holds each space it covers
for exactly its time.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

MAX_BUFFER_MINUTES = 1440


def upgrade() -> None:
    op.execute(
        f"""
        ALTER TABLE spaces
            ADD COLUMN buffer_before_minutes integer NOT NULL DEFAULT 0,
            ADD COLUMN buffer_after_minutes  integer NOT NULL DEFAULT 0,
            ADD CONSTRAINT spaces_valid_buffers CHECK (
                buffer_before_minutes BETWEEN 0 AND {MAX_BUFFER_MINUTES}
                AND buffer_after_minutes BETWEEN 0 AND {MAX_BUFFER_MINUTES}
            )
        """
    )
    op.execute(
        """
        CREATE TABLE series (
            id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id    uuid REFERENCES users (id) ON DELETE SET NULL,
            space_id   uuid        NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
            rule       varchar(255) NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("ALTER TABLE reservations ADD COLUMN series_id uuid REFERENCES series (id) ON DELETE SET NULL")
    # An occurrence's start as its series' rule gave it (RFC 5545's RECURRENCE-ID): moved away from it,
    # the occurrence counts on its own against the cap on upcoming bookings.
    op.execute("ALTER TABLE reservations ADD COLUMN recurrence_id timestamptz")
    op.execute(
        "CREATE INDEX idx_reservations_series ON reservations (series_id, start_time) "
        "WHERE series_id IS NOT NULL"
    )
    op.execute(
        """
        CREATE TABLE closures (
            id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            -- One space, or every space whose location is this text, now and created later.
            space_id   uuid REFERENCES spaces (id) ON DELETE CASCADE,
            location   varchar(255),
            start_time timestamptz NOT NULL,
            end_time   timestamptz NOT NULL,
            reason     varchar(255) NOT NULL DEFAULT '',
            created_by uuid REFERENCES users (id) ON DELETE SET NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT closures_valid_time_range CHECK (end_time > start_time),
            CONSTRAINT closures_space_or_location CHECK ((space_id IS NULL) <> (location IS NULL))
        )
        """
    )
    op.execute("CREATE INDEX idx_closures_space ON closures (space_id, end_time) WHERE space_id IS NOT NULL")
    op.execute(
        "CREATE INDEX idx_closures_location ON closures (location, end_time) WHERE location IS NOT NULL"
    )
    op.execute(
        """
        CREATE TABLE holds (
            id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            space_id       uuid      NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
            during         tstzrange NOT NULL,
            reservation_id uuid UNIQUE REFERENCES reservations (id) ON DELETE CASCADE,
            closure_id     uuid REFERENCES closures (id) ON DELETE CASCADE,
            -- Whom a hold excludes: a booking's (-inf, inf) meets every other hold's; each closure's is
            -- a range of its own hold id, so closures overlap each other but nothing else.
            excludes       int8range GENERATED ALWAYS AS (
                CASE WHEN closure_id IS NULL THEN '(,)'::int8range ELSE int8range(id, id, '[]') END
            ) STORED,
            CONSTRAINT holds_one_holder CHECK ((reservation_id IS NULL) <> (closure_id IS NULL)),
            CONSTRAINT holds_not_empty CHECK (NOT isempty(during)),
            CONSTRAINT holds_one_per_closure_and_space UNIQUE (closure_id, space_id),
            -- The guarantee: nothing that holds a space's time overlaps a booking of it.
            CONSTRAINT holds_no_overlap EXCLUDE USING gist (
                space_id WITH =,
                during WITH &&,
                excludes WITH &&
            )
        )
        """
    )
    op.execute(
        """
        CREATE FUNCTION reservations_hold_their_time() RETURNS trigger LANGUAGE plpgsql AS $$
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
    op.execute(
        "CREATE TRIGGER reservations_hold_their_time AFTER INSERT OR UPDATE ON reservations "
        "FOR EACH ROW EXECUTE FUNCTION reservations_hold_their_time()"
    )
    op.execute(
        "INSERT INTO holds (space_id, during, reservation_id) "
        "SELECT space_id, tstzrange(start_time, end_time), id FROM reservations WHERE status = 'active'"
    )
    # Superseded by holds_no_overlap, which covers everything that holds time, not bookings alone.
    op.execute("ALTER TABLE reservations DROP CONSTRAINT reservations_no_overlap")


def downgrade() -> None:
    op.execute(
        "ALTER TABLE reservations ADD CONSTRAINT reservations_no_overlap EXCLUDE USING gist ("
        "space_id WITH =, tstzrange(start_time, end_time) WITH &&) WHERE (status = 'active')"
    )
    op.execute("DROP TRIGGER reservations_hold_their_time ON reservations")
    op.execute("DROP FUNCTION reservations_hold_their_time()")
    op.execute("DROP TABLE holds")
    op.execute("DROP TABLE closures")
    op.execute("ALTER TABLE reservations DROP COLUMN recurrence_id, DROP COLUMN series_id")
    op.execute("DROP TABLE series")
    op.execute(
        "ALTER TABLE spaces DROP CONSTRAINT spaces_valid_buffers, "
        "DROP COLUMN buffer_before_minutes, DROP COLUMN buffer_after_minutes"
    )
