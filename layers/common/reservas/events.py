"""Domain events through a transactional outbox: written with the change that makes them true, published
to EventBridge afterwards, so a failed publish loses nothing and nothing is announced that did not commit."""

from __future__ import annotations

import contextvars
import functools
import json
import time
import uuid
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.sql.dml import UpdateBase

from reservas.database import insert_rows
from reservas.observability import logger
from reservas.settings import get_settings
from reservas.tables import outbox

SOURCE = "reservas"
RESERVATION_CREATED = "ReservationCreated"
RESERVATION_CANCELLED = "ReservationCancelled"
RESERVATION_CHANGED = "ReservationChanged"
RESERVATION_RELEASED = "ReservationReleased"
RESERVATION_CHECKED_IN = "ReservationCheckedIn"
RESERVATION_EXPIRED = "ReservationExpired"
RESERVATION_APPROVED = "ReservationApproved"
RESERVATION_DECLINED = "ReservationDeclined"
WAITLIST_PROMOTED = "WaitlistPromoted"
CLOSURE_DELETED = "ClosureDeleted"
SERIES_BOOKED = "SeriesBooked"
SERIES_CANCELLED = "SeriesCancelled"
SERIES_APPROVED = "SeriesApproved"
SERIES_DECLINED = "SeriesDeclined"
SERIES_EXPIRED = "SeriesExpired"
VERIFICATION_REQUESTED = "VerificationRequested"
ADDRESS_ALREADY_REGISTERED = "AddressAlreadyRegistered"
PASSWORD_RESET_REQUESTED = "PasswordResetRequested"  # noqa: S105 (an event type)
WEBHOOK_DELIVERY_DUE = "WebhookDeliveryDue"  # a test send or a replay, for the webhooks function
PUT_EVENTS_BATCH = 10  # EventBridge's limit per PutEvents call
PUT_EVENTS_BYTES = 240_000  # under EventBridge's 256 KB per call, whatever its own accounting adds


BATCH = 1000  # events per INSERT
PUBLISHED_NOW = 1000  # events published by whoever recorded them; more wait for the outbox publisher

# The ids of the events recorded while `collecting()`, so that whoever ran the work can publish them at once.
_collected: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("collected", default=None)


def record(
    db: Connection,
    event_type: str,
    aggregate_id: uuid.UUID,
    payload: dict[str, Any],
    *,
    together_with: Sequence[UpdateBase] = (),
) -> None:
    """Add an event to the current transaction (with `together_with`, as record_all)."""
    record_all(db, [(event_type, aggregate_id, payload)], together_with=together_with)


def record_all(
    db: Connection,
    events: list[tuple[str, uuid.UUID, dict[str, Any]]],
    *,
    together_with: Sequence[UpdateBase] = (),
) -> None:
    """Add events (type, aggregate id, payload) to the current transaction, in a few statements.
    `together_with`: other writes of the transaction, which need no answer, sent in the same statement
    as the first events (as data-modifying CTEs), a round trip saved for each."""
    rows = [
        {"event_type": event_type, "aggregate_id": aggregate_id, "payload": payload}
        for event_type, aggregate_id, payload in events
    ]
    if not rows:
        for write in together_with:
            db.execute(write)
    collected = _collected.get()
    for start in range(0, len(rows), BATCH):
        statement = insert_rows(outbox, rows[start : start + BATCH]).returning(outbox.c.id)
        if start == 0 and together_with:
            statement = statement.add_cte(*(write.cte(f"also_{n}") for n, write in enumerate(together_with)))
        ids = db.execute(statement).scalars()
        if collected is not None:
            collected.extend(ids)


@contextmanager
def collecting() -> Iterator[list[int]]:
    """Within it, the ids of the events recorded (committed or not) gather in the list it gives."""
    ids: list[int] = []
    token = _collected.set(ids)
    try:
        yield ids
    finally:
        _collected.reset(token)


@functools.cache
def client(patient: bool = True) -> Any:
    """EventBridge, built on first use (boto3 is slow to import; most requests publish nothing).

    The outbox publisher's sweep is `patient` (a retry, seconds to answer); whoever publishes its own
    events at once is not: one attempt that gives up within a second or two, since the sweep sends
    whatever that misses."""
    import boto3
    from botocore.config import Config

    config = (
        Config(connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 2})
        if patient
        else Config(connect_timeout=0.5, read_timeout=1, retries={"total_max_attempts": 1})
    )
    return boto3.client("events", config=config)


class Resting:
    """After EventBridge failed someone publishing at once, for a minute the sweep alone publishes."""

    SECONDS = 60

    def __init__(self) -> None:
        self.until = 0.0

    def start(self) -> None:
        self.until = time.monotonic() + self.SECONDS

    def active(self) -> bool:
        return time.monotonic() < self.until

    def clear(self) -> None:
        self.until = 0.0


resting = Resting()


def publish_now(engine: Engine, event_ids: Sequence[int], within: float = 2.0) -> None:
    """Publish these events now, as their author does once its work is done, for at most about
    `within` seconds. What is not sent stays in the outbox for the publisher's sweep; nothing is raised.
    After EventBridge fails, nobody publishes at once for a minute: the work that recorded events must
    not wait on a service that is down. Without a bus (local runs), nothing is sent."""
    bus_name = get_settings().event_bus_name
    first = event_ids[:PUBLISHED_NOW]
    if not first or not bus_name or resting.active():
        return
    try:
        with engine.connect() as db:
            result = publish_pending(
                db,
                client(patient=False),
                bus_name,
                limit=len(first),
                only=first,
                until=time.monotonic() + within,
            )
        if result["failed"]:
            resting.start()
    except Exception:
        resting.start()
        logger.warning("events left for the outbox publisher", exc_info=True)


BACKLOG_COUNT_LIMIT = 10_000  # counted up to this: a backlog past it is an emergency whatever its size


def backlog(db: Connection) -> dict[str, int]:
    """What waits to be published: how many events (up to BACKLOG_COUNT_LIMIT), and the oldest one's
    age in seconds (0 when none waits); both read through the index of unpublished events."""
    waiting = select(outbox.c.id).where(outbox.c.published_at.is_(None)).limit(BACKLOG_COUNT_LIMIT).subquery()
    count = db.execute(select(func.count()).select_from(waiting)).scalar_one()
    oldest = db.execute(
        select(func.extract("epoch", func.now() - outbox.c.created_at))
        .where(outbox.c.published_at.is_(None))
        .order_by(outbox.c.id)
        .limit(1)
    ).scalar()
    db.commit()
    return {"pending": int(count), "oldest_seconds": max(0, round(float(oldest or 0)))}


def publish_pending(
    db: Connection,
    client: Any,
    bus_name: str,
    limit: int = 100,
    only: Collection[int] | None = None,
    until: float | None = None,
) -> dict[str, int]:
    """Send unpublished events (`only` those ids, if given), oldest first, and mark those EventBridge
    accepted; no new call begins after `until` (a `time.monotonic()` value). Each call's rows are locked
    with SKIP LOCKED and committed with their outcome, so two publishers never send the same event at
    once, and what EventBridge took is marked even if a later call fails or time runs out."""
    published = failed = 0
    after = 0
    while limit > 0 and (until is None or time.monotonic() < until):
        query = (
            select(outbox.c.id, outbox.c.event_type, outbox.c.aggregate_id, outbox.c.payload)
            .where(outbox.c.published_at.is_(None), outbox.c.id > after)
            .order_by(outbox.c.id)
            .limit(min(limit, PUT_EVENTS_BATCH))
            .with_for_update(skip_locked=True)
        )
        if only is not None:
            query = query.where(outbox.c.id.in_(list(only)))
        rows = db.execute(query).all()
        if not rows:
            break
        limit -= len(rows)
        after = rows[-1].id
        sent, refused = _send(db, client, rows, bus_name)
        db.commit()
        published += sent
        failed += refused
    db.commit()
    return {"published": published, "failed": failed}


def _send(db: Connection, client: Any, rows: Sequence[Any], bus_name: str) -> tuple[int, int]:
    """Send the rows (at most one PutEvents call's worth, or a few when they are large) and write each
    one's outcome; how many were published, and how many not."""
    published = failed = 0
    for batch, entries in _batches(rows, bus_name):
        if not entries:  # one event larger than EventBridge takes: kept for an operator, never sent
            row = batch[0]
            logger.error(
                "event too large for EventBridge", extra={"outbox_id": row.id, "type": row.event_type}
            )
            db.execute(
                update(outbox)
                .where(outbox.c.id == row.id)
                .values(attempts=outbox.c.attempts + 1, last_error="too large for EventBridge (256 KB)")
            )
            failed += 1
            continue
        try:
            results = client.put_events(Entries=entries)["Entries"]
        except Exception as error:  # the whole call failed: every row of the batch stays pending
            logger.warning("event publish failed", extra={"error": str(error)})
            results = [{"ErrorCode": type(error).__name__, "ErrorMessage": str(error)}] * len(batch)
        for row, result in zip(batch, results, strict=True):
            values: dict[str, Any]
            if result.get("EventId") and not result.get("ErrorCode"):
                values = {"published_at": func.now()}
                published += 1
            else:
                values = {"last_error": f"{result.get('ErrorCode')}: {result.get('ErrorMessage')}"[:1000]}
                failed += 1
            db.execute(
                update(outbox).where(outbox.c.id == row.id).values(attempts=outbox.c.attempts + 1, **values)
            )
    return published, failed


def _batches(rows: Sequence[Any], bus_name: str) -> list[tuple[list[Any], list[dict[str, Any]]]]:
    """The rows in PutEvents calls of at most 10 entries and PUT_EVENTS_BYTES, in order; a row too large
    to send alone comes as a batch of its own with no entries, so that it never holds up the others."""
    batches: list[tuple[list[Any], list[dict[str, Any]]]] = []
    batch: list[Any] = []
    entries: list[dict[str, Any]] = []
    size = 0
    for row in rows:
        entry = {
            "Source": SOURCE,
            "DetailType": row.event_type,
            "Detail": json.dumps({**row.payload, "event_id": row.id}),
            "EventBusName": bus_name,
            "Resources": [],
        }
        entry_size = len(entry["Detail"].encode()) + len(SOURCE) + len(row.event_type)
        if entry_size > PUT_EVENTS_BYTES:
            batches.append(([row], []))
            continue
        if batch and (len(batch) == PUT_EVENTS_BATCH or size + entry_size > PUT_EVENTS_BYTES):
            batches.append((batch, entries))
            batch, entries, size = [], [], 0
        batch.append(row)
        entries.append(entry)
        size += entry_size
    if batch:
        batches.append((batch, entries))
    return batches
