"""What the spaces routes take and give, and every rule a space's settings must follow."""

from __future__ import annotations

import itertools
import re
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from reservas import text
from reservas.models import Model
from reservas.money import LARGEST_AMOUNT, Money, known_currencies, minor_unit, rounded
from reservas.spaces.calendar import DAYS, LONGEST_BOOKING_MINUTES, MINUTES_PER_DAY, minute_of_day

_HHMM = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00")
MAX_ADVANCE_DAYS = 730


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as 'Europe/Madrid'") from None
    return name


def _valid_opening_hours(hours: dict[str, list[list[str]]]) -> dict[str, list[list[str]]]:
    unknown = set(hours) - set(DAYS)
    if unknown:
        raise ValueError(f"unknown day(s) {sorted(unknown)}: use {', '.join(DAYS)}")
    normalised = {}
    for day in DAYS:
        intervals = hours.get(day, [])
        for interval in intervals:
            if len(interval) != 2 or not all(isinstance(t, str) and _HHMM.fullmatch(t) for t in interval):
                raise ValueError(f"{day}: each interval is [open, close] in HH:MM (close may be 24:00)")
            if interval[0] == "24:00":
                raise ValueError(f"{day}: a space cannot open at 24:00")
            if minute_of_day(interval[1]) <= minute_of_day(interval[0]):
                raise ValueError(
                    f"{day}: {interval[0]}-{interval[1]} closes before it opens; "
                    "for hours across midnight, close at 24:00 and open the next day at 00:00"
                )
        ordered = sorted(intervals, key=lambda i: minute_of_day(i[0]))
        for before, after in itertools.pairwise(ordered):
            if minute_of_day(after[0]) < minute_of_day(before[1]):
                raise ValueError(
                    f"{day}: intervals {before[0]}-{before[1]} and {after[0]}-{after[1]} overlap"
                )
        if ordered:
            normalised[day] = [list(i) for i in ordered]
    return normalised


def _distinct_amenities(amenities: list[str]) -> list[str]:
    return list(dict.fromkeys(amenities))


TimeZoneName = Annotated[
    str,
    BeforeValidator(_strip),
    AfterValidator(_known_zone),
    Field(min_length=1, max_length=64, description="An IANA time zone, e.g. Europe/Madrid."),
]
_INTERVAL_SCHEMA = {
    "type": "array",
    "items": {"type": "string", "pattern": f"^(?:{_HHMM.pattern})$"},
    "minItems": 2,
    "maxItems": 2,
}
OpeningHoursField = Annotated[
    dict[str, Annotated[list[list[str]], Field(max_length=12)]],
    AfterValidator(_valid_opening_hours),
    WithJsonSchema(
        {
            "type": "object",
            "properties": {day: {"type": "array", "items": _INTERVAL_SCHEMA, "maxItems": 12} for day in DAYS},
            "additionalProperties": False,
        }
    ),
    Field(
        description="Per weekday (mon..sun), local [open, close] intervals in HH:MM; a missing day is "
        'closed; open all day is [["00:00", "24:00"]].',
        examples=[{"mon": [["08:00", "14:00"], ["15:00", "20:00"]], "sat": [["00:00", "24:00"]]}],
    ),
]
Amenity = Annotated[str, text.Line(min_length=1, max_length=50)]
Amenities = Annotated[list[Amenity], Field(max_length=50), AfterValidator(_distinct_amenities)]


def _error_of(field: str, message: str, value: Any) -> ValidationError:
    """A rule of the whole settings broken by one field, reported at that field (a form marks it),
    not at the settings as a whole."""
    error = PydanticCustomError("value_error", message)
    return ValidationError.from_exception_data(
        "SpaceSettings", [InitErrorDetails(type=error, loc=(field,), input=value)]
    )


def _known_currency(code: str) -> str:
    if code not in known_currencies():
        raise ValueError(
            f"unknown currency {code!r}: use the ISO 4217 code of a currency in use, such as 'EUR'"
        )
    return code


Currency = Annotated[
    str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. EUR"), AfterValidator(_known_currency)
]


_DECIMAL = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,4})?")


def _decimal_string(value: Any) -> Any:
    """Money arrives as a plain decimal string ("25.00"): no JSON number, exponent, sign, space or
    non-ASCII digit, which Python's Decimal would otherwise read."""
    if isinstance(value, str) and not _DECIMAL.fullmatch(value):
        if value.startswith("-") and _DECIMAL.fullmatch(value[1:]):
            raise ValueError("Input should be greater than or equal to 0")
        raise ValueError('money is a decimal string, e.g. "25.00"')
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError('money is a decimal string, e.g. "25.00"')
    return value


Price = Annotated[
    Decimal,
    BeforeValidator(_decimal_string),
    WithJsonSchema({"type": "string", "pattern": f"^{_DECIMAL.pattern}$", "examples": ["25.00"]}),
    Field(
        ge=0,
        max_digits=16,
        decimal_places=4,
        description="Per hour, in the currency's minor unit at most (no decimals for JPY, 3 for BHD).",
    ),
]
SpaceName = Annotated[str, text.Line(min_length=1, max_length=255)]
Location = Annotated[str, text.Line(max_length=255)]
Description = Annotated[str, text.FreeText(max_length=5000)]
CheckInMinutes = Annotated[
    int,
    Field(
        ge=0,
        le=MINUTES_PER_DAY,
        description="check_in_opens_minutes: how long before the start check-in opens; "
        "check_in_grace_minutes: how long after the start it stays open.",
    ),
]
LONGEST_BUFFER = timedelta(minutes=MINUTES_PER_DAY)
BufferMinutes = Annotated[
    int,
    Field(
        ge=0,
        le=MINUTES_PER_DAY,  # LONGEST_BUFFER
        description="Time kept free around each booking (set-up before, cleaning after). Changing it "
        "applies to bookings made, moved or made longer from then on; the others keep the buffers they "
        "were booked with.",
    ),
]


class SpaceSettings(Model):
    """Every field of a space that an admin sets, with the rules that bind them together."""

    model_config = ConfigDict(extra="forbid")

    name: SpaceName
    description: Description = ""
    capacity: Annotated[int, Field(ge=1, le=100_000)]
    location: Location = ""
    amenities: Amenities = Field(default_factory=list)
    timezone: TimeZoneName
    opening_hours: OpeningHoursField
    price_per_hour: Price = Decimal("0.00")
    currency: Currency = "EUR"
    min_duration_minutes: Annotated[int, Field(ge=1, le=LONGEST_BOOKING_MINUTES)] = 30
    max_duration_minutes: Annotated[int, Field(ge=1, le=LONGEST_BOOKING_MINUTES)] = 480
    slot_minutes: Annotated[int, Field(ge=5, le=MINUTES_PER_DAY)] = 30
    max_advance_days: Annotated[int, Field(ge=0, le=MAX_ADVANCE_DAYS)] = 90
    buffer_before_minutes: BufferMinutes = 0
    buffer_after_minutes: BufferMinutes = 0
    check_in_required: bool = Field(
        default=False,
        description="People check in to their bookings (POST /reservations/{id}/check-in); a booking not "
        "checked in by its start plus check_in_grace_minutes is released. Turned on, or the grace changed, "
        "it applies to bookings made or moved from then on; turned off, no booking is released any more.",
    )
    check_in_opens_minutes: CheckInMinutes = 15
    check_in_grace_minutes: CheckInMinutes = 15
    requires_approval: bool = Field(
        default=False,
        description="Bookings start pending and hold their time until an approver (an administrator or a "
        "manager of the space) approves or declines them; undecided, they expire.",
    )

    @model_validator(mode="after")
    def _coherent(self) -> SpaceSettings:
        if self.price_per_hour != rounded(self.price_per_hour, self.currency):
            places = -int(minor_unit(self.currency).as_tuple().exponent)
            raise _error_of(
                "price_per_hour", f"{self.currency} has {places} decimal places", self.price_per_hour
            )
        self.price_per_hour = rounded(self.price_per_hour, self.currency)
        longest_cost = self.price_per_hour * self.max_duration_minutes / 60
        if longest_cost > LARGEST_AMOUNT:
            raise ValueError(
                f"the longest booking (price_per_hour x max_duration_minutes) would cost "
                f"{longest_cost:,.0f} {self.currency}; at most {LARGEST_AMOUNT:,} is possible"
            )
        if self.check_in_required and self.check_in_opens_minutes + self.check_in_grace_minutes == 0:
            raise ValueError(
                "check-in would never be open: give check_in_opens_minutes or check_in_grace_minutes"
            )
        if MINUTES_PER_DAY % self.slot_minutes:
            raise ValueError("slot_minutes must divide a day evenly (5, 10, 15, 20, 30, 60, 90, 120...)")
        if self.min_duration_minutes > self.max_duration_minutes:
            raise ValueError("min_duration_minutes cannot be more than max_duration_minutes")
        for field in ("min_duration_minutes", "max_duration_minutes"):
            if getattr(self, field) % self.slot_minutes:
                raise ValueError(f"{field} must be a multiple of slot_minutes ({self.slot_minutes})")
        return self


class SpaceUpdate(Model):
    """PUT /spaces/{id}: the fields to change; the result must still be a valid space."""

    model_config = ConfigDict(extra="forbid")

    name: SpaceName | None = None
    description: Description | None = None
    capacity: Annotated[int, Field(ge=1, le=100_000)] | None = None
    location: Location | None = None
    amenities: Amenities | None = None
    timezone: TimeZoneName | None = None
    opening_hours: OpeningHoursField | None = None
    price_per_hour: Price | None = None
    currency: Currency | None = None
    min_duration_minutes: int | None = None
    max_duration_minutes: int | None = None
    slot_minutes: int | None = None
    max_advance_days: int | None = None
    buffer_before_minutes: int | None = None
    buffer_after_minutes: int | None = None
    check_in_required: bool | None = None
    check_in_opens_minutes: int | None = None
    check_in_grace_minutes: int | None = None
    requires_approval: bool | None = None
    is_active: bool | None = None


class Space(SpaceSettings):
    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    is_active: bool
    created_at: datetime
    updated_at: datetime


class AvailableSpace(Space):
    cost: Money
    duration_minutes: int


class TimeRange(Model):
    start_time: datetime
    end_time: datetime


class HeldTime(TimeRange):
    """Time that is not free: a booking (with the space's buffers around it) or a closure."""

    held_by: Literal["booking", "closure"]


class Availability(Model):
    space_id: uuid.UUID
    timezone: str
    slot_minutes: int
    from_: datetime = Field(alias="from")
    to: datetime
    free: list[TimeRange]
    slots: list[TimeRange]

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
