"""SQL for users, their sessions and refresh tokens."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, exists, func, insert, select, update
from sqlalchemy.engine import RowMapping

from reservas.database import after_key, contains, postgres_insert
from reservas.tables import refresh_tokens, sessions, users

USER_COLUMNS = [c for c in users.c if c.name != "password_hash"]


# ---------------------------------------------------------------- users


def insert_user(
    db: Connection,
    *,
    email: str,
    password_hash: str,
    name: str,
    role: str = "user",
    preferences: dict[str, Any] | None = None,
    verified: bool = False,
) -> RowMapping | None:
    """The new user, or None when the email is taken."""
    statement = (
        postgres_insert(users)
        .values(
            email=email,
            password_hash=password_hash,
            name=name,
            role=role,
            preferences=preferences or {},
            email_verified_at=func.now() if verified else None,
        )
        .on_conflict_do_nothing(index_elements=[users.c.email])
        .returning(*USER_COLUMNS)
    )
    return db.execute(statement).mappings().first()


def find_user_by_id(db: Connection, user_id: uuid.UUID, *, lock: bool = False) -> RowMapping | None:
    statement = select(*USER_COLUMNS).where(users.c.id == user_id)
    if lock:
        statement = statement.with_for_update()
    return db.execute(statement).mappings().first()


def lock_admins(db: Connection) -> list[uuid.UUID]:
    """Lock every administrator's row, always in the same order, so that two changes of roles take
    turns without deadlocking; their ids. FOR NO KEY UPDATE: what an admin's own changes need of their
    row at commit (a reference's KEY SHARE, as the audit log's) is not held up."""
    statement = (
        select(users.c.id).where(users.c.role == "admin").order_by(users.c.id).with_for_update(key_share=True)
    )
    return list(db.execute(statement).scalars())


def find_user_with_hash(db: Connection, email: str, *, lock: bool = False) -> RowMapping | None:
    statement = select(users).where(users.c.email == email)
    if lock:
        statement = statement.with_for_update()
    return db.execute(statement).mappings().first()


def find_user_in_live_session(db: Connection, user_id: uuid.UUID, session_id: uuid.UUID) -> RowMapping | None:
    """The user, with `session_live`: whether that session of theirs still stands. None: no such user."""
    live = exists().where(
        sessions.c.id == session_id,
        sessions.c.user_id == user_id,
        sessions.c.revoked_at.is_(None),
        sessions.c.expires_at > func.now(),
    )
    statement = select(*USER_COLUMNS, live.label("session_live")).where(users.c.id == user_id)
    return db.execute(statement).mappings().first()


def update_user(db: Connection, user_id: uuid.UUID, values: dict[str, Any]) -> RowMapping | None:
    statement = update(users).where(users.c.id == user_id).values(**values).returning(*USER_COLUMNS)
    return db.execute(statement).mappings().first()


def delete_user(db: Connection, user_id: uuid.UUID) -> None:
    db.execute(delete(users).where(users.c.id == user_id))


def list_users(
    db: Connection, *, email_contains: str | None, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[RowMapping]:
    statement = select(*USER_COLUMNS).order_by(users.c.created_at, users.c.id).limit(limit)
    if email_contains:
        statement = statement.where(contains(users.c.email, email_contains))
    if after is not None:
        statement = statement.where(after_key(users.c.created_at, users.c.id, after))
    return list(db.execute(statement).mappings())


# ---------------------------------------------------------------- sessions and refresh tokens


def insert_session(db: Connection, *, user_id: uuid.UUID, expires_at: datetime) -> uuid.UUID:
    statement = insert(sessions).values(user_id=user_id, expires_at=expires_at).returning(sessions.c.id)
    session_id: uuid.UUID = db.execute(statement).scalar_one()
    return session_id


def insert_refresh_token(db: Connection, *, session_id: uuid.UUID, token_hash: bytes) -> None:
    db.execute(insert(refresh_tokens).values(session_id=session_id, token_hash=token_hash))


def lock_refresh_token(db: Connection, token_hash: bytes) -> RowMapping | None:
    """The token with its session, locked until the transaction ends, so that two refreshes of one
    token take turns and the second sees the first's rotation."""
    statement = (
        select(
            refresh_tokens.c.id,
            refresh_tokens.c.used_at,
            sessions.c.id.label("session_id"),
            sessions.c.user_id,
            sessions.c.expires_at,
            sessions.c.revoked_at,
        )
        .join(sessions, sessions.c.id == refresh_tokens.c.session_id)
        .where(refresh_tokens.c.token_hash == token_hash)
        .with_for_update(of=refresh_tokens)
    )
    return db.execute(statement).mappings().first()


def mark_refresh_token_used(db: Connection, token_id: uuid.UUID) -> None:
    db.execute(update(refresh_tokens).where(refresh_tokens.c.id == token_id).values(used_at=func.now()))


def find_session_of_refresh_token(db: Connection, token_hash: bytes) -> RowMapping | None:
    statement = (
        select(sessions.c.id, sessions.c.user_id)
        .join(refresh_tokens, refresh_tokens.c.session_id == sessions.c.id)
        .where(refresh_tokens.c.token_hash == token_hash)
    )
    return db.execute(statement).mappings().first()


def revoke_sessions(
    db: Connection,
    *,
    reason: str,
    session_ids: Collection[uuid.UUID] | None = None,
    user_id: uuid.UUID | None = None,
    keep: uuid.UUID | None = None,
) -> None:
    """End sessions (by id, or all of a user's but `keep`); ended sessions stay ended with their first
    reason."""
    statement = (
        update(sessions)
        .where(sessions.c.revoked_at.is_(None))
        .values(revoked_at=func.now(), revoked_reason=reason)
    )
    if session_ids is not None:
        statement = statement.where(sessions.c.id.in_(list(session_ids)))
    if user_id is not None:
        statement = statement.where(sessions.c.user_id == user_id)
    if keep is not None:
        statement = statement.where(sessions.c.id != keep)
    db.execute(statement)
