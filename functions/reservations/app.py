"""/reservations: book (one, or a series), read, search, change, cancel."""

import uuid
from types import ModuleType
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import JSONResponse, Response

from reservas.app_factory import DeferredRoute, create_app, lambda_handler
from reservas.dependencies import ActorDep, CurrentUser, DbDep, api_key_scope
from reservas.errors import NotFound, fields_from, problem_doc
from reservas.pagination import DEFAULT_LIMIT, Page
from reservas.reservations import idempotency, service
from reservas.reservations.schemas import (
    BookingChange,
    BookingRequest,
    CheckInWithCode,
    Decision,
    Reservation,
    Series,
    SeriesBooked,
    SeriesRequest,
    Status,
    WaitlistEntry,
)
from reservas.route_parameters import Cursor, Limit
from reservas.timestamps import Instant

AUTHENTICATED = {401: problem_doc("Not authenticated")}
NOT_FOUND = {404: problem_doc("No reservation of yours has this id")}
SERIES_NOT_FOUND = {404: problem_doc("No series of yours has this id")}
DECIDING = {
    404: problem_doc("No booking you may decide has this id"),
    409: problem_doc("Not pending (decided otherwise, expired, cancelled)"),
}
# API keys with these scopes may call the routes that name them (dependencies.api_key_scope).
READ = api_key_scope("reservations:read")
WRITE = api_key_scope("reservations:write")
StatusFilter = Annotated[Status | None, Query()]
From = Annotated[Instant | None, Query(alias="from", description="Only reservations ending after this.")]
To = Annotated[Instant | None, Query(alias="to", description="Only reservations starting before this.")]

IdempotencyKey = Annotated[
    str | None, Header(description="Repeat a request safely: the same key gives the same answer.")
]

router = APIRouter(prefix="/reservations", tags=["reservations"], route_class=DeferredRoute)


def _series() -> ModuleType:
    """Series and the waitlist load with their first request, not at every cold start of the function."""
    from reservas.reservations import series

    return series


def _waitlist() -> ModuleType:
    from reservas.reservations import waitlist

    return waitlist


@router.post(
    "",
    status_code=201,
    response_model=Reservation,
    responses={
        **AUTHENTICATED,
        409: problem_doc(
            "Already booked: `conflicts` and `suggestions` say what is in the way and what is free"
        ),
        422: problem_doc("A booking rule is broken; `errors` lists each"),
    },
    openapi_extra=WRITE,
)
async def book_reservation(
    body: BookingRequest,
    user: CurrentUser,
    actor: ActorDep,
    db: DbDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    key = idempotency.check_key(idempotency_key) if idempotency_key is not None else None
    with fields_from("body"):
        booked = service.book(db, user, body, key, actor=actor)
    reservation = booked.reservation
    # A replay answers as the first request did: 201 and the same body.
    return JSONResponse(
        reservation.model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/reservations/{reservation.id}"},
    )


@router.post(
    "/series",
    status_code=201,
    response_model=SeriesBooked,
    responses={
        **AUTHENTICATED,
        409: problem_doc(
            "all_or_nothing: an occurrence is taken (`conflicts` lists each, with `in_the_way` and "
            "`suggestions`); skip_conflicts: none could be booked (`skipped`)"
        ),
        422: problem_doc(
            "The rule, or (all_or_nothing) an occurrence, breaks a booking rule; `errors` lists each"
        ),
    },
    openapi_extra=WRITE,
)
async def book_series(
    body: SeriesRequest,
    user: CurrentUser,
    actor: ActorDep,
    db: DbDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Book a first occurrence and every repetition of it by a recurrence rule, in the space's time zone."""
    key = idempotency.check_key(idempotency_key) if idempotency_key is not None else None
    with fields_from("body"):
        booked = _series().book_series(db, user, body, key, actor=actor)
    return JSONResponse(
        booked.model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/reservations/series/{booked.id}"},
    )


@router.get("/series/{series_id}", responses={**AUTHENTICATED, **SERIES_NOT_FOUND}, openapi_extra=READ)
async def get_series(series_id: uuid.UUID, user: CurrentUser, db: DbDep) -> Series:
    return _series().get_series(db, user, series_id)


@router.delete("/series/{series_id}", responses={**AUTHENTICATED, **SERIES_NOT_FOUND}, openapi_extra=WRITE)
async def cancel_series(
    series_id: uuid.UUID,
    user: CurrentUser,
    actor: ActorDep,
    db: DbDep,
    starting_from: Annotated[
        Instant | None,
        Query(
            alias="from",
            description="Cancel the occurrences starting at or after this (this and the following); "
            "without it, every occurrence that has not started.",
        ),
    ] = None,
) -> Series:
    return _series().cancel_series(db, user, series_id, starting_from, actor=actor)


@router.post("/series/{series_id}/approve", responses={**AUTHENTICATED, **DECIDING}, openapi_extra=WRITE)
async def approve_series(
    series_id: uuid.UUID, user: CurrentUser, actor: ActorDep, db: DbDep, body: Decision | None = None
) -> Series:
    """Approve every occurrence of a series still pending, at once."""
    reason = body.reason if body is not None else ""
    with fields_from("body"):
        return _series().decide_series(db, user, series_id, approve=True, reason=reason, actor=actor)


@router.post("/series/{series_id}/decline", responses={**AUTHENTICATED, **DECIDING}, openapi_extra=WRITE)
async def decline_series(
    series_id: uuid.UUID, body: Decision, user: CurrentUser, actor: ActorDep, db: DbDep
) -> Series:
    """Decline every occurrence of a series still pending, saying why."""
    with fields_from("body"):
        return _series().decide_series(db, user, series_id, approve=False, reason=body.reason, actor=actor)


@router.get("", responses=AUTHENTICATED, openapi_extra=READ)
async def list_my_reservations(
    user: CurrentUser,
    db: DbDep,
    status: StatusFilter = None,
    starts_before: To = None,
    ends_after: From = None,
    space_id: uuid.UUID | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[Reservation]:
    return service.search(
        db,
        user,
        user_id=user.id,
        space_id=space_id,
        status=status,
        starts_before=starts_before,
        ends_after=ends_after,
        limit=limit,
        cursor=cursor,
    )


@router.get(
    "/search",
    responses={**AUTHENTICATED, 403: problem_doc("Only admins search other users")},
    openapi_extra=READ,
)
async def search_reservations(
    user: CurrentUser,
    db: DbDep,
    space_id: uuid.UUID | None = None,
    status: StatusFilter = None,
    starts_before: To = None,
    ends_after: From = None,
    user_id: Annotated[uuid.UUID | None, Query(description="Admins only.")] = None,
    q: Annotated[
        str | None, Query(max_length=255, description="Part of the notes or the space's name.")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[Reservation]:
    return service.search(
        db,
        user,
        user_id=user_id,
        space_id=space_id,
        status=status,
        starts_before=starts_before,
        ends_after=ends_after,
        text=q.strip() if q else None,
        limit=limit,
        cursor=cursor,
    )


@router.get("/pending", responses=AUTHENTICATED, openapi_extra=READ)
async def list_pending_decisions(
    user: CurrentUser, db: DbDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[Reservation]:
    """The pending bookings you may decide: all of them for administrators, those of the spaces you
    manage for managers."""
    return service.pending_decisions(db, user, limit=limit, cursor=cursor)


@router.post("/{reservation_id}/approve", responses={**AUTHENTICATED, **DECIDING}, openapi_extra=WRITE)
async def approve_reservation(
    reservation_id: uuid.UUID, user: CurrentUser, actor: ActorDep, db: DbDep, body: Decision | None = None
) -> Reservation:
    """Approve a pending booking (administrators, and managers of its space): it holds its time as any."""
    reason = body.reason if body is not None else ""
    with fields_from("body"):
        return service.decide(db, user, reservation_id, approve=True, reason=reason, actor=actor)


@router.post("/{reservation_id}/decline", responses={**AUTHENTICATED, **DECIDING}, openapi_extra=WRITE)
async def decline_reservation(
    reservation_id: uuid.UUID, body: Decision, user: CurrentUser, actor: ActorDep, db: DbDep
) -> Reservation:
    """Decline a pending booking, saying why: its time is free at once."""
    with fields_from("body"):
        return service.decide(db, user, reservation_id, approve=False, reason=body.reason, actor=actor)


@router.get("/{reservation_id}", responses={**AUTHENTICATED, **NOT_FOUND}, openapi_extra=READ)
async def get_reservation(reservation_id: uuid.UUID, user: CurrentUser, db: DbDep) -> Reservation:
    return service.get(db, user, reservation_id)


@router.patch(
    "/{reservation_id}",
    responses={
        **AUTHENTICATED,
        **NOT_FOUND,
        409: problem_doc("The new time is taken (`conflicts`, `suggestions`), or the booking is not active"),
        422: problem_doc("A booking rule is broken; `errors` lists each"),
    },
    openapi_extra=WRITE,
)
async def change_reservation(
    reservation_id: uuid.UUID,
    body: BookingChange,
    user: CurrentUser,
    actor: ActorDep,
    db: DbDep,
    idempotency_key: IdempotencyKey = None,
) -> Reservation:
    """Move, extend, shorten or end early (an end_time before now ends it now), or change attendees or
    notes. The booking keeps its id; when the new time is taken, it keeps its old one."""
    key = idempotency.check_key(idempotency_key) if idempotency_key is not None else None
    with fields_from("body"):
        return service.change(db, user, reservation_id, body, key, actor=actor).reservation


@router.post(
    "/check-in",
    responses={
        **AUTHENTICATED,
        404: problem_doc("Not the space's code, or no booking of yours to check in to"),
    },
    openapi_extra=WRITE,
)
async def check_in_with_code(
    body: CheckInWithCode, user: CurrentUser, actor: ActorDep, db: DbDep
) -> Reservation:
    """Check in with the code where the space is (its QR code): to your booking there whose check-in is
    open now."""
    with fields_from("body"):
        return service.check_in_with_code(db, user, body.space_id, body.code, actor=actor)


@router.post(
    "/{reservation_id}/check-in",
    responses={
        **AUTHENTICATED,
        **NOT_FOUND,
        409: problem_doc("Not active (released, cancelled, over), no check-in needed, or not open yet"),
    },
    openapi_extra=WRITE,
)
async def check_in(reservation_id: uuid.UUID, user: CurrentUser, actor: ActorDep, db: DbDep) -> Reservation:
    """Check in to a booking in a space that requires it, from check_in_opens_minutes before its start
    until its check_in_by; after that it is released. Checking in again changes nothing."""
    return service.check_in(db, user, reservation_id, actor=actor)


@router.delete(
    "/{reservation_id}",
    responses={**AUTHENTICATED, **NOT_FOUND, 409: problem_doc("Already started (owners) or already over")},
    openapi_extra=WRITE,
)
async def cancel_reservation(
    reservation_id: uuid.UUID, user: CurrentUser, actor: ActorDep, db: DbDep
) -> Reservation:
    return service.cancel(db, user, reservation_id, actor=actor)


waitlist_router = APIRouter(prefix="/waitlist", tags=["waitlist"], route_class=DeferredRoute)


@waitlist_router.post(
    "",
    status_code=201,
    responses={**AUTHENTICATED, 422: problem_doc("A booking rule is broken, or too many entries already")},
    openapi_extra=WRITE,
)
async def join_waitlist(body: BookingRequest, user: CurrentUser, db: DbDep) -> WaitlistEntry:
    """Wait for exactly this interval (after a 409, say): when it frees up, the first waiting person
    whose whole interval is free is booked automatically. An entry expires at its interval's start."""
    with fields_from("body"):
        return _waitlist().join(db, user, body)


@waitlist_router.get("", responses=AUTHENTICATED, openapi_extra=READ)
async def my_waitlist(user: CurrentUser, db: DbDep) -> list[WaitlistEntry]:
    """Your entries whose interval has not started: waiting, or promoted (with their reservation_id)."""
    return _waitlist().mine(db, user)


@waitlist_router.delete(
    "/{entry_id}",
    status_code=204,
    responses={**AUTHENTICATED, 404: problem_doc("No entry of yours")},
    openapi_extra=WRITE,
)
async def leave_waitlist(entry_id: uuid.UUID, user: CurrentUser, db: DbDep) -> Response:
    _waitlist().leave(db, user, entry_id)
    return Response(status_code=204)


calendar_router = APIRouter(prefix="/calendar", tags=["calendar"], route_class=DeferredRoute)
FeedToken = Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


@calendar_router.get(
    "/{token}/bookings.ics",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "The person's bookings (iCalendar)"},
        304: {"description": "Unchanged since the ETag given in If-None-Match"},
        404: problem_doc("No feed has this token (rotated, revoked, or never made)"),
    },
)
async def calendar_feed(
    token: FeedToken, db: DbDep, if_none_match: Annotated[str | None, Header()] = None
) -> Response:
    """A person's private feed of their bookings, for calendars to subscribe to; the token is the key."""
    from reservas.calendar_answers import calendar_answer
    from reservas.reservations import feeds

    owner = feeds.owner_of(db, token)
    if owner is None:
        raise NotFound("No calendar feed has this address.")
    return calendar_answer(
        feeds.etag(db, owner), if_none_match, "private, max-age=300", lambda: feeds.feed(db, owner)
    )


app = create_app("reservations", router, waitlist_router, calendar_router)
handler = lambda_handler(app)
