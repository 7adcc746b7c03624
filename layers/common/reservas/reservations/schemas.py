"""What the reservations routes take and give."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from reservas import text
from reservas.models import Model
from reservas.money import Money
from reservas.reservations import recurrence
from reservas.timestamps import Instant

Status = Literal["pending", "active", "cancelled", "completed", "released", "declined", "expired"]
Notes = Annotated[str, text.FreeText(max_length=1000)]


class BookingRequest(Model):
    # Unknown fields (status, cost, user_id...) are refused: nobody sets those but the service.
    model_config = ConfigDict(extra="forbid")

    space_id: uuid.UUID
    start_time: Instant
    end_time: Instant
    attendees: Annotated[int, Field(ge=1, le=100_000)] = 1
    notes: Notes = ""


class BookingChange(Model):
    """What a booking's owner (or an admin) may change; what is left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    start_time: Instant | None = None
    end_time: Instant | None = None
    attendees: Annotated[int, Field(ge=1, le=100_000)] | None = None
    notes: Notes | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> BookingChange:
        if not self.model_fields_set:
            raise ValueError("give at least one of start_time, end_time, attendees, notes")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; leave it out to keep it")
        return self


class Reservation(Model):
    id: uuid.UUID
    user_id: uuid.UUID | None = Field(description="Who booked it; null once they deleted their account.")
    space_id: uuid.UUID
    start_time: datetime
    end_time: datetime
    status: Status
    attendees: int
    notes: str
    duration_minutes: int
    cost: Money
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None
    series_id: uuid.UUID | None = Field(
        default=None, description="The series it is an occurrence of, if any."
    )
    check_in_by: datetime | None = Field(
        default=None,
        description="In a space that requires check-in: check in before this, or the booking is released.",
    )
    checked_in_at: datetime | None = None
    released_at: datetime | None = Field(
        default=None, description="When it was released for want of a check-in (status `released`)."
    )
    decide_by: datetime | None = Field(
        default=None,
        description="A pending booking (its space requires approval) expires if not decided by then.",
    )
    decided_at: datetime | None = None
    decision_reason: str = ""


class Suggestion(Model):
    space_id: uuid.UUID
    start_time: datetime
    end_time: datetime


def _supported_rule(text: str) -> str:
    return str(recurrence.parse(text))  # InvalidRule is a ValueError: a 422 that says what to write


RecurrenceRule = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        description="When the first occurrence repeats: a subset of RFC 5545 RRULE (FREQ=DAILY, WEEKLY or "
        "MONTHLY; INTERVAL; BYDAY; BYMONTHDAY; COUNT or UNTIL), in the space's time zone. "
        f"At most {recurrence.MAX_OCCURRENCES} occurrences.",
        examples=["FREQ=WEEKLY;BYDAY=MO;COUNT=10"],
    ),
    AfterValidator(_supported_rule),
]
SeriesMode = Literal["all_or_nothing", "skip_conflicts"]


class SeriesRequest(BookingRequest):
    """The first occurrence, and the rule it repeats by."""

    rule: RecurrenceRule
    mode: SeriesMode = Field(
        default="all_or_nothing",
        description="all_or_nothing: every occurrence or none; skip_conflicts: every occurrence that "
        "can be booked, and the others listed in `skipped`.",
    )


class Skipped(Model):
    start_time: datetime
    end_time: datetime
    reason: Literal["taken", "closed", "rule"] = Field(
        description="taken: someone else holds the time; closed: the space is closed then; rule: the "
        "occurrence breaks a booking rule (opening hours, how far ahead...), said in `detail`."
    )
    detail: str


class Series(Model):
    id: uuid.UUID
    user_id: uuid.UUID | None
    space_id: uuid.UUID
    rule: str
    created_at: datetime
    occurrences: list[Reservation] = Field(description="Every occurrence booked, cancelled ones included.")


class SeriesBooked(Series):
    skipped: list[Skipped] = Field(description="Occurrences not booked (skip_conflicts only).")


class CheckInWithCode(Model):
    """What the QR code where a space is carries."""

    model_config = ConfigDict(extra="forbid")

    space_id: uuid.UUID
    code: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class Decision(Model):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, text.Line(max_length=500)] = ""


class WaitlistEntry(Model):
    id: uuid.UUID
    space_id: uuid.UUID
    start_time: datetime
    end_time: datetime
    attendees: int
    notes: str
    created_at: datetime
    status: Literal["waiting", "promoted", "expired"]
    reservation_id: uuid.UUID | None
