"""Publishes the outbox to EventBridge; scheduled every minute by template.yaml."""

import time
from typing import Any

from reservas import events
from reservas.database import job_engine
from reservas.observability import logger
from reservas.settings import get_settings

# The function may run 60 s (template.yaml): no new PutEvents call begins after PUBLISHING_SECONDS.
SECONDS = 55
PUBLISHING_SECONDS = 45
MOST_PER_RUN = 50_000


@logger.inject_lambda_context
def handler(event: dict, context: Any) -> dict:
    bus_name = get_settings().event_bus_name
    if not bus_name:
        raise RuntimeError("RESERVAS_EVENT_BUS_NAME is not set")
    with job_engine(SECONDS).connect() as db:
        result = events.publish_pending(
            db, events.client(), bus_name, limit=MOST_PER_RUN, until=time.monotonic() + PUBLISHING_SECONDS
        )
    logger.info("outbox published", extra=result)
    return result
