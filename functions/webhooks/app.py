"""Delivers events to the webhooks subscribed to them (reservas.webhooks.delivery): an EventBridge rule
in template.yaml invokes it with every booking event, whose deliveries it records and attempts at once,
and with `WebhookDeliveryDue` when an admin sends a test or replays a delivery;
a schedule every minute with `{"retry": true}` attempts the deliveries whose retry is due. EventBridge
may deliver an event twice: each webhook gets it once."""

import time
import uuid
from datetime import datetime
from typing import Any

from reservas.database import job_engine
from reservas.events import WEBHOOK_DELIVERY_DUE
from reservas.observability import logger
from reservas.webhooks.delivery import ATTEMPT_SECONDS, attempt, handle_event, sweep

SECONDS = 55  # the function may run 60 s (template.yaml)


@logger.inject_lambda_context
def handler(event: dict, context: Any) -> dict:
    # No attempt begins with less than an attempt's worst time left.
    until = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - ATTEMPT_SECONDS
    if event.get("retry") is True:
        with job_engine(SECONDS).connect() as db:
            swept = sweep(db, until=until)
        logger.info("webhook retries", extra=swept)
        return swept
    detail = event.get("detail")
    if event.get("detail-type") == WEBHOOK_DELIVERY_DUE and isinstance(detail, dict):
        return _attempt_asked_for(detail)
    if not isinstance(detail, dict) or "event_id" not in detail:
        logger.warning("event without a detail object", extra={"event": event.get("detail-type")})
        return {"deliveries": 0, "delivered": 0}
    try:
        event_id = int(detail["event_id"])
    except (TypeError, ValueError):
        logger.warning("event without an id", extra={"event": event.get("detail-type")})
        return {"deliveries": 0, "delivered": 0}
    with job_engine(SECONDS).connect() as db:
        handled = handle_event(
            db, str(event.get("detail-type")), {**detail, "event_id": event_id}, _time(event), until
        )
    logger.info("webhooks", extra={**handled, "event": event.get("detail-type")})
    return handled


def _attempt_asked_for(detail: dict) -> dict:
    """A test send or a replay an admin asked for: attempted now, unless someone is at it already."""
    try:
        delivery_id = uuid.UUID(str(detail["delivery_id"]))
    except (KeyError, ValueError):
        logger.warning("a delivery asked for without its id")
        return {"deliveries": 0, "delivered": 0}
    with job_engine(SECONDS).connect() as db:
        delivered = attempt(db, delivery_id) is True
    return {"deliveries": 1, "delivered": int(delivered)}


def _time(event: dict) -> datetime | None:
    """When EventBridge says the event happened, if it says so readably."""
    try:
        return datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None
