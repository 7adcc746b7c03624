"""Sends the email an event calls for (reservas.notifications.deliver): an EventBridge rule in
template.yaml invokes it with every event that calls for one, and a schedule every 5 minutes with
`{"reminders": true}` to send the reminders that are due. EventBridge may deliver an event twice: each
message is sent once."""

import time
from typing import Any

from reservas.database import job_engine
from reservas.notifications.deliver import deliver, send_reminders
from reservas.observability import logger

SECONDS = 55  # the function may run 60 s (template.yaml)
MESSAGE_SECONDS = 15


@logger.inject_lambda_context
def handler(event: dict, context: Any) -> dict:
    if event.get("reminders") is True:
        # No reminder begins with less than a message's worst time left (SES's timeouts and retries).
        until = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - MESSAGE_SECONDS
        with job_engine(SECONDS).connect() as db:
            sent = send_reminders(db, until)
        logger.info("reminders sent", extra={"sent": sent})
        return {"sent": sent}
    detail = event.get("detail")
    if not isinstance(detail, dict):
        logger.warning("event without a detail object", extra={"event": event.get("detail-type")})
        return {"sent": 0}
    with job_engine(SECONDS).connect() as db:
        sent = deliver(db, str(event.get("detail-type")), detail)
    logger.info("notified", extra={"sent": sent, "event": event.get("detail-type")})
    return {"sent": sent}
