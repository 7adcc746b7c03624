"""The audit log: who changed what, when and from which address, before and after.

An entry is written in the transaction of the change it records, so the log holds every committed
change and nothing that rolled back. The functions may only add entries and read them: the table,
audit.log, belongs to another role (migrations/versions/0005), and the two deletions it allows, the
erasure of a person who left and the retention clean-up, are the owner's functions called here.
Admins read the log through audit_search."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Insert, text

from reservas.database import insert_rows
from reservas.tables import audit_log

Entity = Literal["reservation", "series", "space", "closure", "user", "api_key", "webhook"]
# Never written into an entry, whatever a caller hands in.
SECRET_FIELDS = frozenset({"password", "password_hash", "current_password", "token_hash", "secret"})
# Bookkeeping that changes with every write and says nothing about what changed.
UNTRACKED_FIELDS = frozenset({"updated_at"})


@dataclass(frozen=True)
class Actor:
    """Who makes a change, and from where: a signed-in person and their address, an integrator's API
    key (with the account it acts for), or an operator's tool (no one, no address)."""

    user_id: uuid.UUID | None
    address: str | None
    key_id: uuid.UUID | None = None


OPERATOR = Actor(user_id=None, address=None)


@dataclass(frozen=True)
class Entry:
    """One entry to record: `subject_id` is the person it is about (a booking's owner, an account),
    whose personal data goes when their account does; `before` and `after` are JSON-ready dicts."""

    action: str
    entity: Entity
    entity_id: uuid.UUID
    subject_id: uuid.UUID | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


BATCH = 1000  # entries per INSERT, well within PostgreSQL's limit on parameters


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
    """Add an entry to the current transaction; secrets are dropped from `before` and `after` here."""
    record_all(db, actor, [Entry(action, entity, entity_id, subject_id, before, after)])


def record_all(db: Connection, actor: Actor, entries: list[Entry]) -> None:
    """Add entries made by one actor to the current transaction, in a few statements however many."""
    rows = _rows(actor, entries)
    for start in range(0, len(rows), BATCH):
        db.execute(insert_rows(audit_log, rows[start : start + BATCH]))


def recording(actor: Actor, entry: Entry) -> Insert:
    """The statement that adds one entry, for a caller who sends it with others (events.record_all)."""
    return insert_rows(audit_log, _rows(actor, [entry]))


def _rows(actor: Actor, entries: list[Entry]) -> list[dict[str, Any]]:
    return [
        {
            "actor_id": actor.user_id,
            "actor_address": actor.address[:64] if actor.address else None,
            "actor_key_id": actor.key_id,
            "action": entry.action,
            "entity": entry.entity,
            "entity_id": entry.entity_id,
            "subject_id": entry.subject_id,
            "before": _without_secrets(entry.before),
            "after": _without_secrets(entry.after),
        }
        for entry in entries
    ]


def change_entry(
    action: str,
    entity: Entity,
    entity_id: uuid.UUID,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    subject_id: uuid.UUID | None = None,
) -> Entry | None:
    """An entry with the fields that differ between `before` and `after`; None when none does."""
    changed = sorted(
        key
        for key in before.keys() | after.keys()
        if key not in UNTRACKED_FIELDS and before.get(key) != after.get(key)
    )
    if not changed:
        return None
    return Entry(
        action,
        entity,
        entity_id,
        subject_id,
        before={key: before.get(key) for key in changed},
        after={key: after.get(key) for key in changed},
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
    entry = change_entry(action, entity, entity_id, before, after, subject_id=subject_id)
    if entry is not None:
        record_all(db, actor, [entry])
    return entry is not None


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
