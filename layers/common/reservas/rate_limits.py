"""Rate limits counted in Redis, so every instance of every function shares them (moving windows, as
rate_windows reads them). Redis is never required: when it fails, requests pass, a warning is logged,
and Redis is left alone for a while so that nobody waits on it (redis_breaker)."""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from reservas.cache import reach_redis
from reservas.rate_windows import Window
from reservas.redis_breaker import breaker
from reservas.settings import get_settings

if TYPE_CHECKING:
    from redis import Redis
    from redis.cluster import RedisCluster
    from redis.commands.core import Script

# A count: one window (`100/minute`) of what is counted (identifiers: the bucket, an address...).
Count = tuple[Window, Sequence[str]]

# Every window a request is counted in, in one round trip and atomically: the request takes a place in
# each of them, or, when one is full, in none, and learns in how many seconds that one has room again.
# A window is a list of the times of its places, newest first, at most `limit` long (as the `limits`
# library's moving window keeps it). KEYS: the windows; ARGV: now, then each window's limit and seconds.
ACQUIRE = """
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
    local oldest = redis.call('lindex', key, tonumber(ARGV[2 * i]) - 1)
    if oldest and tonumber(oldest) >= now - tonumber(ARGV[2 * i + 1]) then
        return math.max(1, math.ceil(tonumber(oldest) + tonumber(ARGV[2 * i + 1]) - now))
    end
end
for i, key in ipairs(KEYS) do
    redis.call('lpush', key, ARGV[1])
    redis.call('ltrim', key, 0, tonumber(ARGV[2 * i]) - 1)
    redis.call('expire', key, tonumber(ARGV[2 * i + 1]))
end
return 0
"""


class RateLimiter:
    def __init__(self) -> None:
        self._script: Script | None = None

    def hit(self, limits: list[Window], *identifiers: str) -> int | None:
        """Count one request in every window of `limits`; the seconds to wait when one is full, else None."""
        return self.hit_all([(limit, identifiers) for limit in limits])

    def hit_all(self, counts: Sequence[Count]) -> int | None:
        """Count one request in every count, in one round trip: in all of them or, when one is full, in
        none; the seconds to wait then, else None."""
        client = None if breaker.open else reach_redis("rate limits")
        if client is None:
            return None
        arguments: list[float] = [time.time()]
        for limit, _ in counts:
            arguments += [limit.amount, limit.seconds]
        try:
            retry_after = int(self._acquire(client)(window_keys(counts), arguments, client=client))
        except Exception as error:  # any Redis failure: let the request through
            breaker.trip(error, "rate limits")
            return None
        return retry_after or None

    def clear(self, limits: list[Window], *identifiers: str) -> None:
        self.clear_all([(limit, identifiers) for limit in limits])

    def clear_all(self, counts: Sequence[Count]) -> None:
        """Give back every place taken in these counts, in one round trip."""
        client = None if breaker.open else reach_redis("rate limits")
        if client is None:
            return
        try:
            client.delete(*window_keys(counts))
        except Exception as error:  # any Redis failure: nothing to clear then
            breaker.trip(error, "rate limits")

    def _acquire(self, client: Redis | RedisCluster) -> Script:
        """The script, registered once: called by its digest (EVALSHA), and loaded again by redis-py
        when Redis does not know it (restarted, flushed)."""
        if self._script is None:
            self._script = client.register_script(ACQUIRE)
        return self._script


def window_keys(counts: Sequence[Count]) -> list[str]:
    """The Redis key of each count's window. The identifiers that the counts share, from the first on,
    are the keys' hash tag: on a cluster the windows of one request share a slot, as one script needs."""
    shared: list[str] = []
    for column in zip(*(identifiers for _, identifiers in counts), strict=False):
        if len(set(column)) > 1:
            break
        shared.append(column[0])
    if not shared:
        raise ValueError("the counts of one request must share their first identifier")
    tag = "/".join(shared)
    return [f"LIMITS:{{{tag}}}:{limit.key_for(*identifiers)}" for limit, identifiers in counts]


@functools.cache
def get_rate_limiter() -> RateLimiter | None:
    settings = get_settings()
    if (
        not settings.rate_limits_enabled
        or settings.redis_url is None
        or not settings.redis_url.get_secret_value()
    ):
        return None
    return RateLimiter()


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
