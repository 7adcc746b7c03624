"""Cursor pagination: `limit` (1..100, default 20) and an opaque `cursor`; answers `{items, next_cursor}`."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from reservas.errors import Unprocessable
from reservas.models import Model

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

Item = TypeVar("Item")


class Page(Model, Generic[Item]):
    items: list[Item]
    next_cursor: str | None


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps([str(v) for v in values]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[str]:
    """The values a cursor carries, or a 422 for a cursor this API did not hand out."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != size or not all(map(_storable, values)):
        raise invalid_cursor()
    return values


def _storable(value: object) -> bool:
    """Text PostgreSQL can take: a string without NUL that is valid Unicode (no lone surrogates)."""
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def invalid_cursor() -> Unprocessable:
    return Unprocessable("The cursor is not valid: pass the `next_cursor` of a previous page.")


def keyset(cursor: str | None, parse: Callable[[str, str], tuple[Any, ...]]) -> tuple[Any, ...] | None:
    """What a page's cursor points after, (sort value, id) parsed by `parse`; None on the first page."""
    if not cursor:
        return None
    first, second = decode_cursor(cursor, 2)
    try:
        return parse(first, second)
    except ValueError:
        raise invalid_cursor() from None


def page(
    rows: Sequence[Any], limit: int, item: Callable[[Any], Item], key: Callable[[Any], tuple[Any, ...]]
) -> Page[Item]:
    """A page from up to `limit + 1` rows: `limit` items, and a cursor when a row was left over."""
    items = [item(row) for row in rows[:limit]]
    next_cursor = encode_cursor(*key(rows[limit - 1])) if len(rows) > limit else None
    return Page[Any](items=items, next_cursor=next_cursor)
