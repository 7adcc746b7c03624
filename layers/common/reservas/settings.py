"""Settings, read once per container from the environment; in AWS, secrets come from Secrets Manager.

Every field is read from `RESERVAS_<FIELD>` (or its alias, such as DATABASE_URL) and validated by
pydantic. A plain pydantic model reading os.environ, rather than pydantic-settings: the same result
for flat settings like these, and 15 ms less on every cold start."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from reservas.rate_windows import parse_limits

Stage = Literal["local", "test", "dev", "staging", "prod"]
LOCAL_STAGES = ("local", "test")

# Used only when a local or test run sets no key of its own; refused everywhere else.
LOCAL_DEVELOPMENT_JWT_KEY = "reservas-local-development-key-do-not-deploy"
MIN_JWT_KEY_BYTES = 32
KNOWN_WEAK_KEYS = frozenset(
    {
        LOCAL_DEVELOPMENT_JWT_KEY,
        "secret",
        "changeme",
        "change-me",
        "jwt-secret",
        "your-secret-key",
        "password",
    }
)


class Settings(BaseModel):
    # Errors are logged: they name what is wrong without quoting the values, secrets among them.
    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    stage: Stage = "local"

    # PostgreSQL: a URL (local runs, tests) or the ARN of an RDS-shaped secret (AWS).
    database_url: SecretStr | None = Field(default=None, validation_alias="DATABASE_URL")
    database_secret_arn: str | None = None
    # MigrateFunction only: the functions' own login, which it makes and completes (migrations/roles.py).
    functions_database_secret_arn: str | None = None
    # Where to connect instead of the secret's host: RDS Proxy's endpoint, in front of the database.
    database_host: str | None = None
    db_pool_size: int = Field(default=1, ge=1, le=50)
    # The longest one database call may take (connect, or one round trip); see database.build_engine.
    db_timeout_seconds: float = Field(default=2, gt=0, le=60)

    # Redis: caching and rate limits. Empty means no Redis (features that need it degrade gracefully).
    redis_url: SecretStr | None = Field(default=None, validation_alias="REDIS_URL")
    # A Redis or Valkey cluster (ElastiCache Serverless is one): the cache and the rate limits use
    # cluster clients, which follow the cluster's slots.
    redis_cluster: bool = False
    # The longest a cached answer lives: how stale one can be after Redis lost an invalidation.
    cache_ttl_seconds: int = Field(default=55, ge=1, le=3600)

    # JSON Web Tokens: the key itself (local runs, tests) or the ARN of a secret holding it (AWS).
    jwt_secret: SecretStr | None = None
    jwt_previous_secret: SecretStr | None = None  # still accepted while a rotation settles
    jwt_secret_arn: str | None = None
    jwt_issuer: str = "reservas"
    jwt_audience: str = "reservas-api"
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=30, ge=1, le=365)

    bcrypt_rounds: int = Field(default=12, ge=4, le=16)

    # Rate limits per client IP (`100/minute;20/second`, `5 per 15 minutes`: rate_windows); the second
    # figure caps bursts.
    rate_limits_enabled: bool = True
    rate_limit_auth: str = "10/minute;5/second"
    rate_limit_default: str = "100/minute;20/second"
    rate_limit_feeds: str = "1200/minute;100/second"  # calendar feeds, fetched from shared addresses
    rate_limit_api_key: str = "600/minute;20/second"  # per API key, from wherever it is used
    login_failure_limit: str = "5 per 15 minutes"  # sign-in attempts per account and client address
    login_failure_limit_per_account: str = "50 per 15 minutes"  # per account, from any addresses
    # Links sent by email: how long they work, and how many of a kind a person is sent in an hour.
    verification_hours: int = Field(default=24, ge=1, le=24 * 14)
    password_reset_minutes: int = Field(default=30, ge=5, le=24 * 60)
    account_mails_per_hour: int = Field(default=3, ge=1, le=100)
    # Booking reminders go this long before the start (the notifier looks every 5 minutes).
    reminder_minutes: int = Field(default=60, ge=10, le=7 * 24 * 60)
    # Mail: the sender (verified in SES), or a folder to write messages to instead (local runs).
    mail_from: str | None = None
    mail_folder: str | None = None
    # Bookings
    max_active_reservations: int = Field(default=10, ge=1, le=10_000)  # future ones, per user
    # A booking that needs approval expires when nobody decided it within this time (or by its start).
    approval_hours: int = Field(default=48, ge=1, le=24 * 30)
    # Where people open the web page (https://rooms.example.org): check-in QR codes point there.
    public_url: str | None = None
    event_bus_name: str | None = None  # the EventBridge bus every event is published to
    # How long the audit log keeps an entry; written into the database by the migrations.
    audit_retention_days: int = Field(default=365, ge=1, le=36_500)

    # Webhooks: internal networks (comma-separated CIDRs) whose receivers may be registered and reached,
    # over http too; empty allows public addresses only. Link-local (169.254.0.0/16, fe80::/10) never.
    webhook_private_networks: str = Field(default="", max_length=2000)

    # Behind the stack's CloudFront distribution: the proof it adds to every API request (the value
    # itself in tests, the ARN of the secret holding it in AWS); see viewer_address.
    origin_secret: SecretStr | None = None
    origin_secret_arn: str | None = None

    secrets_max_age_seconds: int = Field(default=300, ge=0)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        values = {}
        for name, field in cls.model_fields.items():
            alias = field.validation_alias
            variable = alias if isinstance(alias, str) else f"RESERVAS_{name.upper()}"
            if variable in environ:
                values[variable if field.validation_alias else name] = environ[variable]
        return cls.model_validate(values)

    @field_validator(
        "rate_limit_auth",
        "rate_limit_default",
        "rate_limit_feeds",
        "rate_limit_api_key",
        "login_failure_limit",
        "login_failure_limit_per_account",
    )
    @classmethod
    def _readable_rate_limits(cls, notation: str) -> str:
        parse_limits(notation)
        return notation

    @model_validator(mode="after")
    def _refuse_weak_keys_outside_local_runs(self) -> Settings:
        if self.is_local:
            return self
        if self.jwt_secret is None and not self.jwt_secret_arn:
            raise ValueError(
                "RESERVAS_JWT_SECRET_ARN (or RESERVAS_JWT_SECRET) is required outside local runs"
            )
        if self.jwt_secret is not None:
            check_jwt_key_strength(self.jwt_secret.get_secret_value())
        if self.database_url is None and not self.database_secret_arn:
            raise ValueError("RESERVAS_DATABASE_SECRET_ARN (or DATABASE_URL) is required outside local runs")
        return self

    @property
    def is_local(self) -> bool:
        return self.stage in LOCAL_STAGES


def check_jwt_key_strength(key: str) -> None:
    """Refuse keys that are known defaults or shorter than 256 bits."""
    if key in KNOWN_WEAK_KEYS:
        raise ValueError("the JWT key is a known default; generate one with `openssl rand -base64 48`")
    if len(key.encode()) < MIN_JWT_KEY_BYTES:
        raise ValueError(f"the JWT key must be at least {MIN_JWT_KEY_BYTES} bytes (256 bits)")


@functools.cache
def get_settings() -> Settings:
    return Settings.from_environment()
