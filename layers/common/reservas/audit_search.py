"""Reading the audit log, for admins (GET /audit): kept apart from recording, which every function
does, so that only the function that serves the log builds its answer's model at cold start."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy import Connection, select

from reservas.audit import Entity
from reservas.database import after_key
from reservas.models import Model
from reservas.pagination import Page, keyset, page
from reservas.tables import audit_log
from reservas.timestamps import parse_instant


class AuditEntry(Model):
    id: int
    occurred_at: datetime
    actor_id: uuid.UUID | None = Field(
        description="Who made the change; null for an operator's tool or a deleted account."
    )
    actor_address: str | None = Field(description="The client address the change came from.")
    actor_key_id: uuid.UUID | None = Field(description="The API key the change was made with, if one was.")
    action: str = Field(description="What happened, as `entity.verb`: `space.updated`, `user.role_changed`.")
    entity: Entity
    entity_id: uuid.UUID | None = Field(description="What changed; null for an account since deleted.")
    before: dict[str, Any] | None = Field(description="The changed fields as they were; null on creation.")
    after: dict[str, Any] | None = Field(description="The changed fields as they became.")


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
    key_id: uuid.UUID | None = None,
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
    if key_id is not None:
        query = query.where(audit_log.c.actor_key_id == key_id)
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
