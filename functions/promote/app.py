"""Promotes the waitlist: an EventBridge rule in template.yaml invokes it with every event that frees
time in a space (a cancellation, a release, an expiry, a decline, a change, a series cancelled or
declined, a closure deleted). It books the first waiting entries whose interval is now free
(reservations.waitlist.promote). EventBridge may deliver an event twice, and two events may come at
once: promoting is idempotent per entry."""

import uuid
from typing import Any

from reservas import events
from reservas.database import job_engine
from reservas.observability import logger
from reservas.reservations import waitlist

SECONDS = 25  # the function may run 30 s (template.yaml)


def spaces_freed(event: dict[str, Any]) -> set[uuid.UUID]:
    """The spaces whose time an event freed: its `space_id`, its `space_ids` (a closure deleted), or those
    of a series' occurrences. What cannot be read is left out (and logged), never the rest."""
    detail = event.get("detail")
    if not isinstance(detail, dict):
        logger.warning("event without a detail object", extra={"event": event.get("detail-type")})
        return set()
    occurrences = [*_listed(detail.get("cancelled")), *_listed(detail.get("occurrences"))]
    found = [
        detail.get("space_id"),
        *_listed(detail.get("space_ids")),
        *(o.get("space_id") for o in occurrences if isinstance(o, dict)),
    ]
    spaces = set()
    for value in found:
        try:
            spaces.add(uuid.UUID(str(value)))
        except ValueError:
            if value is not None:
                logger.warning("not a space id in an event", extra={"event": event.get("detail-type")})
    return spaces


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


@logger.inject_lambda_context
def handler(event: dict, context: Any) -> dict:
    promoted = 0
    engine = job_engine(SECONDS)
    with events.collecting() as announced, engine.connect() as db:
        for space_id in sorted(spaces_freed(event)):
            promoted += len(waitlist.promote(db, space_id))
    events.publish_now(engine, announced)
    logger.info("waitlist promoted", extra={"promoted": promoted, "event": event.get("detail-type")})
    return {"promoted": promoted}
