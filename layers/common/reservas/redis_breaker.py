"""One circuit breaker for Redis. After a failure, the cache and the rate limits leave Redis alone for a
while, so that no request waits on a Redis in trouble: PostgreSQL answers, rate limits pass. Only
invalidations still try (see cache.py)."""

from __future__ import annotations

import time

from aws_lambda_powertools.metrics import MetricUnit

from reservas.observability import logger, metrics

PAUSE_AFTER_FAILURE_SECONDS = 30


class RedisBreaker:
    def __init__(self) -> None:
        self._open_until = 0.0
        self.failures = 0  # in this instance's life; also counted in CloudWatch (RedisFailures)

    @property
    def open(self) -> bool:
        """Whether Redis is being left alone."""
        return time.monotonic() < self._open_until

    def trip(self, error: Exception, what: str) -> None:
        """`what` (the cache, the rate limits) met a Redis failure: leave Redis alone for a while."""
        self._open_until = time.monotonic() + PAUSE_AFTER_FAILURE_SECONDS
        self.failures += 1
        metrics.add_metric(name="RedisFailures", unit=MetricUnit.Count, value=1)
        logger.warning(
            f"{what} off for a while: Redis failed",
            extra={"error": f"{type(error).__name__}: {error}", "pause_seconds": PAUSE_AFTER_FAILURE_SECONDS},
        )

    def reset(self) -> None:
        self._open_until = 0.0


breaker = RedisBreaker()
