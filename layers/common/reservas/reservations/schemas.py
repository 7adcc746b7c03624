"""What the reservations routes take and give."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

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
