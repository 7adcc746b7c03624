"""Deletes rows no request will read again; scheduled daily by template.yaml."""

from typing import Any

from reservas.database import get_engine
from reservas.maintenance import purge
from reservas.observability import logger


@logger.inject_lambda_context
def handler(event: dict, context: Any) -> dict:
    with get_engine().connect() as session:
        counts = purge(session)
    logger.info("maintenance done", extra=counts)
    return counts
