"""SQLAlchemy Core tables for queries. The migrations own the DDL; a test keeps the two alike."""

from typing import Any

from sqlalchemy import (
    ARRAY,
    CHAR,
    JSON,
    BigInteger,
    Boolean,
    Column,
    Computed,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.types import UserDefinedType

metadata = MetaData()

# The jsonb columns are declared with SQLAlchemy's generic JSON: declaring JSONB would import the whole
# PostgreSQL dialect at cold start (about 25 ms per function) instead of at the first query.
JSONB = JSON


class _Range(UserDefinedType[Any]):
    """A PostgreSQL range column, named without importing the PostgreSQL dialect (see JSONB above).
    Queries read its bounds with lower() and upper()."""

    cache_ok = True

    def __init__(self, name: str) -> None:
        self.name = name

    def get_col_spec(self, **_: Any) -> str:
        return self.name.upper()


def _uuid_pk() -> Column[Any]:
    return Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()"))


def _timestamps() -> list[Column[Any]]:
    return [
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    ]


users = Table(
    "users",
    metadata,
    _uuid_pk(),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("name", String(100), nullable=False),
    Column("role", String(20), nullable=False, server_default="user"),
    Column("preferences", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("email_verified_at", DateTime(timezone=True)),
    *_timestamps(),
)

spaces = Table(
    "spaces",
    metadata,
    _uuid_pk(),
    Column("name", String(255), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("capacity", Integer, nullable=False),
    Column("location", String(255), nullable=False, server_default=""),
    Column("amenities", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("opening_hours", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("price_per_hour", Numeric(16, 4), nullable=False, server_default="0"),
    Column("currency", String(3), nullable=False, server_default="EUR"),
    Column("min_duration_minutes", Integer, nullable=False, server_default="30"),
    Column("max_duration_minutes", Integer, nullable=False, server_default="480"),
    Column("slot_minutes", Integer, nullable=False, server_default="30"),
    Column("max_advance_days", Integer, nullable=False, server_default="90"),
    Column("buffer_before_minutes", Integer, nullable=False, server_default="0"),
    Column("buffer_after_minutes", Integer, nullable=False, server_default="0"),
    Column("check_in_required", Boolean, nullable=False, server_default=text("false")),
    Column("requires_approval", Boolean, nullable=False, server_default=text("false")),
    Column("check_in_opens_minutes", Integer, nullable=False, server_default="15"),
    Column("check_in_grace_minutes", Integer, nullable=False, server_default="15"),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    *_timestamps(),
)

reservations = Table(
    "reservations",
    metadata,
    _uuid_pk(),
    # NULL once its booker left: the space's history stays, without a person in it.
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="SET NULL")),
    Column("space_id", Uuid, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=False),
    Column("end_time", DateTime(timezone=True), nullable=False),
    Column("status", String(20), nullable=False, server_default="active"),
    Column("attendees", Integer, nullable=False, server_default="1"),
    Column("notes", Text, nullable=False, server_default=""),
    Column("cost", Numeric(16, 4), nullable=False, server_default="0"),
    Column("currency", String(3), nullable=False, server_default="EUR"),
    Column("cancelled_at", DateTime(timezone=True)),
    *_timestamps(),
    Column("series_id", Uuid, ForeignKey("series.id", ondelete="SET NULL")),
    Column("recurrence_id", DateTime(timezone=True)),  # an occurrence's start as its rule gave it
    Column("check_in_by", DateTime(timezone=True)),  # set by the database where check-in is required
    Column("checked_in_at", DateTime(timezone=True)),
    Column("released_at", DateTime(timezone=True)),
    Column("decide_by", DateTime(timezone=True)),  # a pending booking expires then
    Column("decided_at", DateTime(timezone=True)),
    Column("decided_by", Uuid, ForeignKey("users.id", ondelete="SET NULL")),
    Column("decision_reason", String(500), nullable=False, server_default=""),
)

space_managers = Table(
    "space_managers",
    metadata,
    Column("space_id", Uuid, ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)

series = Table(
    "series",
    metadata,
    _uuid_pk(),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="SET NULL")),
    Column("space_id", Uuid, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
    Column("rule", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

closures = Table(
    "closures",
    metadata,
    _uuid_pk(),
    Column("space_id", Uuid, ForeignKey("spaces.id", ondelete="CASCADE")),
    Column("location", String(255)),
    Column("start_time", DateTime(timezone=True), nullable=False),
    Column("end_time", DateTime(timezone=True), nullable=False),
    Column("reason", String(255), nullable=False, server_default=""),
    Column("created_by", Uuid, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

# People waiting for a taken interval (reservations.waitlist).
waitlist = Table(
    "waitlist",
    metadata,
    _uuid_pk(),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("space_id", Uuid, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=False),
    Column("end_time", DateTime(timezone=True), nullable=False),
    Column("attendees", Integer, nullable=False, server_default="1"),
    Column("notes", Text, nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("reservation_id", Uuid, ForeignKey("reservations.id", ondelete="SET NULL")),
    Column("promoted_at", DateTime(timezone=True)),
)

# A space's check-in code (spaces.check_in): readable through the admins' route only.
check_in_codes = Table(
    "check_in_codes",
    metadata,
    Column("space_id", Uuid, ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True),
    Column("code", String(64), nullable=False),
    Column("rotated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

# What holds a space's time: written by the migrations' trigger for bookings, by the code for closures.
# Its exclusion constraint is the no-overlap guarantee (migrations/versions/0006).
holds = Table(
    "holds",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("space_id", Uuid, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
    Column("during", _Range("tstzrange"), nullable=False),
    Column("reservation_id", Uuid, ForeignKey("reservations.id", ondelete="CASCADE"), unique=True),
    Column("closure_id", Uuid, ForeignKey("closures.id", ondelete="CASCADE")),
    Column("excludes", _Range("int8range"), Computed("0"), nullable=True),
    Column("lapses_at", DateTime(timezone=True)),  # a booking not checked in by then holds nothing
)

sessions = Table(
    "sessions",
    metadata,
    _uuid_pk(),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_reason", String(40)),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    _uuid_pk(),
    Column("session_id", Uuid, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("used_at", DateTime(timezone=True)),
)

account_tokens = Table(
    "account_tokens",
    metadata,
    _uuid_pk(),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("purpose", String(10), nullable=False),  # 'verify' | 'reset'
    Column("email", String(254), nullable=False),  # where it is sent (and what 'verify' proves)
    # An address change: the session that asked, which goes on when the address changes.
    Column("session_id", Uuid, ForeignKey("sessions.id", ondelete="SET NULL")),
    # A registration of an address nobody verified: what the account takes when this link is confirmed.
    Column("password_hash", String(255)),
    Column("name", String(100)),
    Column("locale", String(5)),
    Column("token_hash", LargeBinary, unique=True),  # made by the notifier as it sends the link
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("issued_at", DateTime(timezone=True)),
    Column("expires_at", DateTime(timezone=True)),
    Column("used_at", DateTime(timezone=True)),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("event_id", BigInteger, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

reminders = Table(
    "reminders",
    metadata,
    Column("reservation_id", Uuid, ForeignKey("reservations.id", ondelete="CASCADE"), primary_key=True),
    Column("start_time", DateTime(timezone=True), primary_key=True),
    Column("sent_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

# Each person's private calendar feed, reached by a token of which only the hash is kept.
calendar_feeds = Table(
    "calendar_feeds",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

api_keys = Table(
    "api_keys",
    metadata,
    _uuid_pk(),
    Column("name", String(100), nullable=False),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("scopes", ARRAY(Text), nullable=False),
    Column("key_hash", LargeBinary, nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_by", Uuid, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
)

webhooks = Table(
    "webhooks",
    metadata,
    _uuid_pk(),
    Column("url", String(2048), nullable=False),
    Column("description", String(200), nullable=False, server_default=""),
    Column("event_types", ARRAY(Text), nullable=False),
    # The signing key itself (whsec_...): deliveries are signed with it, so it is kept, not hashed.
    Column("secret", Text, nullable=False),
    Column("previous_secret", Text),
    Column("previous_secret_until", DateTime(timezone=True)),
    Column("created_by", Uuid, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    _uuid_pk(),
    Column("webhook_id", Uuid, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("message_id", String(64), nullable=False),
    Column("event_id", BigInteger),
    Column("event_type", String(64), nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("state", String(10), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("last_attempt_at", DateTime(timezone=True)),
    Column("last_status", Integer),
    Column("last_error", String(300)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("delivered_at", DateTime(timezone=True)),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("event_type", String(64), nullable=False),
    Column("aggregate_id", Uuid, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("published_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", CHAR(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response_body", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# audit.log: append-only for the functions (see migrations/versions/0005 and reservas.audit).
audit_log = Table(
    "log",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("actor_id", Uuid, ForeignKey("users.id", deferrable=True, initially="DEFERRED")),
    Column("actor_address", String(64)),
    Column("action", String(64), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("entity_id", Uuid),
    Column("subject_id", Uuid, ForeignKey("users.id", deferrable=True, initially="DEFERRED")),
    Column("before", JSONB(none_as_null=True)),  # None is SQL NULL (nothing), not the JSON null
    Column("after", JSONB(none_as_null=True)),
    Column("actor_key_id", Uuid),
    schema="audit",
)

# Accounts whose audit entries were erased; written only by audit.erase_person (never by the code).
erased_accounts = Table(
    "erased_accounts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("erased_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    schema="audit",
)
