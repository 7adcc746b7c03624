"""Money: exact decimals in the currencies in use today, each rounded (half up) to its own minor unit:
none for JPY, two for EUR, three for BHD. The table is CLDR's, through Babel: ISO 4217 codes, with the
digits in practical use where CLDR records them (HUF, COP, IDR and IQD take none), read on first use."""

from __future__ import annotations

import functools
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from reservas.models import Model

# What the money columns hold (numeric(16,4)): every booking's cost must fit.
LARGEST_AMOUNT = Decimal("999999999999")


class Money(Model):
    amount: Decimal
    currency: str


@functools.cache
def known_currencies() -> frozenset[str]:
    """ISO 4217 codes legal tender somewhere today: not XXX or XTS, nor withdrawn ones such as ESP."""
    from datetime import date

    from babel.core import get_global
    from babel.numbers import get_territory_currencies

    today = date.today()
    return frozenset(
        code
        for territory in get_global("territory_currencies")
        for code in get_territory_currencies(territory, today, tender=True)
    )


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
