"""Promotes the waitlist: an EventBridge rule in template.yaml invokes it with every event that frees
time in a space (a cancellation, a release, an expiry, a decline, a change, a series cancelled or
declined). It books the first waiting entries whose interval is now free (reservations.waitlist.promote).
EventBridge may deliver an event twice, and two events may come at once: promoting is idempotent per
entry."""

import uuid
from typing import Any

from reservas.database import job_engine
from reservas.observability import logger
from reservas.reservations import waitlist

SECONDS = 25  # the function may run 30 s (template.yaml)


def spaces_freed(event: dict[str, Any]) -> set[uuid.UUID]:
    """The spaces whose time an event freed: its `space_id`, or those of a series' cancelled occurrences."""
    detail = event.get("detail") or {}
    occurrences = [*(detail.get("cancelled") or []), *(detail.get("occurrences") or [])]
    found = [detail.get("space_id"), *(o.get("space_id") for o in occurrences)]
    return {uuid.UUID(str(space_id)) for space_id in found if space_id}


@logger.inject_lambda_context
def handler(event: dict, context: Any) -> dict:
    promoted = 0
    with job_engine(SECONDS).connect() as db:
        for space_id in sorted(spaces_freed(event)):
            promoted += len(waitlist.promote(db, space_id))
    logger.info("waitlist promoted", extra={"promoted": promoted, "event": event.get("detail-type")})
    return {"promoted": promoted}
