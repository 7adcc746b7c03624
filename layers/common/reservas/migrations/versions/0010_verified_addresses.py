"""Verified addresses and mail: an account is verified by a link sent to its address; a password is
reset by one; every message the notifier sends is sent once per event and person, every reminder once
per booking and start.

Accounts that exist before this migration were made under the old rules (no verification): they count
as verified from their creation, so nobody is locked out.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE users ADD COLUMN email_verified_at timestamptz")
    op.execute("UPDATE users SET email_verified_at = created_at")
    # Single-use links sent by email to `email`: 'verify' proves that address is the person's (a new
    # account's, or the one they change to), 'reset' lets them choose a new password. The row is made by
    # the request; the token by the notifier when it sends the message, which keeps only its hash: the
    # token itself is never stored, nor carried by an event.
    op.execute(
        """
        CREATE TABLE account_tokens (
            id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            purpose     varchar(10) NOT NULL,
            email       varchar(254) NOT NULL,
            -- An address change: the session that asked, which goes on when the address changes.
            session_id  uuid REFERENCES sessions (id) ON DELETE SET NULL,
            -- A registration of an address nobody verified: what it asked for, which the account takes
            -- when this link is confirmed with this password (registrations never overwrite each other).
            password_hash varchar(255),
            name        varchar(100),
            locale      varchar(5),
            token_hash  bytea       UNIQUE,
            created_at  timestamptz NOT NULL DEFAULT now(),
            issued_at   timestamptz,
            expires_at  timestamptz,
            used_at     timestamptz,
            CONSTRAINT account_tokens_purpose CHECK (purpose IN ('verify', 'reset')),
            CONSTRAINT account_tokens_issued CHECK ((token_hash IS NULL) = (issued_at IS NULL)
                                                    AND (issued_at IS NULL) = (expires_at IS NULL))
        )
        """
    )
    op.execute("CREATE INDEX idx_account_tokens_user ON account_tokens (user_id, purpose, issued_at)")
    # What the notifier has sent: one message per outbox event and person, however often EventBridge
    # delivers the event or the outbox republishes it.
    op.execute(
        """
        CREATE TABLE deliveries (
            event_id   bigint      NOT NULL,
            user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            kind       varchar(40) NOT NULL,
            sent_at    timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (event_id, user_id)
        )
        """
    )
    op.execute("CREATE INDEX idx_deliveries_user ON deliveries (user_id, kind, sent_at)")
    # Reminders sent: one per booking and start (a booking moved is reminded of its new start).
    op.execute(
        """
        CREATE TABLE reminders (
            reservation_id uuid        NOT NULL REFERENCES reservations (id) ON DELETE CASCADE,
            start_time     timestamptz NOT NULL,
            sent_at        timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (reservation_id, start_time)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE reminders")
    op.execute("DROP TABLE deliveries")
    op.execute("DROP TABLE account_tokens")
    op.execute("ALTER TABLE users DROP COLUMN email_verified_at")
