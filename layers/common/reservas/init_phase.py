"""What nearly every request of an API function needs, made during Lambda's init phase rather than by
the first request: an on-demand init runs on a full vCPU, an invocation on the memory's share of one
(0.29 vCPU at the template's 512 MB), so CPU work every cold start pays anyway costs about 3.5 times
less here (docs/benchmarks.md, Cold start). With provisioned concurrency or SnapStart, init runs before
any request arrives. What only some requests need still waits for them.

Nothing here connects to PostgreSQL or Redis; in AWS it reads the secrets every request needs, which
loads boto3. A step that fails is logged and left to the first request, which answers as it would
have. Init stops trying after Secrets Manager fails once, or after STEPS_SECONDS: Lambda gives an init
10 s, then runs it again within the first request. Settings that cannot be read are logged once."""

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
