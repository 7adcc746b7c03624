"""Publishes the outbox to EventBridge; scheduled every minute by template.yaml."""

import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from reservas import events
from reservas.database import job_engine
from reservas.observability import logger, metrics
from reservas.settings import get_settings

# The function may run 60 s (template.yaml): no new PutEvents call begins after PUBLISHING_SECONDS.
SECONDS = 55
PUBLISHING_SECONDS = 45
MOST_PER_RUN = 50_000


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context: Any) -> dict:
    bus_name = get_settings().event_bus_name
    if not bus_name:
        raise RuntimeError("RESERVAS_EVENT_BUS_NAME is not set")
    with job_engine(SECONDS).connect() as db:
        result = events.publish_pending(
            db, events.client(), bus_name, limit=MOST_PER_RUN, until=time.monotonic() + PUBLISHING_SECONDS
        )
        left = events.backlog(db)
    # What the optional alarm watches (OutboxBacklogAlarm): events waiting, and for how long.
    metrics.add_metric(name="OutboxPending", unit=MetricUnit.Count, value=left["pending"])
    metrics.add_metric(name="OutboxOldestSeconds", unit=MetricUnit.Seconds, value=left["oldest_seconds"])
    result = {**result, **left}
    logger.info("outbox published", extra=result)
    return result
