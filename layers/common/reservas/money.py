"""Money: exact decimals, rounded half up to the cent."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel

CENT = Decimal("0.01")


class Money(BaseModel):
    amount: Decimal
    currency: str


def booking_cost(price_per_hour: Decimal, start: datetime, end: datetime) -> Decimal:
    """Hours booked (real elapsed time) times the hourly price."""
    seconds = Decimal(int((end - start).total_seconds()))
    return (price_per_hour * seconds / Decimal(3600)).quantize(CENT, rounding=ROUND_HALF_UP)
