"""Round trips to PostgreSQL and Redis, counted at the wire in this process: the tests' per-route
budgets (tests/integration/test_round_trip_budgets.py) and `make bench` use the same count.

A PostgreSQL round trip is one flush of what pg8000 wrote, after which it waits for the server's
answer; a Redis round trip is one command, or one pipeline, that redis-py sends."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pg8000.core
import redis.connection


@contextmanager
def counting() -> Iterator[Counter[str]]:
    """`counts["postgresql"]` and `counts["redis"]`, for what runs inside the block."""
    counts: Counter[str] = Counter()
    flush, send = pg8000.core._flush, redis.connection.AbstractConnection.send_packed_command

    def counted_flush(sock: Any) -> None:
        counts["postgresql"] += 1
        flush(sock)

    def counted_send(self: Any, *args: Any, **kwargs: Any) -> None:
        counts["redis"] += 1
        send(self, *args, **kwargs)

    pg8000.core._flush = counted_flush
    redis.connection.AbstractConnection.send_packed_command = counted_send  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        pg8000.core._flush = flush
        redis.connection.AbstractConnection.send_packed_command = send  # type: ignore[method-assign]
