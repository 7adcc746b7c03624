"""What the spaces function's occasional routes take and give: closures, check-in codes, managers and
usage. Apart from spaces/schemas.py, which the reservations function loads at its cold start too."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field

from reservas import text
from reservas.models import Model
from reservas.timestamps import Instant


class ClosureRequest(Model):
    """POST /spaces/{id}/closures: a time when the space takes no bookings."""

    model_config = ConfigDict(extra="forbid")

    start_time: Annotated[Instant, Field(description="A start in the past is read as now.")]
    end_time: Annotated[Instant, Field(description="In the future; at most 366 days after the start.")]
    reason: Annotated[str, text.Line(max_length=255), Field(description="Why, for people to read.")] = ""
    cancel_bookings: bool = Field(
        False,
        description="Cancel the bookings in the way (each with a ReservationCancelled event whose "
        "`reason` is `closure`), instead of a 409 that lists them.",
    )


class LocationClosureRequest(ClosureRequest):
    """POST /closures: a time when every space at a location takes no bookings."""

    location: Annotated[
        str,
        text.Line(min_length=1, max_length=255),
        Field(
            description="Exactly the text of the spaces' `location` (the same characters and case): the "
            "closure covers every space there, and the spaces created at or moved to it while it lasts."
        ),
    ]


class Closure(Model):
    """Time when a space, or every space at a location, takes no bookings. Times are in UTC."""

    id: uuid.UUID
    space_id: uuid.UUID | None = Field(description="The space closed; null for a location's closure.")
    location: str | None = Field(description="The location closed; null for one space's closure.")
    start_time: datetime
    end_time: datetime
    reason: str
    created_at: datetime


class ClosureCreated(Closure):
    cancelled_reservations: list[uuid.UUID] = Field(
        description="The bookings cancelled with it (only with `cancel_bookings`)."
    )
    covered_spaces: list[uuid.UUID] = Field(
        description="The spaces it closes now (a location's: those there today; empty when no space has "
        "that location yet)."
    )


class CheckInCode(Model):
    space_id: uuid.UUID
    code: str
    url: str = Field(
        description="What the QR code holds: the web page's check-in address (RESERVAS_PUBLIC_URL), or "
        "only its path when that is not set."
    )
    svg: str = Field(description="The QR code of `url`, as an SVG element to print.")
    rotated_at: datetime


class Manager(Model):
    id: uuid.UUID
    name: str
    email: str


class Usage(Model):
    space_id: uuid.UUID
    from_: datetime = Field(alias="from")
    to: datetime
    bookings: int = Field(
        description="Bookings starting in the period that held their time: not cancelled, pending, declined "
        "or expired."
    )
    booked_hours: float
    used_hours: float | None = Field(
        description="Hours of bookings someone checked in to; null when none of them asked for check-in."
    )
    released_hours: float = Field(
        description="Hours freed by releasing bookings nobody checked in to (from their check_in_by on)."
    )
    no_shows: int
    no_show_rate: float | None = Field(
        description="No-shows over the bookings whose check-in has closed; null when there were none."
    )

    model_config = {"populate_by_name": True, "serialize_by_alias": True}
