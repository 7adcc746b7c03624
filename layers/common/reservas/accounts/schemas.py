"""What the auth and users routes take and give."""

from __future__ import annotations

import json
import math
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    model_validator,
)

from reservas import text
from reservas.passwords import MAX_LENGTH, MIN_LENGTH, password_problems

PREFERENCES_MAX_BYTES = 4096
PREFERENCES_MAX_DEPTH = 8


def normalise_email(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _mailable(value: str) -> str:
    """The address as mail servers take it: ASCII, an international domain in its Punycode form (Amazon
    SES, like most, takes nothing else); an address whose local part is not ASCII is refused."""
    from email_validator import EmailNotValidError, validate_email

    try:
        ascii_form = validate_email(value, allow_smtputf8=False, check_deliverability=False).ascii_email
    except EmailNotValidError as error:
        raise ValueError(f"not an address mail can be sent to: {error}") from None
    if ascii_form is None:
        raise ValueError("not an address mail can be sent to")
    return ascii_form.lower()


def _acceptable_password(password: str) -> str:
    problems = password_problems(password)
    if problems:
        raise ValueError("password " + "; ".join(problems))
    return password


def _depth(value: Any) -> int:
    """How deep objects and arrays nest (without recursion: the input may nest thousands deep)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, level)
            pending.extend((child, level + 1) for child in children)
    return deepest


def _as_stored(value: Any) -> Any:
    """The value as PostgreSQL's jsonb gives it back: numbers in plain decimal notation (1e308 comes back
    as 309 digits); NaN and infinities, which JSON has no place for, refused."""
    if isinstance(value, dict):
        return {key: _as_stored(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_stored(item) for item in value]
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("preferences may hold only finite numbers")
        return format(Decimal(repr(value)), "f")
    return value


def _small_preferences(preferences: dict[str, Any]) -> dict[str, Any]:
    """Stored only if it can be returned as it was sent: a few levels deep and a few KiB (as stored),
    as a client's settings are."""
    if _depth(preferences) > PREFERENCES_MAX_DEPTH:
        raise ValueError(f"preferences may nest at most {PREFERENCES_MAX_DEPTH} levels deep")
    try:
        stored = json.dumps(_as_stored(preferences), ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        raise ValueError("preferences must be valid Unicode text") from None
    if len(stored) > PREFERENCES_MAX_BYTES:
        raise ValueError(f"preferences must be at most {PREFERENCES_MAX_BYTES} bytes of JSON (as stored)")
    return preferences


Email = Annotated[
    EmailStr, BeforeValidator(normalise_email), AfterValidator(_mailable), Field(max_length=254)
]
NewPassword = Annotated[
    str,
    AfterValidator(_acceptable_password),
    Field(
        json_schema_extra={"minLength": MIN_LENGTH, "maxLength": MAX_LENGTH},
        description=f"{MIN_LENGTH} to {MAX_LENGTH} characters (at most 72 bytes in UTF-8), not a common "
        "or easily guessed password.",
    ),
]
AnyPassword = Annotated[str, Field(min_length=1, max_length=MAX_LENGTH * 4)]
Name = Annotated[str, text.Line(min_length=2, max_length=100)]
Preferences = Annotated[
    dict[str, Any],
    AfterValidator(_small_preferences),
    Field(
        description=f"A JSON object of the client's settings: at most {PREFERENCES_MAX_DEPTH} levels deep "
        f"and {PREFERENCES_MAX_BYTES} bytes."
    ),
]
RefreshToken = Annotated[str, Field(min_length=1, max_length=200)]


class RequestModel(BaseModel):
    # Unknown fields are refused, so nobody can slip in `role` or `id` (mass assignment).
    model_config = ConfigDict(extra="forbid", str_max_length=10_000)


Locale = Literal["en", "es"]
VerificationToken = Annotated[str, Field(min_length=1, max_length=200)]


class RegisterRequest(RequestModel):
    email: Email
    password: NewPassword
    name: Name
    locale: Locale | None = Field(default=None, description="The language of the messages we send.")


class VerifyRequest(RequestModel):
    token: VerificationToken = Field(description="From the link sent to the address.")
    password: AnyPassword


class PasswordResetRequest(RequestModel):
    email: Email


class PasswordReset(RequestModel):
    token: VerificationToken = Field(description="From the link sent to the address.")
    password: NewPassword


class Accepted(BaseModel):
    """The request is taken; what follows arrives by email (the answer is the same whoever asked)."""

    detail: str


class LoginRequest(RequestModel):
    email: Email
    password: AnyPassword


class RefreshRequest(RequestModel):
    refresh_token: RefreshToken


class LogoutRequest(RequestModel):
    refresh_token: RefreshToken


class ValidateRequest(RequestModel):
    token: Annotated[str, Field(min_length=1, max_length=4096)]


class UpdateMeRequest(RequestModel):
    name: Name | None = None
    preferences: Preferences | None = None
    email: Email | None = None
    password: NewPassword | None = None
    current_password: AnyPassword | None = None

    @model_validator(mode="after")
    def _sensitive_changes_need_the_current_password(self) -> UpdateMeRequest:
        if (self.email is not None or self.password is not None) and self.current_password is None:
            raise ValueError("current_password is required to change the email or the password")
        return self


Role = Literal["user", "admin"]


class RoleChange(RequestModel):
    role: Role = Field(description="`admin` may manage spaces, users and everyone's bookings.")


class Account(BaseModel):
    """Who someone is, as signing in answers it: nothing they wrote as free-form JSON."""

    id: uuid.UUID
    email: str
    name: str
    role: Role
    email_verified_at: datetime | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class DeleteMeRequest(RequestModel):
    current_password: AnyPassword


class User(Account):
    preferences: dict[str, Any]


class TokenPair(BaseModel):
    """Signing in and refreshing never depend on serializing what a user stored in `preferences`."""

    user: Account
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth token type, not a secret)
    expires_in: int = Field(description="Seconds until the access token expires.")


class TokenValidation(BaseModel):
    valid: Literal[True]
    claims: dict[str, Any]
