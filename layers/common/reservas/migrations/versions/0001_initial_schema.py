"""The initial schema: users, spaces, reservations (with the no-double-booking guarantee), sessions.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(
        """
        CREATE FUNCTION update_updated_at_column() RETURNS trigger AS $$
        BEGIN
            NEW.updated_at = now();
            RETURN NEW;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        """
        CREATE TABLE users (
            id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            email         varchar(254) NOT NULL UNIQUE,
            password_hash varchar(255) NOT NULL,
            name          varchar(100) NOT NULL,
            role          varchar(20)  NOT NULL DEFAULT 'user',
            preferences   jsonb        NOT NULL DEFAULT '{}'::jsonb,
            created_at    timestamptz  NOT NULL DEFAULT now(),
            updated_at    timestamptz  NOT NULL DEFAULT now(),
            CONSTRAINT users_email_normalised CHECK (email = lower(btrim(email))),
            CONSTRAINT users_valid_role CHECK (role IN ('user', 'admin')),
            CONSTRAINT users_preferences_object CHECK (jsonb_typeof(preferences) = 'object')
        )
        """
    )
    op.execute(
        """
        CREATE TABLE spaces (
            id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            name                 varchar(255)  NOT NULL,
            description          text          NOT NULL DEFAULT '',
            capacity             integer       NOT NULL,
            location             varchar(255)  NOT NULL DEFAULT '',
            amenities            jsonb         NOT NULL DEFAULT '[]'::jsonb,
            timezone             varchar(64)   NOT NULL DEFAULT 'UTC',
            opening_hours        jsonb         NOT NULL DEFAULT '{}'::jsonb,
            price_per_hour       numeric(12,2) NOT NULL DEFAULT 0,
            currency             varchar(3)    NOT NULL DEFAULT 'EUR',
            min_duration_minutes integer       NOT NULL DEFAULT 30,
            max_duration_minutes integer       NOT NULL DEFAULT 480,
            slot_minutes         integer       NOT NULL DEFAULT 30,
            max_advance_days     integer       NOT NULL DEFAULT 90,
            is_active            boolean       NOT NULL DEFAULT true,
            created_at           timestamptz   NOT NULL DEFAULT now(),
            updated_at           timestamptz   NOT NULL DEFAULT now(),
            CONSTRAINT spaces_valid_capacity CHECK (capacity >= 1),
            CONSTRAINT spaces_amenities_array CHECK (jsonb_typeof(amenities) = 'array'),
            CONSTRAINT spaces_opening_hours_object CHECK (jsonb_typeof(opening_hours) = 'object'),
            CONSTRAINT spaces_valid_price CHECK (price_per_hour >= 0),
            CONSTRAINT spaces_valid_currency CHECK (currency ~ '^[A-Z]{3}$'),
            CONSTRAINT spaces_valid_durations CHECK (
                min_duration_minutes > 0 AND max_duration_minutes >= min_duration_minutes
            ),
            CONSTRAINT spaces_valid_slot CHECK (slot_minutes BETWEEN 1 AND 1440),
            CONSTRAINT spaces_valid_advance CHECK (max_advance_days >= 0)
        )
        """
    )
    op.execute("CREATE INDEX idx_spaces_active ON spaces (is_active)")
    op.execute(
        """
        CREATE TABLE reservations (
            id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id      uuid          NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            space_id     uuid          NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
            start_time   timestamptz   NOT NULL,
            end_time     timestamptz   NOT NULL,
            status       varchar(20)   NOT NULL DEFAULT 'active',
            attendees    integer       NOT NULL DEFAULT 1,
            notes        text          NOT NULL DEFAULT '',
            cost         numeric(12,2) NOT NULL DEFAULT 0,
            currency     varchar(3)    NOT NULL DEFAULT 'EUR',
            cancelled_at timestamptz,
            created_at   timestamptz   NOT NULL DEFAULT now(),
            updated_at   timestamptz   NOT NULL DEFAULT now(),
            CONSTRAINT valid_time_range CHECK (end_time > start_time),
            CONSTRAINT valid_status CHECK (status IN ('active', 'cancelled', 'completed')),
            CONSTRAINT cancelled_iff_cancelled_at CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
            CONSTRAINT valid_attendees CHECK (attendees >= 1),
            CONSTRAINT valid_cost CHECK (cost >= 0),
            -- The guarantee: two active reservations of one space never share an instant.
            -- Ranges are half-open, so back-to-back bookings (end == next start) do not clash.
            CONSTRAINT reservations_no_overlap EXCLUDE USING gist (
                space_id WITH =,
                tstzrange(start_time, end_time) WITH &&
            ) WHERE (status = 'active')
        )
        """
    )
    op.execute("CREATE INDEX idx_reservations_user ON reservations (user_id, start_time)")
    op.execute("CREATE INDEX idx_reservations_space ON reservations (space_id, start_time)")
    op.execute("CREATE INDEX idx_reservations_time ON reservations (start_time, end_time)")
    op.execute("CREATE INDEX idx_reservations_status ON reservations (status)")
    for table in ("users", "spaces", "reservations"):
        op.execute(
            f"CREATE TRIGGER update_{table}_updated_at BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION update_updated_at_column()"
        )
    # A session is what one login starts: its refresh tokens rotate inside it, and revoking it ends
    # every token of it, access tokens included (they carry the session id and are checked per request).
    op.execute(
        """
        CREATE TABLE sessions (
            id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id        uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            created_at     timestamptz NOT NULL DEFAULT now(),
            expires_at     timestamptz NOT NULL,
            revoked_at     timestamptz,
            revoked_reason varchar(40),
            CONSTRAINT sessions_revoked_with_reason CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
        )
        """
    )
    op.execute("CREATE INDEX idx_sessions_user ON sessions (user_id)")
    op.execute(
        """
        CREATE TABLE refresh_tokens (
            id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            session_id uuid        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            token_hash bytea       NOT NULL UNIQUE,
            created_at timestamptz NOT NULL DEFAULT now(),
            used_at    timestamptz
        )
        """
    )
    op.execute("CREATE INDEX idx_refresh_tokens_session ON refresh_tokens (session_id)")


def downgrade() -> None:
    for table in ("refresh_tokens", "sessions", "reservations", "spaces", "users"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    op.execute("DROP FUNCTION IF EXISTS update_updated_at_column()")
