"""Publishes the outbox to EventBridge; scheduled every minute by template.yaml."""

import functools
from typing import Any

from reservas import events
from reservas.database import job_engine
from reservas.observability import logger
from reservas.settings import get_settings

# The function may run 60 s (template.yaml); the rows stay locked while EventBridge is called.
SECONDS = 55


@functools.cache
def _events_client():
    import boto3  # only this function talks to EventBridge
    from botocore.config import Config

    # A slow EventBridge fails the batch (it stays in the outbox) instead of the whole run.
    return boto3.client(
        "events", config=Config(connect_timeout=3, read_timeout=5, retries={"max_attempts": 2})
    )


@logger.inject_lambda_context
def handler(event: dict, context: Any) -> dict:
    bus_name = get_settings().event_bus_name
    if not bus_name:
        raise RuntimeError("RESERVAS_EVENT_BUS_NAME is not set")
    with job_engine(SECONDS).connect() as db:
        result = events.publish_pending(db, _events_client(), bus_name)
    logger.info("outbox published", extra=result)
    return result
