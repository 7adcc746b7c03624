"""Rate limits counted in Redis, so every instance of every function shares them (the `limits` library,
moving windows). Redis is never required: when it fails, requests pass, a warning is logged, and Redis
is left alone for a while so that nobody waits on it (redis_breaker)."""

from __future__ import annotations

import functools
import hashlib
import math
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from reservas.redis_breaker import breaker
from reservas.settings import get_settings

if TYPE_CHECKING:
    from limits import RateLimitItem
    from limits.strategies import MovingWindowRateLimiter

REDIS_TIMEOUT_SECONDS = 0.5


class RateLimiter:
    def __init__(self, redis_url: str) -> None:
        self._redis_url = redis_url
        self._strategy: MovingWindowRateLimiter | None = None
        self._lock = threading.Lock()

    def hit(self, limits: list[RateLimitItem], *identifiers: str) -> int | None:
        """Count one request against every limit; the seconds to wait when one is exceeded, else None."""
        strategy = self._available_strategy()
        if strategy is None:
            return None
        try:
            for limit in limits:
                if not strategy.hit(limit, *identifiers):
                    return self._retry_after(strategy, limit, identifiers)
        except Exception as error:  # any Redis failure: let the request through
            self._pause(error)
        return None

    def clear(self, limits: list[RateLimitItem], *identifiers: str) -> None:
        strategy = self._available_strategy()
        if strategy is None:
            return
        try:
            for limit in limits:
                strategy.clear(limit, *identifiers)
        except Exception as error:  # any Redis failure: nothing to clear then
            self._pause(error)

    @staticmethod
    def _retry_after(
        strategy: MovingWindowRateLimiter, limit: RateLimitItem, identifiers: tuple[Any, ...]
    ) -> int:
        reset_at, _ = strategy.get_window_stats(limit, *identifiers)
        return max(1, math.ceil(reset_at - time.time()))

    def _available_strategy(self) -> MovingWindowRateLimiter | None:
        if breaker.open:
            return None
        try:
            return self._strategy_made()
        except Exception as error:  # a cluster's storage connects as it is made: out of reach, pass
            self._pause(error)
            return None

    def _strategy_made(self) -> MovingWindowRateLimiter:
        with self._lock:
            if self._strategy is None:
                from limits.storage import RedisClusterStorage, RedisStorage
                from limits.strategies import MovingWindowRateLimiter

                timeout = REDIS_TIMEOUT_SECONDS
                if get_settings().redis_cluster:  # each limit is one key: any slot will do
                    scheme, rest = self._redis_url.split("://", 1)
                    cluster_url = "redis+cluster://" + rest.split("/", 1)[0]  # no database in a cluster
                    storage: RedisStorage | RedisClusterStorage = RedisClusterStorage(
                        cluster_url,
                        ssl=scheme == "rediss",
                        socket_connect_timeout=timeout,
                        socket_timeout=timeout,
                    )
                else:
                    storage = RedisStorage(
                        self._redis_url, socket_connect_timeout=timeout, socket_timeout=timeout
                    )
                self._strategy = MovingWindowRateLimiter(storage)
            return self._strategy

    def _pause(self, error: Exception) -> None:
        breaker.trip(error, "rate limits")


@functools.cache
def get_rate_limiter() -> RateLimiter | None:
    settings = get_settings()
    if (
        not settings.rate_limits_enabled
        or settings.redis_url is None
        or not settings.redis_url.get_secret_value()
    ):
        return None
    return RateLimiter(settings.redis_url.get_secret_value())


@functools.cache
def parse_limits(notation: str) -> list[RateLimitItem]:
    from limits import parse_many

    return parse_many(notation)


class GenuineKeys:
    """The API keys this instance has lately seen accepted, by digest. Their requests are counted per
    key; a key not among them (made up, or not seen yet) is counted against its address, so that no
    request escapes the address's limit by carrying a key that no route ever looks at."""

    def __init__(self, remembered_seconds: float = 300, most: int = 10_000) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._remembered_seconds = remembered_seconds
        self._most = most
        self._lock = threading.Lock()

    def remember(self, digest: str) -> None:
        with self._lock:
            self._seen[digest] = time.monotonic() + self._remembered_seconds
            self._seen.move_to_end(digest)
            while len(self._seen) > self._most:
                self._seen.popitem(last=False)

    def forget(self, digest: str) -> None:
        with self._lock:
            self._seen.pop(digest, None)

    def __contains__(self, digest: object) -> bool:
        with self._lock:
            until = self._seen.get(digest) if isinstance(digest, str) else None
            return until is not None and until > time.monotonic()


genuine_keys = GenuineKeys()


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
