"""The spaces' cache: the original design's keys, invalidated exactly by versions.

    spaces:list:g<L>:<query>                   L = spaces:list:gen (any space changed)
    spaces:{<id>}:details:g<S>                 S = spaces:{<id>}:gen (this space changed)
    spaces:{<id>}:availability:g<S>.<B>:<range>  B = spaces:{<id>}:bookings:gen (booked or cancelled)

A space's keys share the hash tag `{<id>}`: in a cluster (ElastiCache Serverless) a command on several
keys works only when they hash to one slot, and the reads below ask for a space's two versions, then
its two values, in one command each.

Every entry lives RESERVAS_CACHE_TTL_SECONDS (55 s) at most: the design's 5 and 10 minutes for lists and
details would let an invalidation lost in a Redis outage show a deactivated space for 10 minutes.

A reader reads the versions before it computes and stores under them, so an answer computed before a
change is never read after it; a change bumps a version after it commits. A read of a space and its
availability costs two round trips: the versions, then both values."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reservas.cache import cache

LIST_VERSION = "spaces:list:gen"


def _tagged(space_id: uuid.UUID) -> str:
    """The prefix of a space's keys, with its hash tag."""
    return f"spaces:{{{space_id}}}"


def _settings_version(space_id: uuid.UUID) -> str:
    return f"{_tagged(space_id)}:gen"


def _bookings_version(space_id: uuid.UUID) -> str:
    return f"{_tagged(space_id)}:bookings:gen"


@dataclass(frozen=True)
class SpaceEntry:
    """What the cache holds for one space (and one availability range); keys are None without Redis."""

    details_key: str | None = None
    availability_key: str | None = None
    details: dict[str, Any] | None = None
    availability: dict[str, Any] | None = None


def lookup(space_id: uuid.UUID, range_key: str | None = None) -> SpaceEntry:
    versions = cache.versions(_settings_version(space_id), _bookings_version(space_id))
    if versions is None:
        return SpaceEntry()
    settings_v, bookings_v = versions
    details_key = f"{_tagged(space_id)}:details:g{settings_v}"
    if range_key is None:
        [details] = cache.get_many(details_key)
        return SpaceEntry(details_key, None, details, None)
    availability_key = f"{_tagged(space_id)}:availability:g{settings_v}.{bookings_v}:{range_key}"
    details, availability = cache.get_many(details_key, availability_key)
    return SpaceEntry(details_key, availability_key, details, availability)


def store_details(entry: SpaceEntry, value: dict[str, Any]) -> None:
    if entry.details_key is not None:
        cache.set(entry.details_key, value)


def store_availability(entry: SpaceEntry, value: dict[str, Any], *, stale_at: float | None = None) -> None:
    """`stale_at`: when the answer changes by itself (a booking nobody checked in to lapses then)."""
    if entry.availability_key is not None:
        cache.set(entry.availability_key, value, stale_at=stale_at)


def cached_list(query: dict[str, Any], compute: Callable[[], str]) -> str:
    """Cache-aside for catalogue pages, as JSON text: the stored page, or `compute()` stored under the
    current version. The text is answered as it is stored, neither parsed nor validated again."""
    versions = cache.versions(LIST_VERSION)
    if versions is None:
        return compute()
    digest = hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:32]
    key = f"spaces:list:g{versions[0]}:{digest}"
    [text] = cache.texts(key)
    if text is None:
        text = compute()
        cache.set_text(key, text)
    return text


def space_changed(space_id: uuid.UUID) -> None:
    """After a space's settings change: its details, its availability and every list."""
    cache.bump(_settings_version(space_id), LIST_VERSION)


def bookings_changed(space_id: uuid.UUID) -> None:
    """After a booking or a cancellation commits: the space's availability, nothing else."""
    cache.bump(_bookings_version(space_id))
