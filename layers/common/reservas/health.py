"""The health check every function answers at GET /{group}/health."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import text

from reservas.cache import get_redis
from reservas.database import get_engine
from reservas.models import Model
from reservas.observability import logger

CheckResult = Literal["ok", "unavailable", "disabled"]


class HealthChecks(Model):
    database: CheckResult
    cache: CheckResult


class Health(Model):
    status: Literal["healthy", "degraded", "unhealthy"]
    service: str
    timestamp: datetime
    checks: HealthChecks


def check_database() -> CheckResult:
    try:
        with get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
        return "ok"
    except Exception as error:  # any failure to reach PostgreSQL means "unavailable"
        logger.warning("health: database unavailable", extra={"error": str(error).splitlines()[0]})
        return "unavailable"


def check_cache() -> CheckResult:
    try:
        client = get_redis()  # a cluster client connects as it is made: out of reach, it fails here
        if client is None:
            return "disabled"
        client.ping()
        return "ok"
    except Exception as error:  # any Redis failure means "unavailable", never an error for the caller
        logger.warning("health: cache unavailable", extra={"error": str(error).splitlines()[0]})
        return "unavailable"


def health(service: str) -> Health:
    checks = HealthChecks(database=check_database(), cache=check_cache())
    if checks.database != "ok":
        status = "unhealthy"
    elif checks.cache == "unavailable":
        status = "degraded"
    else:
        status = "healthy"
    return Health(status=status, service=service, timestamp=datetime.now(UTC), checks=checks)
