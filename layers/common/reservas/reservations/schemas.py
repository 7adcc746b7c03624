"""What the reservations routes take and give."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from reservas import text
from reservas.money import Money
from reservas.timestamps import Instant

Status = Literal["active", "cancelled", "completed"]
Notes = Annotated[str, text.FreeText(max_length=1000)]


class BookingRequest(BaseModel):
    # Unknown fields (status, cost, user_id...) are refused: nobody sets those but the service.
    model_config = ConfigDict(extra="forbid")

    space_id: uuid.UUID
    start_time: Instant
    end_time: Instant
    attendees: Annotated[int, Field(ge=1, le=100_000)] = 1
    notes: Notes = ""


class BookingChange(BaseModel):
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


class Reservation(BaseModel):
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


class Suggestion(BaseModel):
    space_id: uuid.UUID
    start_time: datetime
    end_time: datetime
