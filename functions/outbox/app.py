"""Publishes the outbox to EventBridge; scheduled every minute by template.yaml."""

from typing import Any

from reservas import events
from reservas.database import job_engine
from reservas.observability import logger
from reservas.settings import get_settings

# The function may run 60 s (template.yaml); the rows stay locked while EventBridge is called.
SECONDS = 55


@logger.inject_lambda_context
def handler(event: dict, context: Any) -> dict:
    bus_name = get_settings().event_bus_name
    if not bus_name:
        raise RuntimeError("RESERVAS_EVENT_BUS_NAME is not set")
    with job_engine(SECONDS).connect() as db:
        result = events.publish_pending(db, events.client(), bus_name)
    logger.info("outbox published", extra=result)
    return result
