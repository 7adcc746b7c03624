"""Applies the database migrations after a deploy: `sam remote invoke MigrateFunction`. Idempotent."""

from typing import Any

from reservas.database import build_engine
from reservas.migrations import current_revision, upgrade
from reservas.observability import logger
from reservas.settings import get_database_url


@logger.inject_lambda_context
def handler(event: dict, context: Any) -> dict:
    engine = build_engine(get_database_url())
    try:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    finally:
        engine.dispose()
    logger.info("migrations applied", extra={"from": before, "to": after})
    return {"from": before, "to": after}
