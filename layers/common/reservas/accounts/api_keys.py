"""API keys: credentials for integrators that are not a person's password.

An admin makes a key for one account, with scopes and an expiry. The key acts as that account (with the
account's role as it is at each request), but only on the routes that name one of its scopes; it is
shown once, and only its hash is kept. Every request looks the key up, so a revoked or expired key is
refused at once; its last use is written at most once a minute."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import ConfigDict, Field
from sqlalchemy import Connection, func, insert, or_, select, update

from reservas import audit
from reservas.accounts import repository
from reservas.accounts.schemas import User
from reservas.database import after_key
from reservas.errors import NotFound, Unauthorized, Unprocessable
from reservas.models import Model
from reservas.pagination import Page, keyset, page
from reservas.tables import api_keys, users
from reservas.text import Line
from reservas.timestamps import Instant, parse_instant
from reservas.tokens import API_KEY_PREFIX as PREFIX
from reservas.tokens import ApiKeyScope as Scope

_KEY = re.compile(r"rsv_[A-Za-z0-9_-]{43}")
SHOWN_PREFIX_LENGTH = 12  # "rsv_" and 8 characters: enough to tell keys apart in a list
DEFAULT_LIFETIME = timedelta(days=90)
LONGEST_LIFETIME = timedelta(days=366)
LAST_USE_PRECISION = timedelta(minutes=1)


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class ApiKeyRequest(Model):
    model_config = ConfigDict(extra="forbid", str_max_length=10_000)

    name: Annotated[str, Line(min_length=1, max_length=100)] = Field(
        description="What the key is for, as admins will recognise it in the list."
    )
    user_id: uuid.UUID = Field(description="The account the key acts for.")
    scopes: list[Scope] = Field(min_length=1, max_length=3, description="What the key may do.")
    expires_at: Instant | None = Field(
        default=None, description="When the key stops working: within a year; in 90 days if not given."
    )


class ApiKey(Model):
    id: uuid.UUID
    name: str
    user_id: uuid.UUID = Field(description="The account the key acts for.")
    scopes: list[Scope]
    prefix: str = Field(
        description="The key's first characters, to recognise it; the key itself is not kept."
    )
    created_by: uuid.UUID | None = Field(
        description="The admin who made it; null once their account is gone."
    )
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(description="The last request made with it, to the minute.")


class ApiKeyCreated(ApiKey):
    key: str = Field(description="The key, shown this once: send it as `Authorization: Bearer <key>`.")


@dataclass(frozen=True)
class KeyHolder:
    """Who a request made with a key acts as, and with what."""

    key_id: uuid.UUID
    scopes: frozenset[str]
    user: User


_KEY_COLUMNS = [c for c in api_keys.c if c.name != "key_hash"]


def create(db: Connection, request: ApiKeyRequest, *, actor: audit.Actor) -> ApiKeyCreated:
    now = datetime.now(UTC)
    expires_at = request.expires_at or now + DEFAULT_LIFETIME
    if not now < expires_at <= now + LONGEST_LIFETIME:
        raise Unprocessable(
            "A key must expire in the future and within a year.",
            errors=[{"loc": ["expires_at"], "msg": "must be in the future and within a year"}],
        )
    account = repository.find_user_by_id(db, request.user_id)
    if account is None:
        raise Unprocessable(
            "No account has this id.", errors=[{"loc": ["user_id"], "msg": "no account has this id"}]
        )
    if account["email_verified_at"] is None:  # nobody has shown it is theirs: it is nobody's yet
        raise Unprocessable(
            "This account's address is not verified yet.",
            errors=[{"loc": ["user_id"], "msg": "the account's address is not verified yet"}],
        )
    key = PREFIX + secrets.token_urlsafe(32)
    scopes = sorted(set(request.scopes))
    row = (
        db.execute(
            insert(api_keys)
            .values(
                name=request.name,
                user_id=request.user_id,
                scopes=scopes,
                key_hash=hash_key(key),
                prefix=key[:SHOWN_PREFIX_LENGTH],
                created_by=actor.user_id,
                expires_at=expires_at,
            )
            .returning(*_KEY_COLUMNS)
        )
        .mappings()
        .one()
    )
    audit.record(
        db,
        actor,
        "api_key.created",
        "api_key",
        row["id"],
        subject_id=request.user_id,
        after={"name": request.name, "scopes": scopes, "expires_at": expires_at.isoformat()},
    )
    db.commit()
    return ApiKeyCreated(**row, key=key)


def list_keys(db: Connection, *, user_id: uuid.UUID | None, limit: int, cursor: str | None) -> Page[ApiKey]:
    """Oldest first; revoked and expired keys too (they say when they stopped)."""
    after = keyset(cursor, lambda created_at, key_id: (parse_instant(created_at), uuid.UUID(key_id)))
    query = select(*_KEY_COLUMNS).order_by(api_keys.c.created_at, api_keys.c.id).limit(limit + 1)
    if user_id is not None:
        query = query.where(api_keys.c.user_id == user_id)
    if after is not None:
        query = query.where(after_key(api_keys.c.created_at, api_keys.c.id, after))
    rows = db.execute(query).mappings().all()
    return page(
        rows,
        limit,
        lambda row: ApiKey.model_validate(dict(row)),
        lambda row: (row["created_at"].isoformat(), row["id"]),
    )


def revoke(db: Connection, key_id: uuid.UUID, *, actor: audit.Actor) -> None:
    """The key is refused from now on; revoking it again changes nothing."""
    # The account's row first, as its leaving takes it before the keys that go with it (the audit
    # entry's reference to the account would take it at commit, after the key's: the wrong order).
    account = select(api_keys.c.user_id).where(api_keys.c.id == key_id).scalar_subquery()
    db.execute(select(users.c.id).where(users.c.id == account).with_for_update(key_share=True))
    row = (
        db.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=func.now())
            .returning(api_keys.c.user_id, api_keys.c.name)
        )
        .mappings()
        .first()
    )
    if row is None:
        if db.execute(select(api_keys.c.id).where(api_keys.c.id == key_id)).first() is None:
            raise NotFound("No API key has this id.")
        return
    audit.record(
        db,
        actor,
        "api_key.revoked",
        "api_key",
        key_id,
        subject_id=row["user_id"],
        before={"revoked": False},
        after={"revoked": True},
    )
    db.commit()


def holder(db: Connection, key: str) -> KeyHolder:
    """Who a key acts for, if it is genuine, not revoked and not expired; its use is recorded."""
    refused = Unauthorized("The API key is not valid, has been revoked or has expired.")
    if not _KEY.fullmatch(key):
        raise refused
    columns = repository.USER_COLUMNS
    row = (
        db.execute(
            select(
                api_keys.c.id.label("key_id"),
                api_keys.c.scopes,
                api_keys.c.last_used_at,
                *columns,
            )
            .join(users, users.c.id == api_keys.c.user_id)
            .where(
                api_keys.c.key_hash == hash_key(key),
                api_keys.c.revoked_at.is_(None),
                users.c.email_verified_at.is_not(None),
                api_keys.c.expires_at > func.now(),
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise refused
    last_used_at = row["last_used_at"]
    if last_used_at is None or last_used_at < datetime.now(UTC) - LAST_USE_PRECISION:
        _record_use(db, row["key_id"])
    user = User.model_validate({c.name: row[c.name] for c in columns})
    return KeyHolder(key_id=row["key_id"], scopes=frozenset(row["scopes"]), user=user)


def _record_use(db: Connection, key_id: uuid.UUID) -> None:
    """Committed at once, before the request does anything: a read never commits, and a failed write
    rolls back, but both were a use of the key."""
    db.execute(
        update(api_keys)
        .where(
            api_keys.c.id == key_id,
            or_(
                api_keys.c.last_used_at.is_(None),
                api_keys.c.last_used_at < func.now() - LAST_USE_PRECISION,
            ),
        )
        .values(last_used_at=func.now())
    )
    db.commit()
