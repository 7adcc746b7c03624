"""What the webhook routes read and answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field

from reservas.models import Model
from reservas.text import Line

MAX_URL_LENGTH = 2048  # as webhooks.url holds

EventType = Literal[
    "ReservationCreated",
    "ReservationChanged",
    "ReservationCancelled",
    "ReservationReleased",
    "ReservationCheckedIn",
    "ReservationExpired",
    "ReservationApproved",
    "ReservationDeclined",
    "WaitlistPromoted",
    "SeriesBooked",
    "SeriesCancelled",
    "SeriesApproved",
    "SeriesDeclined",
    "SeriesExpired",
    "ClosureDeleted",
]
DeliveryState = Literal["pending", "delivered", "dead"]


def _url_shape(url: str) -> str:
    """The URL's form (scheme, host, no user or password); where it points is checked by the service."""
    from reservas.webhooks import addresses  # with the first webhook registered, not at cold start

    try:
        addresses.parse(url)
    except addresses.Refused as refused:
        raise ValueError(str(refused)) from None
    return url


def _unique(types: list[str]) -> list[str]:
    if len(set(types)) != len(types):
        raise ValueError("must not name an event type twice")
    return types


class WebhookCreate(Model):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[
        str,
        Field(max_length=MAX_URL_LENGTH, description="https:// URL of a public address."),
        AfterValidator(_url_shape),
    ]
    description: Annotated[str, Line(max_length=200)] = ""
    event_types: Annotated[
        list[EventType],
        Field(min_length=1, description="The events to deliver, each once."),
        AfterValidator(_unique),
    ]


class Webhook(Model):
    """An endpoint that receives the events it subscribed to, signed with its secret."""

    id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    created_by: uuid.UUID | None
    created_at: datetime
    previous_secret_until: datetime | None = Field(
        description="Until when deliveries are signed with the secret before the last rotation too."
    )


class WebhookWithSecret(Webhook):
    """A webhook with its signing secret, shown in this answer only: keep it to verify deliveries."""

    secret: str = Field(description="whsec_...: verify deliveries with it (Standard Webhooks).")


class Delivery(Model):
    """One event (or test) for one webhook, with how its attempts went."""

    id: uuid.UUID
    webhook_id: uuid.UUID
    message_id: str = Field(description="The `webhook-id` header: the same on every retry and replay.")
    event_id: int | None
    event_type: str
    payload: dict[str, Any] = Field(description="The body sent: {type, timestamp, data}.")
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status: int | None = Field(description="The receiver's HTTP status at the last attempt.")
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
