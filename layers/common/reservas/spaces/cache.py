"""The spaces' cache: keys and lifetimes of the original design, invalidated exactly by versions.

spaces:list:g{v}:{query}             5 minutes   v = spaces:list:gen, bumped by any change to any space
spaces:{id}:details:g{v}             10 minutes  v = spaces:{id}:gen, bumped by a change to the space
spaces:{id}:availability:g{v}:{range} 1 minute    or by a booking or cancellation in it
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

from reservas.cache import cache

LIST_TTL = 5 * 60
DETAILS_TTL = 10 * 60
AVAILABILITY_TTL = 60
LIST_VERSION = "spaces:list:gen"


def _space_version(space_id: uuid.UUID) -> str:
    return f"spaces:{space_id}:gen"


def cached(version_key: str, key: Callable[[str], str], ttl: int, compute: Callable[[], Any]) -> Any:
    """Cache-aside: the stored value, or `compute()` stored under the version read before computing."""
    version = cache.version(version_key)
    if version is None:
        return compute()
    full_key = key(version)
    value = cache.get(full_key)
    if value is None:
        value = compute()
        cache.set(full_key, value, ttl)
    return value


def cached_list(query: dict, compute: Callable[[], Any]) -> Any:
    digest = hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:32]
    return cached(LIST_VERSION, lambda v: f"spaces:list:g{v}:{digest}", LIST_TTL, compute)


def cached_details(space_id: uuid.UUID, compute: Callable[[], Any]) -> Any:
    return cached(_space_version(space_id), lambda v: f"spaces:{space_id}:details:g{v}", DETAILS_TTL, compute)


def cached_availability(space_id: uuid.UUID, range_key: str, compute: Callable[[], Any]) -> Any:
    return cached(
        _space_version(space_id),
        lambda v: f"spaces:{space_id}:availability:g{v}:{range_key}",
        AVAILABILITY_TTL,
        compute,
    )


def space_changed(space_id: uuid.UUID) -> None:
    """After a space's settings change: its details, its availability and every list."""
    cache.bump(_space_version(space_id), LIST_VERSION)


def bookings_changed(space_id: uuid.UUID) -> None:
    """After a booking or a cancellation commits: the space's availability is stale."""
    cache.bump(_space_version(space_id))
