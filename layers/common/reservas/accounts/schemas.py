"""Who people are to every function (Account, User) and the rules of what they type (addresses,
passwords, names, preferences). What the auth and users routes take and answer is in accounts/requests.py."""

from __future__ import annotations

import json
import math
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
)

from reservas import text
from reservas.models import Model
from reservas.passwords import MAX_LENGTH, MIN_LENGTH, password_problems

PREFERENCES_MAX_BYTES = 4096
PREFERENCES_MAX_DEPTH = 8


def normalise_email(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _mailable(value: str) -> str:
    """A valid address, as mail servers take it: ASCII, an international domain in its Punycode form
    (Amazon SES, like most, takes nothing else); an address whose local part is not ASCII is refused.
    email-validator is loaded with the first address checked, not when a function starts."""
    from email_validator import EmailNotValidError, validate_email

    try:
        ascii_form = validate_email(value, allow_smtputf8=False, check_deliverability=False).ascii_email
    except EmailNotValidError as error:
        raise ValueError(f"value is not a valid email address: {error}") from None
    if ascii_form is None:
        raise ValueError("value is not a valid email address: mail cannot be sent to it")
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
    str,
    BeforeValidator(normalise_email),
    Field(max_length=254, json_schema_extra={"format": "email"}),
    AfterValidator(_mailable),
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
Role = Literal["user", "admin"]


class Account(Model):
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


class User(Account):
    preferences: dict[str, Any]
