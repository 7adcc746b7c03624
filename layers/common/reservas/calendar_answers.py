"""Answers that calendars fetch again and again (the `.ics` feeds): text/calendar with an `ETag`, and a
304 when the calendar already holds what it names (`If-None-Match`, compared weakly, RFC 9110 13.1.2)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from starlette.responses import Response


def tag_of(made_of: bytes) -> str:
    return '"' + hashlib.sha256(made_of).hexdigest()[:32] + '"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """If-None-Match's weak comparison: W/ aside, and * for any."""
    if if_none_match is None:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or tag in tags


def calendar_answer(
    tag: str, if_none_match: str | None, cache_control: str, body: Callable[[], bytes]
) -> Response:
    """The calendar `body` makes, or a 304 without making it."""
    headers = {"ETag": tag, "Cache-Control": cache_control}
    if matches(if_none_match, tag):
        return Response(status_code=304, headers=headers)
    return Response(body(), media_type="text/calendar; charset=utf-8", headers=headers)
