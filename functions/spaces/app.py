"""/spaces: the catalogue, free time in each space, and which spaces are free for an interval;
/closures: when spaces take no bookings."""

import uuid
from types import ModuleType
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from reservas.app_factory import DeferredRoute, create_app, lambda_handler
from reservas.dependencies import ActorDep, AdminUser, DbDep, OptionalUser, api_key_scope
from reservas.errors import fields_from, problem_doc
from reservas.pagination import DEFAULT_LIMIT, Page
from reservas.route_parameters import Cursor, Limit
from reservas.spaces import service
from reservas.spaces.admin_schemas import (
    CheckInCode,
    Closure,
    ClosureCreated,
    ClosureRequest,
    LocationClosureRequest,
    Manager,
    Usage,
)
from reservas.spaces.schemas import Availability, AvailableSpace, Space, SpaceSettings, SpaceUpdate
from reservas.timestamps import Day, Instant

NOT_FOUND = {404: problem_doc("No such space (or deactivated)")}
# Open to anyone; a token, when sent, shows admins what only they see.
# and API keys with `spaces:read` (dependencies.api_key_scope).
OPTIONAL_SIGN_IN = {"security": [{"HTTPBearer": []}, {}], **api_key_scope("spaces:read")}
ADMIN_ONLY = {401: problem_doc("Not authenticated"), 403: problem_doc("Not an administrator")}

BOOKINGS_IN_THE_WAY = {
    409: problem_doc(
        "Bookings hold part of that time: `conflicts` lists them (`cancel_bookings` cancels them instead)"
    )
}
ClosuresFrom = Annotated[
    Instant | None, Query(alias="from", description="Closures ending after this; now by default.")
]
ClosuresTo = Annotated[Instant | None, Query(alias="to", description="Closures starting before this.")]

AmenitiesQuery = Annotated[
    str | None, Query(max_length=1000, description="Comma-separated; a space must have all of them.")
]


def _amenities(value: str | None) -> list[str]:
    return [a.strip() for a in value.split(",") if a.strip()] if value else []


router = APIRouter(prefix="/spaces", tags=["spaces"], route_class=DeferredRoute)


def _closures() -> ModuleType:
    """Closures, check-in codes, managers and usage load with their first request, not at every cold start
    of the function: most of its requests read spaces."""
    from reservas.spaces import closures

    return closures


def _check_in() -> ModuleType:
    from reservas.spaces import check_in

    return check_in


def _managers() -> ModuleType:
    from reservas.spaces import managers

    return managers


def _usage() -> ModuleType:
    from reservas.spaces import usage

    return usage


@router.get(
    "",
    response_model=Page[Space],
    responses={401: problem_doc("A token was sent and is not valid")},
    openapi_extra=OPTIONAL_SIGN_IN,
)
async def list_spaces(
    db: DbDep,
    viewer: OptionalUser,
    capacity_min: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    location: Annotated[
        str | None, Query(max_length=255, description="Part of the location, any case.")
    ] = None,
    amenities: AmenitiesQuery = None,
    q: Annotated[str | None, Query(max_length=255, description="Part of the name or description.")] = None,
    include_inactive: Annotated[bool, Query(description="Admins only; ignored for others.")] = False,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    page = service.list_spaces(
        db,
        viewer,
        include_inactive=include_inactive,
        capacity_min=capacity_min,
        location=location.strip() if location else None,
        amenities=_amenities(amenities),
        text=q.strip() if q else None,
        limit=limit,
        cursor=cursor,
    )
    return Response(page, media_type="application/json")  # as stored: validated when it was made


@router.get("/available", openapi_extra=OPTIONAL_SIGN_IN)
async def find_available_spaces(
    db: DbDep,
    _: OptionalUser,
    start_time: Annotated[Instant, Query()],
    end_time: Annotated[Instant, Query()],
    capacity_min: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    amenities: AmenitiesQuery = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[AvailableSpace]:
    return service.available_spaces(
        db,
        start=start_time,
        end=end_time,
        capacity_min=capacity_min,
        amenities=_amenities(amenities),
        limit=limit,
        cursor=cursor,
    )


@router.post("", status_code=201, responses=ADMIN_ONLY)
async def create_space(
    body: SpaceSettings, _: AdminUser, actor: ActorDep, db: DbDep, response: Response
) -> Space:
    space = service.create_space(db, body, actor=actor)
    response.headers["Location"] = f"/spaces/{space.id}"
    return space


@router.get("/{space_id}", responses=NOT_FOUND, openapi_extra=OPTIONAL_SIGN_IN)
async def get_space(space_id: uuid.UUID, db: DbDep, viewer: OptionalUser) -> Space:
    return service.get_space(db, space_id, viewer)


@router.get(
    "/{space_id}/busy.ics",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "When the space is held (iCalendar)"},
        304: {"description": "Unchanged since the ETag given in If-None-Match"},
        **NOT_FOUND,
    },
    openapi_extra=OPTIONAL_SIGN_IN,
)
async def get_space_busy_feed(
    space_id: uuid.UUID,
    db: DbDep,
    viewer: OptionalUser,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The space's busy times, for calendars to subscribe to: no names, no notes."""
    from reservas.calendar_answers import calendar_answer
    from reservas.spaces import busy_feed

    body = busy_feed.busy_feed(db, service.get_space(db, space_id, viewer))
    return calendar_answer(busy_feed.etag(body), if_none_match, "public, max-age=60", lambda: body)


@router.put(
    "/{space_id}",
    responses={
        **ADMIN_ONLY,
        **NOT_FOUND,
        409: problem_doc("Moved to a location that is closed while the space is booked"),
    },
)
async def update_space(
    space_id: uuid.UUID, body: SpaceUpdate, _: AdminUser, actor: ActorDep, db: DbDep
) -> Space:
    with fields_from("body"):
        return service.update_space(db, space_id, body, actor=actor)


@router.delete("/{space_id}", status_code=204, responses={**ADMIN_ONLY, **NOT_FOUND})
async def deactivate_space(space_id: uuid.UUID, _: AdminUser, actor: ActorDep, db: DbDep) -> Response:
    service.deactivate_space(db, space_id, actor=actor)
    return Response(status_code=204)


@router.get("/{space_id}/availability", responses=NOT_FOUND, openapi_extra=OPTIONAL_SIGN_IN)
async def get_space_availability(
    space_id: uuid.UUID,
    db: DbDep,
    viewer: OptionalUser,
    day: Annotated[Day | None, Query(alias="date", description="A day in the space's time zone.")] = None,
    first: Annotated[Day | None, Query(alias="from", description="First day (with `to`).")] = None,
    last: Annotated[Day | None, Query(alias="to", description="Last day, at most 31 days on.")] = None,
) -> Availability:
    return service.availability(db, space_id, viewer, day=day, first=first, last=last)


@router.post(
    "/{space_id}/closures", status_code=201, responses={**ADMIN_ONLY, **NOT_FOUND, **BOOKINGS_IN_THE_WAY}
)
async def close_space(
    space_id: uuid.UUID, body: ClosureRequest, _: AdminUser, actor: ActorDep, db: DbDep
) -> ClosureCreated:
    """The space takes no bookings from `start_time` to `end_time`."""
    with fields_from("body"):
        return _closures().close_space(db, space_id, body, actor=actor)


@router.get("/{space_id}/closures", responses=NOT_FOUND, openapi_extra=OPTIONAL_SIGN_IN)
async def list_space_closures(
    space_id: uuid.UUID,
    db: DbDep,
    viewer: OptionalUser,
    from_: ClosuresFrom = None,
    to: ClosuresTo = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[Closure]:
    """The closures of the space, its own and its location's, by start time."""
    with fields_from("query"):
        return _closures().closures_of_space(
            db, space_id, viewer, ends_after=from_, starts_before=to, limit=limit, cursor=cursor
        )


@router.get("/{space_id}/usage", responses={**ADMIN_ONLY, **NOT_FOUND})
async def get_space_usage(
    space_id: uuid.UUID,
    _: AdminUser,
    db: DbDep,
    from_: Annotated[Instant, Query(alias="from", description="Bookings starting at or after this.")],
    to: Annotated[
        Instant, Query(description="Bookings starting before this; at most 366 days after `from`.")
    ],
) -> Usage:
    """How the space was used: booked, checked-in and released hours, and the no-show rate."""
    with fields_from("query"):
        return _usage().usage(db, space_id, from_, to)


@router.get("/{space_id}/managers", responses={**ADMIN_ONLY, **NOT_FOUND})
async def list_space_managers(space_id: uuid.UUID, _: AdminUser, db: DbDep) -> list[Manager]:
    """Who approves the space's bookings besides the administrators."""
    return _managers().managers(db, space_id)


@router.put("/{space_id}/managers/{user_id}", status_code=204, responses={**ADMIN_ONLY, **NOT_FOUND})
async def add_space_manager(
    space_id: uuid.UUID, user_id: uuid.UUID, _: AdminUser, actor: ActorDep, db: DbDep
) -> Response:
    _managers().add(db, space_id, user_id, actor=actor)
    return Response(status_code=204)


@router.delete("/{space_id}/managers/{user_id}", status_code=204, responses={**ADMIN_ONLY, **NOT_FOUND})
async def remove_space_manager(
    space_id: uuid.UUID, user_id: uuid.UUID, _: AdminUser, actor: ActorDep, db: DbDep
) -> Response:
    _managers().remove(db, space_id, user_id, actor=actor)
    return Response(status_code=204)


@router.get("/{space_id}/check-in-code", responses={**ADMIN_ONLY, **NOT_FOUND})
async def get_check_in_code(space_id: uuid.UUID, _: AdminUser, db: DbDep) -> CheckInCode:
    """The code to print where the space is (`svg`, a QR code of `url`), with which people check in."""
    return _check_in().current(db, space_id)


@router.post("/{space_id}/check-in-code", responses={**ADMIN_ONLY, **NOT_FOUND})
async def rotate_check_in_code(space_id: uuid.UUID, _: AdminUser, actor: ActorDep, db: DbDep) -> CheckInCode:
    """A new code; the printed ones stop working."""
    return _check_in().rotate(db, space_id, actor=actor)


closures_router = APIRouter(prefix="/closures", tags=["closures"], route_class=DeferredRoute)


@closures_router.post("", status_code=201, responses={**ADMIN_ONLY, **BOOKINGS_IN_THE_WAY})
async def close_location(
    body: LocationClosureRequest, _: AdminUser, actor: ActorDep, db: DbDep
) -> ClosureCreated:
    """Every space at `location` takes no bookings from `start_time` to `end_time`: those there now,
    and those created at or moved to that location while the closure lasts."""
    with fields_from("body"):
        return _closures().close_location(db, body, actor=actor)


@closures_router.get("", responses=ADMIN_ONLY)
async def list_closures(
    _: AdminUser,
    db: DbDep,
    location: Annotated[
        str | None, Query(max_length=255, description="Closures of exactly this location.")
    ] = None,
    space_id: Annotated[
        uuid.UUID | None, Query(description="Closures of this space, its own and its location's.")
    ] = None,
    from_: ClosuresFrom = None,
    to: ClosuresTo = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[Closure]:
    with fields_from("query"):
        return _closures().search(
            db,
            space_id=space_id,
            location=location.strip() if location is not None else None,
            ends_after=from_,
            starts_before=to,
            limit=limit,
            cursor=cursor,
        )


@closures_router.delete(
    "/{closure_id}", status_code=204, responses={**ADMIN_ONLY, 404: problem_doc("No such closure")}
)
async def delete_closure(closure_id: uuid.UUID, _: AdminUser, actor: ActorDep, db: DbDep) -> Response:
    """The closure goes, and its time is free at once."""
    _closures().delete_closure(db, closure_id, actor=actor)
    return Response(status_code=204)


app = create_app("spaces", router, closures_router)
handler = lambda_handler(app)
