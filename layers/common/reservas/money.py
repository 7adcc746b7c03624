"""Money: exact decimals in ISO 4217 currencies, each rounded (half up) to its own minor unit: none for
JPY, two for EUR, three for BHD. The currency table is Babel's (CLDR), read on first use."""

from __future__ import annotations

import functools
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel

# What the money columns hold (numeric(16,4)): every booking's cost must fit.
LARGEST_AMOUNT = Decimal("999999999999")


class Money(BaseModel):
    amount: Decimal
    currency: str


@functools.cache
def known_currencies() -> frozenset[str]:
    from babel.numbers import list_currencies

    return frozenset(list_currencies())


@functools.cache
def minor_unit(currency: str) -> Decimal:
    """The smallest amount of the currency: Decimal('1') for JPY, ('0.01') for EUR, ('0.001') for BHD."""
    from babel.numbers import get_currency_precision

    return Decimal(1).scaleb(-get_currency_precision(currency))


def rounded(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def booking_cost(price_per_hour: Decimal, currency: str, start: datetime, end: datetime) -> Decimal:
    """Hours booked (real elapsed time) times the hourly price, in the currency's minor unit."""
    seconds = Decimal(int((end - start).total_seconds()))
    return rounded(price_per_hour * seconds / Decimal(3600), currency)
