"""Redis: one client per container, or none when REDIS_URL is empty. Redis is never required to answer."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from reservas.settings import get_settings

if TYPE_CHECKING:
    from redis import Redis

# Redis sits next to the functions; a slow answer means it is in trouble, and PostgreSQL can answer instead.
REDIS_TIMEOUT_SECONDS = 0.5


@functools.cache
def get_redis() -> Redis | None:
    url = get_settings().redis_url
    if url is None or not url.get_secret_value():
        return None
    import redis  # imported on first use, not at cold start

    return redis.Redis.from_url(
        url.get_secret_value(),
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        health_check_interval=30,
        decode_responses=True,
    )
