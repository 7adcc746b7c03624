"""What the auth and users routes take (sign up, sign in, verify, reset, change one's account) and what
they answer with tokens; only those two functions load it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from reservas.accounts.schemas import Account, AnyPassword, Email, Name, NewPassword, Preferences, Role
from reservas.models import Model

RefreshToken = Annotated[str, Field(min_length=1, max_length=200)]


class RequestModel(Model):
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


class Accepted(Model):
    """The request is taken; what follows arrives by email (the answer is the same whoever asked)."""

    detail: str


class LoginRequest(RequestModel):
    email: Email
    password: AnyPassword


class RefreshRequest(RequestModel):
    refresh_token: RefreshToken | None = Field(
        default=None,
        description="Required unless the request carries `X-Refresh-Cookie: 1`, which takes it from the "
        "`reservas_refresh` cookie instead (browsers).",
    )


class LogoutRequest(RequestModel):
    refresh_token: RefreshToken | None = Field(
        default=None,
        description="Required unless the request carries `X-Refresh-Cookie: 1`: then the session of the "
        "`reservas_refresh` cookie ends (and the cookie is cleared).",
    )


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


class RoleChange(RequestModel):
    role: Role = Field(description="`admin` may manage spaces, users and everyone's bookings.")


class DeleteMeRequest(RequestModel):
    current_password: AnyPassword


class TokenPair(Model):
    """Signing in and refreshing never depend on serializing what a user stored in `preferences`."""

    user: Account
    access_token: str
    refresh_token: str | None = Field(
        description="Null when it went into the `reservas_refresh` cookie instead (the request carried "
        "`X-Refresh-Cookie: 1`)."
    )
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth token type, not a secret)
    expires_in: int = Field(description="Seconds until the access token expires.")
    # When the refresh token's session ends: the cookie's Max-Age (never serialized).
    _refresh_expires_at: datetime | None = PrivateAttr(default=None)

    @property
    def refresh_expires_at(self) -> datetime | None:
        return self._refresh_expires_at


class TokenValidation(Model):
    valid: Literal[True]
    claims: dict[str, Any]
