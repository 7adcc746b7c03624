"""Who approves a space's bookings besides the administrators: its managers."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, delete, select

from reservas import audit
from reservas.database import postgres_insert
from reservas.errors import NotFound
from reservas.spaces import repository
from reservas.spaces.admin_schemas import Manager
from reservas.tables import space_managers, users


def managers(db: Connection, space_id: uuid.UUID) -> list[Manager]:
    _exists(db, space_id)
    rows = db.execute(
        select(users.c.id, users.c.name, users.c.email)
        .join(space_managers, space_managers.c.user_id == users.c.id)
        .where(space_managers.c.space_id == space_id)
        .order_by(users.c.name, users.c.id)
    ).mappings()
    return [Manager.model_validate(dict(row)) for row in rows]


def add(db: Connection, space_id: uuid.UUID, user_id: uuid.UUID, *, actor: audit.Actor) -> None:
    """Make the person a manager of the space; again changes nothing."""
    _exists(db, space_id)
    if db.execute(select(users.c.id).where(users.c.id == user_id)).first() is None:
        raise NotFound("No user has this id.")
    added = db.execute(
        postgres_insert(space_managers)
        .values(space_id=space_id, user_id=user_id)
        .on_conflict_do_nothing()
        .returning(space_managers.c.user_id)
    ).first()
    if added is not None:
        after = {"manager": str(user_id)}
        audit.record(db, actor, "space.manager_added", "space", space_id, subject_id=user_id, after=after)
    db.commit()


def remove(db: Connection, space_id: uuid.UUID, user_id: uuid.UUID, *, actor: audit.Actor) -> None:
    _exists(db, space_id)
    removed = db.execute(
        delete(space_managers)
        .where(space_managers.c.space_id == space_id, space_managers.c.user_id == user_id)
        .returning(space_managers.c.user_id)
    ).first()
    if removed is not None:
        before = {"manager": str(user_id)}
        audit.record(db, actor, "space.manager_removed", "space", space_id, subject_id=user_id, before=before)
    db.commit()


def _exists(db: Connection, space_id: uuid.UUID) -> None:
    if repository.find_space(db, space_id) is None:
        raise NotFound("No space has this id.")
