"""Publishes the outbox to EventBridge; scheduled every minute by template.yaml."""

import functools
from typing import Any

from reservas import events
from reservas.database import get_engine
from reservas.observability import logger
from reservas.settings import get_settings


@functools.cache
def _events_client():
    import boto3  # only this function talks to EventBridge

    return boto3.client("events")


@logger.inject_lambda_context
def handler(event: dict, context: Any) -> dict:
    bus_name = get_settings().event_bus_name
    if not bus_name:
        raise RuntimeError("RESERVAS_EVENT_BUS_NAME is not set")
    with get_engine().connect() as session:
        result = events.publish_pending(session, _events_client(), bus_name)
    logger.info("outbox published", extra=result)
    return result
