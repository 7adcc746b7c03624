"""What the routes of several functions take from the query string, with its limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from reservas.pagination import MAX_LIMIT

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
Cursor = Annotated[
    str | None,
    Query(max_length=500, pattern=r"^[A-Za-z0-9_-]*$", description="`next_cursor` of the previous page."),
]
