"""Redis: one client per container, or none when REDIS_URL is empty. Redis is never required to answer:
every call here turns a Redis failure into "no cache", and reads leave Redis alone for a while after one
(redis_breaker).

Invalidations are never skipped: a change made while reads pause still bumps its versions, so entries
written before it are not served once Redis is read again. An invalidation that Redis itself loses (it
is down or frozen at that moment) cannot be replayed from a Lambda instance that may never run again:
every entry therefore lives at most `RESERVAS_CACHE_TTL_SECONDS`, which bounds how stale an answer can
be after any outage."""

from __future__ import annotations

import functools
import json
import time
from typing import TYPE_CHECKING, Any, cast

from reservas.redis_breaker import breaker
from reservas.settings import get_settings

if TYPE_CHECKING:
    from redis import Redis
    from redis.cluster import RedisCluster

# Redis sits next to the functions; a slow answer means it is in trouble, and PostgreSQL can answer instead.
REDIS_TIMEOUT_SECONDS = 0.5


def reach_redis(what: str) -> Redis | RedisCluster | None:
    """get_redis(), or None when its client cannot be made: a cluster client connects as it is made (to
    learn the slots), so a cluster out of reach fails here, which trips the breaker like any failure."""
    try:
        return get_redis()
    except Exception as error:  # any Redis failure: no cache, and it is tried again after the pause
        breaker.trip(error, what)
        return None


@functools.cache
def get_redis() -> Redis | RedisCluster | None:
    url = get_settings().redis_url
    if url is None or not url.get_secret_value():
        return None
    import redis  # imported on first use, not at cold start

    options: dict[str, Any] = {
        "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
        "socket_timeout": REDIS_TIMEOUT_SECONDS,
        "decode_responses": True,
    }
    if get_settings().redis_cluster:  # ElastiCache Serverless, a Redis or Valkey cluster
        from redis.cluster import RedisCluster

        return RedisCluster.from_url(url.get_secret_value(), **options)
    return redis.Redis.from_url(url.get_secret_value(), health_check_interval=30, **options)


class Cache:
    """JSON values under string keys, with versioned keys for exact invalidation: a reader reads the
    version first and writes under it, so a value computed before a change can never be read after it."""

    def _client(self) -> Redis | RedisCluster | None:
        """The client for reads and writes of values; None while Redis is left alone after a failure."""
        return None if breaker.open else reach_redis("cache")

    def _failed(self, error: Exception) -> None:
        breaker.trip(error, "cache")

    def versions(self, *keys: str) -> list[str] | None:
        """The current versions of families of keys ('0' before any change); None when Redis is out."""
        client = self._client()
        if client is None:
            return None
        try:
            return [str(value or "0") for value in client.mget(keys)]
        except Exception as error:  # any Redis failure: answer from PostgreSQL
            self._failed(error)
            return None

    def bump(self, *version_keys: str) -> None:
        """Invalidate every value stored under these versions; tried even while reads pause."""
        client = reach_redis("cache")
        if client is None:
            return
        try:
            with client.pipeline(transaction=False) as pipe:
                for key in version_keys:
                    pipe.incr(key)
                pipe.execute()
        except Exception as error:  # any Redis failure: values expire by their TTL
            self._failed(error)

    def get_many(self, *keys: str) -> list[Any | None]:
        """The values under these keys, in one round trip; None for each miss."""
        return [None if text is None else json.loads(text) for text in self.texts(*keys)]

    def texts(self, *keys: str) -> list[str | None]:
        """The JSON texts under these keys, as stored, in one round trip; None for each miss."""
        client = self._client()
        if client is None:
            return [None] * len(keys)
        try:
            return cast(list[str | None], client.mget(keys))  # text: the client decodes answers
        except Exception as error:  # any Redis failure: all misses
            self._failed(error)
            return [None] * len(keys)

    def set(self, key: str, value: Any, *, stale_at: float | None = None) -> None:
        """Store a value until RESERVAS_CACHE_TTL_SECONDS from now, or until `stale_at` (a Unix time)
        when that comes first: an absolute expiry (PXAT, Redis 6.2+), so that a SET which a frozen Redis
        runs only when it thaws expires when it would have anyway."""
        self.set_text(key, json.dumps(value, separators=(",", ":")), stale_at=stale_at)

    def set_text(self, key: str, text: str, *, stale_at: float | None = None) -> None:
        """`set`, for a value already written as JSON."""
        client = self._client()
        if client is None:
            return
        expires_at = time.time() + get_settings().cache_ttl_seconds
        if stale_at is not None:
            expires_at = min(expires_at, stale_at)
        expires_at_ms = int(expires_at * 1000)
        try:
            client.set(key, text, pxat=expires_at_ms)
        except Exception as error:  # any Redis failure: not cached, nothing lost
            self._failed(error)


cache = Cache()
