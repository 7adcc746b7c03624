"""Releases the bookings nobody checked in to by the end of their grace period, and expires those nobody
approved in time; scheduled every minute by template.yaml. Reads already leave such a booking's time
free, and a booking that meets one releases it first: this run is what makes them read so and
announces them, on time and without a person."""

from typing import Any

from reservas import events
from reservas.database import job_engine
from reservas.observability import logger
from reservas.reservations import service
from reservas.spaces import cache

# The function may run 60 s (template.yaml).
SECONDS = 55


@logger.inject_lambda_context
def handler(event: dict, context: Any) -> dict:
    engine = job_engine(SECONDS)
    with events.collecting() as announced, engine.connect() as db:
        released = service.release_due(db)
        db.commit()
    for space_id in {reservation.space_id for reservation in released}:
        cache.bookings_changed(space_id)
    events.publish_now(engine, announced)  # the waitlist hears of the freed time now, not in a minute
    logger.info("no-shows released", extra={"released": len(released)})
    return {"released": len(released)}
