"""Sends the email an event calls for; an EventBridge rule in template.yaml invokes it
(reservas.notifications.deliver). EventBridge may deliver an event twice: each message is sent once."""

from typing import Any

from reservas.database import job_engine
from reservas.notifications.deliver import deliver
from reservas.observability import logger

SECONDS = 25  # the function may run 30 s (template.yaml)


@logger.inject_lambda_context
def handler(event: dict, context: Any) -> dict:
    detail = event.get("detail")
    if not isinstance(detail, dict):
        logger.warning("event without a detail object", extra={"event": event.get("detail-type")})
        return {"sent": 0}
    with job_engine(SECONDS).connect() as db:
        sent = deliver(db, str(event.get("detail-type")), detail)
    logger.info("notified", extra={"sent": sent, "event": event.get("detail-type")})
    return {"sent": sent}
