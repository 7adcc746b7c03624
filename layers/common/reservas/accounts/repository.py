"""SQL for users and their refresh tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from reservas.tables import refresh_tokens, users

USER_COLUMNS = [c for c in users.c if c.name != "password_hash"]


def insert_user(
    session: Session, *, email: str, password_hash: str, name: str, role: str = "user"
) -> RowMapping | None:
    """The new user, or None when the email is taken."""
    statement = (
        pg_insert(users)
        .values(email=email, password_hash=password_hash, name=name, role=role)
        .on_conflict_do_nothing(index_elements=[users.c.email])
        .returning(*USER_COLUMNS)
    )
    return session.execute(statement).mappings().first()


def find_user_by_id(session: Session, user_id: uuid.UUID) -> RowMapping | None:
    return session.execute(select(*USER_COLUMNS).where(users.c.id == user_id)).mappings().first()


def find_user_with_hash_by_email(session: Session, email: str) -> RowMapping | None:
    return session.execute(select(users).where(users.c.email == email)).mappings().first()


def insert_refresh_token(
    session: Session, *, user_id: uuid.UUID, family_id: uuid.UUID, token_hash: bytes, expires_at: datetime
) -> None:
    session.execute(
        insert(refresh_tokens).values(
            user_id=user_id, family_id=family_id, token_hash=token_hash, expires_at=expires_at
        )
    )
