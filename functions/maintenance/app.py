"""Deletes rows no request will read again; scheduled daily by template.yaml."""

from typing import Any

from reservas.database import job_engine
from reservas.maintenance import purge
from reservas.observability import logger

# The function may run 120 s (template.yaml): the first purge after a long pause can take that.
SECONDS = 110


@logger.inject_lambda_context
def handler(event: dict, context: Any) -> dict:
    with job_engine(SECONDS).connect() as db:
        counts = purge(db)
    logger.info("maintenance done", extra=counts)
    return counts
