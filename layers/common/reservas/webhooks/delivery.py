"""Delivering events to webhooks: each event a webhook subscribed to becomes one delivery (a row of
`webhook_deliveries`, once per webhook and event however often EventBridge hands the event over), sent
at once and retried on failure after 1 min, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (8 attempts over
about 28 hours); then it is dead, kept for an admin to replay. Every attempt of a delivery carries the
same `webhook-id`, so that a receiver can tell a retry from a new message.

An attempt is claimed first (SKIP LOCKED, then a short lease committed): no transaction stays open
while the receiver is called, and two sweeps never send the same attempt. Every attempt checks the
URL's address again (addresses.check) and connects to the address it checked."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.client import HTTPConnection, HTTPException
from typing import Any

from sqlalchemy import Connection, Text, any_, case, cast, delete, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.dialects.postgresql import insert as insert_or_skip
from sqlalchemy.engine import RowMapping

from reservas import events
from reservas.observability import logger
from reservas.tables import webhook_deliveries, webhooks
from reservas.webhooks import addresses, signing

# What webhooks may subscribe to: the booking events. Never the account mail (links, addresses).
EVENT_TYPES = (
    events.RESERVATION_CREATED,
    events.RESERVATION_CHANGED,
    events.RESERVATION_CANCELLED,
    events.RESERVATION_RELEASED,
    events.RESERVATION_CHECKED_IN,
    events.RESERVATION_EXPIRED,
    events.RESERVATION_APPROVED,
    events.RESERVATION_DECLINED,
    events.WAITLIST_PROMOTED,
    events.SERIES_BOOKED,
    events.SERIES_CANCELLED,
    events.SERIES_APPROVED,
    events.SERIES_DECLINED,
    events.SERIES_EXPIRED,
    events.CLOSURE_DELETED,
)
TEST_EVENT = "WebhookTest"

# The wait after each failed attempt; after the last, the delivery is dead.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
LEASE = timedelta(minutes=2)  # an attempt claimed and not finished (a crash) is due again after it
CONNECT_SECONDS = 3.0
READ_SECONDS = 10.0
ATTEMPT_SECONDS = 12.0  # the longest an attempt takes: name resolution, connect, TLS, the answer's head
ERROR_LENGTH = 300
USER_AGENT = "Reservas-Webhooks/1.0"


@dataclass(frozen=True)
class Outcome:
    """How an attempt went: the receiver's status, if it answered, and what went wrong, if anything."""

    status: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.error is None


def body_of(event_type: str, occurred_at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    """A delivery's payload as Standard Webhooks shapes it."""
    return {"type": event_type, "timestamp": occurred_at.astimezone(UTC).isoformat(), "data": dict(data)}


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def fan_out(
    db: Connection,
    event_type: str,
    detail: Mapping[str, Any],
    occurred_at: datetime | None = None,
    now: datetime | None = None,
) -> list[uuid.UUID]:
    """The deliveries of an event to the webhooks subscribed to its type, due at once; none for an event
    handed over before (each webhook gets an event once). Commits; the ids of the new deliveries."""
    if event_type not in EVENT_TYPES:
        return []
    event_id = int(detail["event_id"])
    now = _now(now)
    payload = body_of(event_type, occurred_at or now, detail)
    subscribed = select(
        webhooks.c.id,
        # Random, not the event's id: a database made anew counts its events from 1 again, and a
        # receiver that keeps the ids it saw would take the new events for old ones.
        func.concat("msg_", func.replace(cast(func.gen_random_uuid(), Text), "-", "")),
        literal(event_id),
        literal(event_type),
        literal(payload, webhook_deliveries.c.payload.type),
        literal(now, webhook_deliveries.c.next_attempt_at.type),
    ).where(literal(event_type) == any_(webhooks.c.event_types))
    created = (
        db.execute(
            insert_or_skip(webhook_deliveries)
            .from_select(
                ["webhook_id", "message_id", "event_id", "event_type", "payload", "next_attempt_at"],
                subscribed,
            )
            .on_conflict_do_nothing(index_elements=["webhook_id", "event_id"])
            .returning(webhook_deliveries.c.id)
        )
        .scalars()
        .all()
    )
    db.commit()
    return list(created)


def handle_event(
    db: Connection,
    event_type: str,
    detail: Mapping[str, Any],
    occurred_at: datetime | None = None,
    until: float | None = None,
    now: datetime | None = None,
) -> dict[str, int]:
    """An event from the bus: its deliveries, and their first attempts while there is time (`until`, a
    `time.monotonic()`); what is left is due for the sweep."""
    created = fan_out(db, event_type, detail, occurred_at, now)
    delivered = 0
    for delivery_id in created:
        if until is not None and time.monotonic() >= until:
            break
        delivered += attempt(db, delivery_id, now) is True
    return {"deliveries": len(created), "delivered": delivered}


def create_test(db: Connection, webhook_id: uuid.UUID, now: datetime | None = None) -> uuid.UUID:
    """A `WebhookTest` delivery to the webhook, due at once (the caller commits)."""
    now = _now(now)
    data = {"webhook_id": str(webhook_id), "message": "A test event from Reservas."}
    created: uuid.UUID = db.execute(
        insert(webhook_deliveries)
        .values(
            webhook_id=webhook_id,
            message_id=f"msg_test_{uuid.uuid4().hex}",
            event_type=TEST_EVENT,
            payload=body_of(TEST_EVENT, now, data),
            next_attempt_at=now,
        )
        .returning(webhook_deliveries.c.id)
    ).scalar_one()
    return created


def ask_for_attempt(db: Connection, webhook_id: uuid.UUID, delivery_id: uuid.UUID) -> None:
    """Have the webhooks function attempt this delivery now (an outbox event, published when the
    request ends): requests never call receivers themselves, so no receiver makes an answer slow, and
    only the webhooks function reaches out of the network. The sweep takes it otherwise."""
    events.record(
        db,
        events.WEBHOOK_DELIVERY_DUE,
        delivery_id,
        {"delivery_id": str(delivery_id), "webhook_id": str(webhook_id)},
    )


def replay(
    db: Connection, webhook_id: uuid.UUID, delivery_id: uuid.UUID, now: datetime | None = None
) -> RowMapping | None:
    """A finished delivery (dead, or delivered) of the webhook pending again, due at once, its attempts
    counted afresh and its `webhook-id` unchanged; None if it is still pending (being tried: replaying
    it would send it twice at once, or keep it retrying for ever). The caller commits."""
    return (
        db.execute(
            update(webhook_deliveries)
            .where(
                webhook_deliveries.c.id == delivery_id,
                webhook_deliveries.c.webhook_id == webhook_id,
                webhook_deliveries.c.state != "pending",
            )
            .values(state="pending", attempts=0, next_attempt_at=_now(now), delivered_at=None)
            .returning(*webhook_deliveries.c)
        )
        .mappings()
        .first()
    )


def attempt(db: Connection, delivery_id: uuid.UUID, now: datetime | None = None) -> bool | None:
    """Attempt this delivery now if it is due and nobody else is attempting it; whether it was
    delivered (None: not attempted)."""
    at = _now(now)
    claimed = _claim(db, at, delivery_id)
    if claimed is None:
        return None
    return _attempt(db, claimed, at)


def sweep(db: Connection, now: datetime | None = None, until: float | None = None) -> dict[str, int]:
    """Attempt every delivery that is due (at `now`, or the current time), oldest first, until none is
    or `until` (a `time.monotonic()`) comes. Several sweeps may run at once. A webhook whose receiver
    fails is not tried again in the same run (its other deliveries wait for the next), so that one
    receiver that hangs does not spend every run's time and hold up the others."""
    attempted = delivered = 0
    failing: set[uuid.UUID] = set()  # a receiver that failed once is left alone for the rest of the run
    while until is None or time.monotonic() < until:
        at = _now(now)
        claimed = _claim(db, at, passing_over=failing)
        if claimed is None:
            break
        attempted += 1
        if _attempt(db, claimed, at):
            delivered += 1
        else:
            failing.add(claimed["webhook_id"])
            _fail_the_rest(db, claimed, at)
    return {"attempted": attempted, "delivered": delivered}


def _fail_the_rest(db: Connection, failed: Mapping[str, Any], now: datetime) -> None:
    """The webhook's other deliveries due now count this failure as an attempt of their own, so that a
    receiver that is down is sent one request a run, not its whole backlog, while each delivery still
    goes through its retries and is dead in bounded time. Commits."""
    attempts = webhook_deliveries.c.attempts + 1
    delays = array([literal(delay) for delay in RETRY_DELAYS])
    last = attempts >= MAX_ATTEMPTS
    db.execute(
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.webhook_id == failed["webhook_id"],
            webhook_deliveries.c.state == "pending",
            webhook_deliveries.c.next_attempt_at <= now,  # not one another sweep holds (its lease)
        )
        .values(
            attempts=attempts,
            last_attempt_at=now,
            last_status=None,
            last_error=_short(f"not sent: the receiver failed just before (delivery {failed['id']})"),
            state=case((last, "dead"), else_="pending"),
            next_attempt_at=case((last, None), else_=literal(now) + delays[attempts]),
        )
    )
    db.commit()


def forget_person(db: Connection, user_id: uuid.UUID) -> None:
    """For a person who leaves (in their leaving's transaction): the deliveries of events about their
    bookings go, sent or not, so that nothing of theirs is kept or sent again (a replay)."""
    db.execute(
        delete(webhook_deliveries).where(
            webhook_deliveries.c.payload["data"]["user_id"].as_string() == str(user_id)
        )
    )


def _claim(
    db: Connection,
    now: datetime,
    delivery_id: uuid.UUID | None = None,
    passing_over: set[uuid.UUID] | None = None,
) -> dict[str, Any] | None:
    """Take a due delivery for one attempt: its attempt is counted and it is not due again before the
    lease ends (committed at once, so no transaction waits on the receiver). With the webhook's URL
    and the secrets that sign it."""
    due = (
        select(webhook_deliveries.c.id)
        .where(webhook_deliveries.c.state == "pending", webhook_deliveries.c.next_attempt_at <= now)
        .order_by(webhook_deliveries.c.next_attempt_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if delivery_id is not None:
        due = due.where(webhook_deliveries.c.id == delivery_id)
    if passing_over:
        due = due.where(webhook_deliveries.c.webhook_id.not_in(passing_over))
    claimed = (
        db.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == due.scalar_subquery())
            .values(
                attempts=webhook_deliveries.c.attempts + 1,
                last_attempt_at=now,
                next_attempt_at=now + LEASE,
            )
            .returning(
                webhook_deliveries.c.id,
                webhook_deliveries.c.webhook_id,
                webhook_deliveries.c.message_id,
                webhook_deliveries.c.payload,
                webhook_deliveries.c.attempts,
            )
        )
        .mappings()
        .first()
    )
    if claimed is None:
        db.rollback()
        return None
    webhook = (
        db.execute(
            select(
                webhooks.c.url,
                webhooks.c.secret,
                webhooks.c.previous_secret,
                webhooks.c.previous_secret_until,
            ).where(webhooks.c.id == claimed["webhook_id"])
        )
        .mappings()
        .one()
    )
    db.commit()
    return {**claimed, **webhook}


def _attempt(db: Connection, claimed: Mapping[str, Any], now: datetime) -> bool:
    """Send a claimed delivery and record how it went; whether it was delivered."""
    secrets = [claimed["secret"]]
    until = claimed["previous_secret_until"]
    if claimed["previous_secret"] and until is not None and until > now:
        secrets.append(claimed["previous_secret"])
    body = json.dumps(claimed["payload"], separators=(",", ":"), ensure_ascii=False)
    outcome = send(claimed["url"], body, signing.headers(claimed["message_id"], body, secrets))
    _record(db, claimed, outcome, now)
    if not outcome.delivered:
        logger.info(
            "webhook attempt failed",
            extra={"delivery_id": str(claimed["id"]), "attempt": claimed["attempts"], "error": outcome.error},
        )
    return outcome.delivered


def _record(db: Connection, claimed: Mapping[str, Any], outcome: Outcome, now: datetime) -> None:
    """Write an attempt's outcome, unless the delivery changed meanwhile (a replay); commits."""
    attempts: int = claimed["attempts"]
    values: dict[str, Any] = {"last_status": outcome.status, "last_error": outcome.error}
    if outcome.delivered:
        values |= {"state": "delivered", "delivered_at": now, "next_attempt_at": None}
    elif attempts >= MAX_ATTEMPTS:
        values |= {"state": "dead", "next_attempt_at": None}
    else:
        values |= {"next_attempt_at": now + RETRY_DELAYS[attempts - 1]}
    db.execute(
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.id == claimed["id"],
            webhook_deliveries.c.state == "pending",
            webhook_deliveries.c.attempts == attempts,
        )
        .values(**values)
    )
    db.commit()


def send(url: str, body: str, headers: Mapping[str, str]) -> Outcome:
    """POST the body to the URL, if its address may be reached now (resolved and checked here, then
    connected to as checked); never following a redirect. Any 2xx is a delivery. The whole attempt,
    name resolution included, ends within ATTEMPT_SECONDS, however slowly a receiver or a resolver
    trickles its answer: at the deadline the connection is shut, which ends any read under way."""
    deadline = time.monotonic() + ATTEMPT_SECONDS
    try:
        target = addresses.check(url, within=min(addresses.RESOLVE_SECONDS, ATTEMPT_SECONDS))
    except addresses.Refused as refused:
        return Outcome(None, _short(f"not sent: the URL {refused}"))
    try:
        connection = socket.create_connection(
            (str(target.addresses[0]), target.port), timeout=min(CONNECT_SECONDS, _left(deadline))
        )
    except TimeoutError:
        return Outcome(None, f"no connection within {CONNECT_SECONDS:g} s")
    except OSError as error:
        return Outcome(None, _short(f"no connection: {error}"))
    open_socket = _Shuttable(connection)
    watchdog = threading.Timer(_left(deadline), open_socket.shut)
    watchdog.start()
    try:
        connection.settimeout(min(READ_SECONDS, _left(deadline)))
        if target.scheme == "https":
            open_socket.secure(target.host)
        http = HTTPConnection(target.host)
        http.sock = open_socket.current
        http.request(
            "POST",
            target.path,
            body=body.encode(),
            headers={
                **headers,
                "Host": target.host_header,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "Connection": "close",
            },
        )
        status = http.getresponse().status  # the answer's body is never read: its status says it all
    except (OSError, HTTPException) as error:
        if isinstance(error, TimeoutError) or open_socket.was_shut:
            return Outcome(None, f"no answer within {min(READ_SECONDS, ATTEMPT_SECONDS):g} s")
        return Outcome(None, _short(f"{type(error).__name__}: {error}"))
    finally:
        watchdog.cancel()
        open_socket.close()
    if open_socket.was_shut:  # cut off mid-answer, whose head then reads as complete: not an answer
        return Outcome(None, f"no whole answer within {ATTEMPT_SECONDS:g} s")
    if 200 <= status < 300:
        return Outcome(status, None)
    if 300 <= status < 400:
        return Outcome(status, f"answered {status}: a redirect, which is not followed")
    return Outcome(status, f"answered {status}")


def _left(deadline: float) -> float:
    return max(0.001, deadline - time.monotonic())


class _Shuttable:
    """An attempt's socket, which the watchdog can shut from its thread at any moment, TLS handshake
    included (wrapping a socket in TLS hands its file over to a new object)."""

    def __init__(self, connection: socket.socket) -> None:
        self.current = connection
        self.was_shut = False
        self._lock = threading.Lock()

    def secure(self, host: str) -> None:
        with self._lock:
            secured = _tls().wrap_socket(self.current, server_hostname=host, do_handshake_on_connect=False)
            self.current = secured
        secured.do_handshake()

    def shut(self) -> None:
        with self._lock, contextlib.suppress(OSError):
            self.was_shut = True
            self.current.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with self._lock:
            self.current.close()


def _tls() -> ssl.SSLContext:
    """Certificates verified against the system's authorities (SSL_CERT_FILE when set), for the URL's
    host name, whatever address was connected to."""
    return ssl.create_default_context()


def _short(text: str) -> str:
    return text if len(text) <= ERROR_LENGTH else text[: ERROR_LENGTH - 1] + "…"
