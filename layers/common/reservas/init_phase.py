"""What nearly every request of an API function needs, made during Lambda's init phase rather than by
the first request.

An on-demand function's init runs on a full vCPU; its invocations run on the memory's share of one
(the template's 512 MB: 0.29 vCPU, full at 1,769 MB). CPU work that every cold start pays anyway
therefore takes about 3.5 times less wall time at init than in the first request (docs/benchmarks.md,
Cold start, models it). With provisioned concurrency or SnapStart, init runs before any request
arrives. What only some requests need still waits for them (tests/unit/test_cold_start_imports.py).

Nothing here connects to PostgreSQL or Redis. In AWS it reads the secrets every request needs (the
database's, the JWT key, CloudFront's proof), which loads boto3. A step that fails is logged and left
to the first request, which answers as it would have; after Secrets Manager fails once, the steps
left are not tried, so that init waits on it once. Nor are they once init has spent STEPS_SECONDS on
them: a Secrets Manager that answers each read in seconds would hold init, one read after the other,
past the 10 s Lambda gives it (then Lambda runs init again within the first request). Settings that
cannot be read fail every step and every request: init says so once, as an error naming them."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

from reservas import cache, credentials, database, viewer_address
from reservas.credentials import SecretsUnreachable
from reservas.observability import logger
from reservas.settings import get_settings

STEPS_SECONDS = 2.0  # far more than they take when Secrets Manager answers as it should


def prepare() -> None:
    with warnings.catch_warnings():  # as FastAPI imports it, when it builds its first route
        warnings.simplefilter("ignore", UserWarning)
        from pydantic import v1  # noqa: F401
    try:
        get_settings()
    except ValueError as error:  # every step needs them, and every request fails on them too
        logger.error(
            "the settings cannot be read; every request fails until they are fixed",
            extra={"error": str(error)},
        )
        return
    steps: list[Callable[[], object]] = [
        cache.get_redis,  # redis-py
        database.get_engine,  # SQLAlchemy's PostgreSQL dialects; in AWS, the database's secret
        credentials.get_jwt_keys,  # in AWS, the JWT secret
        viewer_address.origin_secrets,  # behind CloudFront, its proof
    ]
    started = time.monotonic()
    for number, step in enumerate(steps):
        if time.monotonic() - started > STEPS_SECONDS:
            left = [later.__name__ for later in steps[number:]]
            logger.warning(
                "init left its last steps to the first request: it took too long", extra={"steps": left}
            )
            return
        try:
            step()
        except Exception as error:  # the first request does it again, and answers as it would have
            logger.warning(
                "init left a step to the first request", extra={"step": step.__name__, "error": repr(error)}
            )
            if isinstance(error, SecretsUnreachable):
                return
