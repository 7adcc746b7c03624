"""Models build on first use (models.Model)."""

from __future__ import annotations

import sys
import threading
from datetime import datetime
from typing import Any, Literal

from reservas.models import Model

ANSWER = {
    "status": "healthy",
    "service": "spaces",
    "timestamp": "2026-01-01T00:00:00Z",
    "checks": {"database": "ok", "cache": "ok"},
}


def first_uses_at_once(threads: int) -> list[Any]:
    """What `threads` threads get from the first use of a model, all at once, as the local API's first
    requests meet."""

    class Checks(Model):
        database: Literal["ok", "unavailable"]
        cache: Literal["ok", "unavailable"]

    class Answer(Model):
        status: Literal["healthy", "degraded"]
        service: str
        timestamp: datetime
        checks: Checks

    start = threading.Barrier(threads)
    answers: list[Any] = []

    def first_use() -> None:
        start.wait()
        try:
            answers.append(Answer.model_validate(ANSWER).model_dump(mode="json"))
        except Exception as error:  # what the race made of it, counted below
            answers.append(repr(error))

    workers = [threading.Thread(target=first_use) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return answers


def test_threads_that_first_use_a_model_at_once_all_get_it_whole():
    """Pydantic builds a deferred model in any thread that finds it unbuilt; a build that met another
    one removed the validator it had set, and a third thread validated with Model's (no fields): `{}`,
    or an AttributeError later. Thread switches as often as a busy machine makes them."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        answers = [answer for _ in range(100) for answer in first_uses_at_once(16)]
    finally:
        sys.setswitchinterval(interval)
    wrong = [answer for answer in answers if answer != ANSWER]
    assert not wrong, f"{len(wrong)} of {len(answers)}: {wrong[:3]}"
