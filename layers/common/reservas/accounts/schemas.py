"""What the auth and users routes take and give."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, EmailStr, Field

from reservas.passwords import MAX_LENGTH, password_problems


def normalise_email(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _acceptable_password(password: str) -> str:
    problems = password_problems(password)
    if problems:
        raise ValueError("password " + "; ".join(problems))
    return password


Email = Annotated[EmailStr, BeforeValidator(normalise_email), Field(max_length=254)]
NewPassword = Annotated[str, AfterValidator(_acceptable_password)]
Name = Annotated[str, BeforeValidator(lambda v: v.strip() if isinstance(v, str) else v)]


class RequestModel(BaseModel):
    # Unknown fields are refused, so nobody can slip in `role` or `id` (mass assignment).
    model_config = ConfigDict(extra="forbid", str_max_length=10_000)


class RegisterRequest(RequestModel):
    email: Email
    password: NewPassword
    name: Annotated[Name, Field(min_length=2, max_length=100)]


class LoginRequest(RequestModel):
    email: Email
    password: Annotated[str, Field(min_length=1, max_length=MAX_LENGTH * 4)]


class User(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    role: Literal["user", "admin"]
    preferences: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class TokenPair(BaseModel):
    user: User
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth token type, not a secret)
    expires_in: int = Field(description="Seconds until the access token expires.")
