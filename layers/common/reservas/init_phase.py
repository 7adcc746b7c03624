"""What nearly every request of an API function needs, made during Lambda's init phase rather than by
the first request.

An on-demand function's init runs on a full vCPU; its invocations run on the memory's share of one
(the template's 512 MB: 0.29 vCPU, full at 1,769 MB). CPU work that every cold start pays anyway
therefore takes about 3.5 times less wall time at init than in the first request (docs/benchmarks.md,
Cold start, models it). With provisioned concurrency or SnapStart, init runs before any request
arrives. What only some requests need still waits for them (tests/unit/test_cold_start_imports.py).

Nothing here connects to PostgreSQL or Redis. In AWS it reads the secrets every request needs (the
database's, the JWT key, CloudFront's proof), which loads boto3. A failure here (Secrets Manager
unreachable) is logged and leaves the work to the first request, which answers as it would have."""

from __future__ import annotations

import warnings

from reservas import cache, credentials, database, viewer_address
from reservas.observability import logger


def prepare() -> None:
    try:
        database.get_engine()  # SQLAlchemy's PostgreSQL dialects; in AWS, the database's secret
        cache.get_redis()  # redis-py
        credentials.get_jwt_keys()  # in AWS, the JWT secret
        viewer_address.origin_secrets()  # behind CloudFront, its proof
        with warnings.catch_warnings():  # as FastAPI imports it: to check a route's models
            warnings.simplefilter("ignore", UserWarning)
            from pydantic import v1  # noqa: F401  # FastAPI loads it with the first route it builds
    except Exception as error:  # the first request does it again, and answers as it would have
        logger.warning("init left its preparation to the first request", extra={"error": repr(error)})
