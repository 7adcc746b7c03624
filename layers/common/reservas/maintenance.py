"""Housekeeping: rows that no request will ever read again."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Connection, delete, func, or_

from reservas import audit
from reservas.tables import (
    idempotency_keys,
    outbox,
    sessions,
    webhook_deliveries,
)

PUBLISHED_EVENTS_KEPT = timedelta(days=7)
ENDED_SESSIONS_KEPT = timedelta(days=30)  # for audits of revocations
FINISHED_DELIVERIES_KEPT = timedelta(days=30)  # webhook deliveries, delivered or dead, to look into


def purge(db: Connection) -> dict[str, int]:
    """Delete expired idempotency keys, published events after a week, sessions a month after they
    ended (their refresh tokens go with them), webhook deliveries a month after their last attempt once
    delivered or dead (the dead-letter store keeps a month to replay from), and audit entries older
    than their retention period (RESERVAS_AUDIT_RETENTION_DAYS, applied by the migrations). Returns how
    many rows of each went."""
    now = func.now()
    counts = {
        "idempotency_keys": db.execute(
            delete(idempotency_keys).where(idempotency_keys.c.expires_at <= now)
        ).rowcount,
        "outbox": db.execute(
            delete(outbox).where(outbox.c.published_at <= now - PUBLISHED_EVENTS_KEPT)
        ).rowcount,
        "sessions": db.execute(
            delete(sessions).where(
                or_(
                    sessions.c.expires_at <= now - ENDED_SESSIONS_KEPT,
                    sessions.c.revoked_at <= now - ENDED_SESSIONS_KEPT,
                )
            )
        ).rowcount,
        "webhook_deliveries": db.execute(
            delete(webhook_deliveries).where(
                webhook_deliveries.c.state.in_(("delivered", "dead")),
                webhook_deliveries.c.last_attempt_at <= now - FINISHED_DELIVERIES_KEPT,
            )
        ).rowcount,
        "audit_log": audit.purge(db),
    }
    db.commit()
    return counts
