"""Idempotency-Key: the same request again gets the first answer and books nothing more.

Keys are per user and kept 24 hours in PostgreSQL, written in the booking's own transaction: the
booking and the remembered answer commit together or not at all, and a second request with the same
key waits on the first one's row lock until it is decided."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Update, select

from reservas.database import postgres_insert
from reservas.errors import Unprocessable
from reservas.tables import idempotency_keys

if TYPE_CHECKING:
    from sqlalchemy.sql.dml import ReturningInsert

KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255


# The answer a key replays is the booking's: 201 Created (the column keeps room for other answers).
CREATED = 201


@dataclass(frozen=True)
class Replay:
    body: dict[str, Any]


def request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Unprocessable(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.")
    return key


def claim(db: Connection, user_id: uuid.UUID, key: str, fingerprint: str) -> Replay | None:
    """Reserve the key for this request inside the current transaction. A Replay when an earlier request
    with this key already succeeded; a 422 when that request was a different one."""
    if db.execute(claiming(user_id, key, fingerprint)).first() is not None:
        return None
    return earlier(db, user_id, key, fingerprint)


def claiming(user_id: uuid.UUID, key: str, fingerprint: str) -> ReturningInsert[Any]:
    """The statement that reserves the key for this request, returning a row when it did: a key past its
    lifetime is claimed again, as if new. Another request holding the key is waited for."""
    now = datetime.now(UTC)
    fresh = {
        "request_hash": fingerprint,
        "status_code": 0,
        "response_body": {},
        "expires_at": now + KEY_LIFETIME,
    }
    return (
        postgres_insert(idempotency_keys)
        .values(user_id=user_id, key=key, **fresh)
        .on_conflict_do_update(
            index_elements=[idempotency_keys.c.user_id, idempotency_keys.c.key],
            set_=fresh,
            where=idempotency_keys.c.expires_at <= now,
        )
        .returning(idempotency_keys.c.key)
    )


def earlier(db: Connection, user_id: uuid.UUID, key: str, fingerprint: str) -> Replay:
    """The answer to the earlier request with this key, which `claiming` did not claim; a 422 when that
    request asked something else."""
    found = (
        db.execute(
            select(idempotency_keys).where(
                idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key
            )
        )
        .mappings()
        .one()
    )
    if found["request_hash"] != fingerprint:
        raise Unprocessable(
            "This Idempotency-Key was used for a different request; use a new key for a new request.",
            title="Idempotency key reused",
        )
    return Replay(found["response_body"])


def remember(db: Connection, user_id: uuid.UUID, key: str, body: dict[str, Any]) -> None:
    db.execute(remembering(user_id, key, body))


def remembering(user_id: uuid.UUID, key: str, body: dict[str, Any]) -> Update:
    """The statement that keeps the answer the key replays."""
    return (
        idempotency_keys.update()
        .where(idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key)
        .values(status_code=CREATED, response_body=body)
    )
