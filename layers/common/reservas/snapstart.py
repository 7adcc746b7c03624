"""Lambda SnapStart (the template's `SnapStart=true`): Lambda runs a function's init once, snapshots the
process, and starts every new instance from a copy of it. Whatever init made is in every copy.

- Before the snapshot, what requests load or build only when they need it (boto3, Redis, the password
  list, the QR codes..., every route of the function's app: app_factory.DeferredRoute, and every
  model: models.Model) is loaded and built now, so no request of a restored instance pays for it;
  and the connections made so far are closed, since they cannot be carried into another instance.
- After each restore: the `random` module is seeded anew (every copy would otherwise draw the same
  numbers), and every client that holds a connection or a cached secret (PostgreSQL, Redis, the rate
  limiter, EventBridge, Secrets Manager's cache) is built again on first use, so that nothing opened
  or read before the snapshot is used, and a secret rotated since is read again. Tokens, ids and keys
  come from `secrets` and `uuid4` (the kernel's randomness), which copies never share.

The hooks come from `snapshot-restore-py`, which Lambda's Python runtime provides; elsewhere (local
runs) there is nothing to register."""

from __future__ import annotations

import importlib
import random
from typing import TYPE_CHECKING

from reservas.observability import logger

if TYPE_CHECKING:
    from fastapi import FastAPI

# What some requests load on first use (kept lazy for cold starts without SnapStart: see
# tests/unit/test_cold_start_imports.py), loaded before the snapshot instead.
EAGER_MODULES = (
    "boto3",
    "botocore.config",
    "redis",
    "reservas.aws_secrets",
    "reservas.leaving",
    "reservas.spaces.service",
    "reservas.reservations.service",
    "reservas.reservations.series",
    "zxcvbn.frequency_lists",
    "segno",
    "icalendar",
    "dateutil.rrule",
)


def install(app: FastAPI) -> bool:
    """Register the hooks, once per process, and `app` as one whose routes are built before the
    snapshot; False where the runtime offers none."""
    try:
        from snapshot_restore_py import (  # type: ignore[import-untyped]  # no type information
            register_after_restore,
            register_before_snapshot,
        )
    except ImportError:
        return False
    _apps.append(app)
    global _installed
    if not _installed:
        register_before_snapshot(before_snapshot)
        register_after_restore(after_restore)
        _installed = True
    return True


_installed = False
_apps: list[FastAPI] = []


def before_snapshot() -> None:
    loaded = []
    for name in EAGER_MODULES:
        try:
            importlib.import_module(name)
            loaded.append(name)
        except ImportError:  # a module this function's layer does not carry
            continue
    from reservas import passwords
    from reservas.app_factory import DeferredRoute
    from reservas.models import every_model

    for app in _apps:
        for route in app.routes:
            if isinstance(route, DeferredRoute):
                route.build()
    for model in every_model():
        if not model.__pydantic_complete__:
            model.model_rebuild(force=True)
    passwords.warm_up()
    forget_connections(close=True)
    logger.info("ready for the snapshot", extra={"loaded": loaded})


def after_restore() -> None:
    random.seed()
    forget_connections(close=False)  # the sockets belong to the instance that was snapshotted
    logger.info("restored from a snapshot: connections and cached secrets will be made anew")


def forget_connections(*, close: bool) -> None:
    """Forget what holds a connection (closing it first when `close`), and what was built or read from
    the environment or Secrets Manager, so that the next use builds it again (tests/conftest.py
    reset_caches uses it too); a secret that could not be read, too, so that it is tried at once."""
    from reservas import cache, database, events, rate_limits, settings, viewer_address

    if database.get_engine.cache_info().currsize:
        database.get_engine().dispose(close=close)
    database.get_engine.cache_clear()
    database.job_engine.cache_clear()
    cache.get_redis.cache_clear()
    rate_limits.get_rate_limiter.cache_clear()
    events.client.cache_clear()
    settings.get_settings.cache_clear()
    viewer_address.unreadable.reset()
    try:
        from reservas import aws_secrets
    except ImportError:  # no Powertools parameters (boto3) in this layer: no secret was read
        return
    aws_secrets.forget()
