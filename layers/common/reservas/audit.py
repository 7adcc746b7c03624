"""The audit log: who changed what, when and from which address, before and after.

An entry is written in the transaction of the change it records, so the log holds every committed
change and nothing that rolled back. The functions may only add entries and read them: the table,
audit.log, belongs to another role (migrations/versions/0005), and the two deletions it allows, the
erasure of a person who left and the retention clean-up, are the owner's functions called here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Connection, insert, select, text

from reservas.database import after_key
from reservas.pagination import Page, keyset, page
from reservas.tables import audit_log
from reservas.timestamps import parse_instant

Entity = Literal["reservation", "space", "user"]
# Never written into an entry, whatever a caller hands in.
SECRET_FIELDS = frozenset({"password", "password_hash", "current_password", "token_hash", "secret"})
# Bookkeeping that changes with every write and says nothing about what changed.
UNTRACKED_FIELDS = frozenset({"updated_at"})


@dataclass(frozen=True)
class Actor:
    """Who makes a change, and from where: a signed-in person and their address, or an operator's
    tool (no one, no address)."""

    user_id: uuid.UUID | None
    address: str | None


OPERATOR = Actor(user_id=None, address=None)


class AuditEntry(BaseModel):
    id: int
    occurred_at: datetime
    actor_id: uuid.UUID | None = Field(
        description="Who made the change; null for an operator's tool or a deleted account."
    )
    actor_address: str | None = Field(description="The client address the change came from.")
    action: str = Field(description="What happened, as `entity.verb`: `space.updated`, `user.role_changed`.")
    entity: Entity
    entity_id: uuid.UUID | None = Field(description="What changed; null for an account since deleted.")
    before: dict[str, Any] | None = Field(description="The changed fields as they were; null on creation.")
    after: dict[str, Any] | None = Field(description="The changed fields as they became.")


def record(
    db: Connection,
    actor: Actor,
    action: str,
    entity: Entity,
    entity_id: uuid.UUID,
    *,
    subject_id: uuid.UUID | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add an entry to the current transaction. `subject_id` is the person the entry is about (a
    booking's owner, an account), whose personal data goes when their account does. `before` and
    `after` are JSON-ready dicts; secrets are dropped from them here."""
    db.execute(
        insert(audit_log).values(
            actor_id=actor.user_id,
            actor_address=actor.address[:64] if actor.address else None,
            action=action,
            entity=entity,
            entity_id=entity_id,
            subject_id=subject_id,
            before=_without_secrets(before),
            after=_without_secrets(after),
        )
    )


def record_change(
    db: Connection,
    actor: Actor,
    action: str,
    entity: Entity,
    entity_id: uuid.UUID,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    subject_id: uuid.UUID | None = None,
) -> bool:
    """Record the fields that differ between `before` and `after`; nothing when none does. Whether
    anything was recorded."""
    changed = sorted(
        key
        for key in before.keys() | after.keys()
        if key not in UNTRACKED_FIELDS and before.get(key) != after.get(key)
    )
    if not changed:
        return False
    record(
        db,
        actor,
        action,
        entity,
        entity_id,
        subject_id=subject_id,
        before={key: before.get(key) for key in changed},
        after={key: after.get(key) for key in changed},
    )
    return True


def _without_secrets(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {key: value for key, value in values.items() if key not in SECRET_FIELDS}


def erase_person(db: Connection, user_id: uuid.UUID) -> None:
    """For an account deleted in this transaction: it no longer names anyone as actor, and entries
    about it keep what happened without the person (no id, email, name or notes)."""
    db.execute(text("SELECT audit.erase_person(:person)"), {"person": user_id})


def purge(db: Connection) -> int:
    """Delete the entries older than the retention period; how many went. The caller commits."""
    purged: int = db.execute(text("SELECT audit.purge()")).scalar_one()
    return purged


def _entry_id(value: str) -> int:
    """An entry's id from a cursor: a bigint, or ValueError."""
    number = int(value)
    if not 0 < number < 2**63:
        raise ValueError(value)
    return number


def search(
    db: Connection,
    *,
    entity: Entity | None,
    entity_id: uuid.UUID | None,
    actor_id: uuid.UUID | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    cursor: str | None,
) -> Page[AuditEntry]:
    """Newest first."""
    after = keyset(cursor, lambda occurred_at, last_id: (parse_instant(occurred_at), _entry_id(last_id)))
    query = select(*(column for column in audit_log.c if column.name != "subject_id"))
    if entity is not None:
        query = query.where(audit_log.c.entity == entity)
    if entity_id is not None:
        query = query.where(audit_log.c.entity_id == entity_id)
    if actor_id is not None:
        query = query.where(audit_log.c.actor_id == actor_id)
    if since is not None:
        query = query.where(audit_log.c.occurred_at >= since)
    if until is not None:
        query = query.where(audit_log.c.occurred_at < until)
    if after is not None:
        query = query.where(after_key(audit_log.c.occurred_at, audit_log.c.id, after, descending=True))
    query = query.order_by(audit_log.c.occurred_at.desc(), audit_log.c.id.desc()).limit(limit + 1)
    rows = db.execute(query).mappings().all()
    return page(
        rows,
        limit,
        lambda row: AuditEntry.model_validate(dict(row)),
        lambda row: (row["occurred_at"].isoformat(), row["id"]),
    )
