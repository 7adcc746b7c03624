"""RFC 9457 problem details: the one shape of every error the API returns."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import Field, ValidationError
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from reservas.credentials import DatabaseNotSetUp, SecretsUnreachable
from reservas.database import (
    FOREIGN_KEY_VIOLATION,
    LOCK_NOT_AVAILABLE,
    QUERY_CANCELED,
    READ_ONLY_TRANSACTION,
    sqlstate,
)
from reservas.models import Model
from reservas.observability import logger

PROBLEM_JSON = "application/problem+json"


class ProblemDetails(Model):
    """RFC 9457: what every error answer carries."""

    type: str = Field(
        description="A URI naming the kind of problem; about:blank when the status says it all."
    )
    title: str
    status: int
    detail: str = Field(description="What went wrong, in words a person can act on.")
    errors: list[dict[str, Any]] | None = Field(
        None, description="On 422: every invalid input, as {loc, msg}."
    )
    conflicts: list[dict[str, Any]] | None = Field(
        None, description="On a booking 409: the intervals in the way."
    )
    suggestions: list[dict[str, Any]] | None = Field(
        None, description="On a booking 409: free intervals and spaces to book instead."
    )


class Problem(Exception):
    """An error a client can act on. Raise it anywhere below the routes; the app turns it into a response."""

    status: int = 400
    title: str | None = None

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status or self.status
        self.title = title or self.title or HTTPStatus(self.status).phrase
        self.headers = headers or {}
        self.extra = extra


class Unauthorized(Problem):
    status = 401

    def __init__(self, detail: str = "Authentication is required.", **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        super().__init__(detail, **kwargs)


class Forbidden(Problem):
    status = 403


class NotFound(Problem):
    status = 404


class Conflict(Problem):
    status = 409


class Unprocessable(Problem):
    """Input that breaks a rule. Below the routes, `errors` name fields only ({loc: [field, ...]});
    the route says where they came from (`fields_from`)."""

    status = 422


class TooManyRequests(Problem):
    status = 429

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(
            detail or f"Too many requests; try again in {retry_after} seconds.",
            headers={"Retry-After": str(retry_after)},
        )


def problem_doc(description: str) -> dict[str, Any]:
    """An error answer as a route's OpenAPI `responses` describe it."""
    return {"description": description, "content": {PROBLEM_JSON: {}}}


def invalid_input(error: ValidationError) -> Unprocessable:
    """A 422 for input that passed its own checks but not those of the whole it makes (a merged update)."""
    items = _error_items([dict(e) for e in error.errors()])
    return Unprocessable(_summary(items), title="Invalid request", errors=items)


@contextmanager
def fields_from(source: str) -> Iterator[None]:
    """For a route: the fields its service names in a 422 came from `source` ("body", "query")."""
    try:
        yield
    except Unprocessable as problem:
        errors = problem.extra.get("errors")
        if errors:
            summarised = problem.detail == _summary(errors)
            problem.extra["errors"] = [
                {**error, "loc": [source, *error["loc"]]} if error["loc"] else error for error in errors
            ]
            if summarised:
                problem.detail = _summary(problem.extra["errors"])
        raise


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def validation_problem(errors: list[dict[str, Any]]) -> JSONResponse:
    if any(error.get("type") == "json_invalid" for error in errors):
        return problem_response(400, "The request body is not valid JSON.", title="Malformed JSON")
    items = _error_items(errors)
    return problem_response(422, _summary(items), title="Invalid request", errors=items)


def _error_items(errors: list[dict[str, Any]], location: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [{"loc": [*location, *error["loc"]], "msg": _message(error)} for error in errors]


def _summary(items: list[dict[str, Any]]) -> str:
    """The first invalid input in words, and how many more there are."""
    first = items[0]
    detail = f"{_location(first['loc'])}: {first['msg']}" if first["loc"] else first["msg"]
    return detail + (f" (and {len(items) - 1} more)" if len(items) > 1 else "")


def _message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    # Pydantic prefixes messages of custom validators with "Value error, "; people do not need it.
    return message.removeprefix("Value error, ")


# What PostgreSQL answers when it cannot serve anyone now, most often as it refuses a connection: no
# connection slot left (53300, at max_connections), starting up or shutting down (57P03), out of memory
# or disk (53), a connection failure (08, but for 08P01: a protocol violation is the client's bug), an
# operator's shutdown (57P01-57P05), an I/O error (58). And a write refused by a server that is now a
# reader (25006, READ_ONLY_TRANSACTION: after a failover, until the connection is replaced).
_SERVER_UNAVAILABLE = ("08", "53", "57P", "58")
_PROTOCOL_VIOLATION = "08P01"


def _cannot_serve(state: str) -> bool:
    return (
        state.startswith(_SERVER_UNAVAILABLE) and state != _PROTOCOL_VIOLATION
    ) or state == READ_ONLY_TRANSACTION


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, error: Problem) -> JSONResponse:
        return problem_response(
            error.status, error.detail, title=error.title, headers=error.headers, **error.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        return validation_problem(list(error.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
        if error.status_code == 404 and detail == "Not Found":
            detail = "No such route."
        elif error.status_code == 405:
            detail = "This route does not accept that method."
        return problem_response(error.status_code, detail, headers=getattr(error, "headers", None))

    @app.exception_handler(sa_exc.OperationalError)
    @app.exception_handler(sa_exc.InterfaceError)
    @app.exception_handler(sa_exc.TimeoutError)
    @app.exception_handler(TimeoutError)
    @app.exception_handler(DatabaseNotSetUp)
    async def _database_down(_: Request, error: Exception) -> JSONResponse:
        logger.error("database unavailable", extra={"error": str(error).splitlines()[0]})
        return problem_response(
            503, "The database is unavailable; try again shortly.", headers={"Retry-After": "5"}
        )

    @app.exception_handler(SecretsUnreachable)
    async def _secrets_unreachable(_: Request, error: Exception) -> JSONResponse:
        logger.error("Secrets Manager unreachable", extra={"error": str(error).splitlines()[0]})
        return problem_response(
            503, "The service is unavailable for a moment; try again shortly.", headers={"Retry-After": "5"}
        )

    @app.exception_handler(sa_exc.DBAPIError)
    async def _database_error(request: Request, error: sa_exc.DBAPIError) -> JSONResponse:
        if _cannot_serve(sqlstate(error) or ""):
            return await _database_down(request, error)
        if sqlstate(error) in (LOCK_NOT_AVAILABLE, QUERY_CANCELED):
            logger.warning("database too busy", extra={"sqlstate": sqlstate(error)})
            return problem_response(
                503,
                "The database is too busy to answer in time; try again shortly.",
                headers={"Retry-After": "2"},
            )
        if sqlstate(error) == FOREIGN_KEY_VIOLATION:  # what the change refers to went while it ran
            return problem_response(
                409, "Something this change refers to was removed meanwhile; reload and try again."
            )
        return unexpected_error(error)


def unexpected_error(error: BaseException) -> JSONResponse:
    """The answer to a bug: logged with its traceback, never shown to the client."""
    logger.error("unhandled error", exc_info=error)
    return problem_response(500, "An unexpected error occurred; it has been logged.")
