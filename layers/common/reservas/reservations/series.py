"""Recurring series: one request books every occurrence of a rule (reservations/recurrence.py). Each
occurrence is a reservation like any other, under the same rules and the same exclusion constraint,
carrying its series_id; it is read, changed and cancelled alone like any other too.

An occurrence moved away from the time its rule gave it (its recurrence_id) counts on its own against
the cap on upcoming bookings: a series cannot be turned into that many free-standing bookings.

A series announces itself once: `SeriesBooked` (with its occurrences) when booked and `SeriesCancelled`
when "this and the following" are cancelled, so that a person gets one calendar invitation per series;
an occurrence changed or cancelled alone announces ReservationChanged / ReservationCancelled with its
series_id (an exception to the series). A series counts once against the cap on upcoming bookings."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection
from sqlalchemy.engine import RowMapping

from reservas import audit, events
from reservas.accounts.schemas import User
from reservas.database import Overlap, domain_errors
from reservas.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable
from reservas.money import booking_cost
from reservas.reservations import idempotency, recurrence, repository, service
from reservas.reservations.schemas import Series, SeriesBooked, SeriesRequest, Skipped
from reservas.spaces import cache as spaces_cache
from reservas.spaces import repository as spaces_repository
from reservas.spaces.rules import booking_problems
from reservas.spaces.schemas import Space


@dataclass(frozen=True)
class Occurrence:
    start: datetime
    end: datetime


class _InTheWay(Exception):
    """An all-or-nothing series met a time someone or something else holds."""

    def __init__(self, space: Space, planned: list[Occurrence]) -> None:
        super().__init__("an occurrence is taken")
        self.space = space
        self.planned = planned


def book_series(
    db: Connection,
    user: User,
    request: SeriesRequest,
    idempotency_key: str | None = None,
    *,
    actor: audit.Actor,
) -> SeriesBooked:
    """Book every occurrence (all_or_nothing), or every one that can be (skip_conflicts); or explain."""
    try:
        return service.retried(db, lambda: _book_once(db, user, request, idempotency_key, actor))
    except _InTheWay as in_the_way:
        db.rollback()
        raise _conflicts(db, in_the_way.space, in_the_way.planned) from None


def _book_once(
    db: Connection, user: User, request: SeriesRequest, key: str | None, actor: audit.Actor
) -> SeriesBooked:
    if key is not None:
        asked = idempotency.request_hash({"series": request.model_dump(mode="json")})
        replay = idempotency.claim(db, user.id, key, asked)
        if replay is not None:
            db.rollback()
            return SeriesBooked.model_validate(replay.body)
    now = datetime.now(UTC)
    space = service.bookable_space(db, request.space_id)
    planned = plan(space, request, now)
    if not repository.lock_user(db, user.id):
        raise Unauthorized("The account of this access token no longer exists.")
    holding = service.holding_problems(db, user.id)
    locked = service.bookable_space(db, request.space_id, lock=True)
    if locked != space:  # its settings changed meanwhile
        space, planned = locked, plan(locked, request, now)
    if request.attendees > space.capacity:
        holding.append((["attendees"], f"this space holds at most {space.capacity} people"))
    service.refuse_if(holding)
    # Bookings nobody checked in to in time read as free already: released before they could be in the way.
    service.release_due(db, space_id=space.id, around=(planned[0].start, planned[-1].end))
    broken = _broken_rules(space, planned, now)
    if request.mode == "all_or_nothing":
        _refuse_broken(space, planned, broken)
        series = _insert_series(db, user, space, request)
        rows = [_row(series, user, space, request, o) for o in planned]
        try:
            with domain_errors():
                repository.insert_reservations(db, rows)
        except Overlap:
            raise _InTheWay(space, planned) from None
        skipped: list[Skipped] = []
    else:
        series, skipped = _book_what_can_be(db, user, space, request, planned, broken)
    booked = SeriesBooked(**_series(db, series).model_dump(), skipped=skipped)
    body = booked.model_dump(mode="json")
    summary = booked.model_dump(mode="json", exclude={"occurrences"})
    summary["occurrences"] = [service.occurrence_summary(o) for o in booked.occurrences]
    events.record(db, events.SERIES_BOOKED, booked.id, summary)
    audit.record(
        db,
        actor,
        "series.created",
        "series",
        booked.id,
        subject_id=user.id,
        after={
            "rule": booked.rule,
            "space_id": str(space.id),
            "occurrences": [str(o.id) for o in booked.occurrences],
        },
    )
    if key is not None:
        idempotency.remember(db, user.id, key, body)
    db.commit()
    spaces_cache.bookings_changed(space.id)
    return booked


def plan(space: Space, request: SeriesRequest, now: datetime) -> list[Occurrence]:
    """The occurrences of the rule in the space's zone; a 422 for a rule that cannot be booked at all
    (too many occurrences, some past the space's booking horizon, occurrences overlapping each other)."""
    zone = ZoneInfo(space.timezone)
    length = request.end_time - request.start_time
    if length <= timedelta(0):
        raise Unprocessable(
            "end_time must be after start_time.",
            title="Series refused",
            errors=[{"loc": ["end_time"], "msg": "end_time must be after start_time"}],
        )
    rule = recurrence.parse(request.rule)
    try:
        starts = recurrence.starts(rule, request.start_time, zone)
    except recurrence.InvalidRule as error:
        raise _bad_rule(str(error)) from None
    if len(starts) > recurrence.MAX_OCCURRENCES:
        raise _bad_rule(f"a series has at most {recurrence.MAX_OCCURRENCES} occurrences; this rule has more")
    horizon = now + timedelta(days=space.max_advance_days)
    within = [start for start in starts if start <= horizon]
    if len(within) < len(starts):
        ahead = f"this space takes bookings at most {space.max_advance_days} days ahead"
        if not within:
            raise _bad_rule(f"{ahead}, and the series starts later")
        last = within[-1].astimezone(zone)
        raise _bad_rule(
            f"{ahead}: {len(starts) - len(within)} of the occurrences start later; end the series by "
            f"{last:%Y%m%d} (UNTIL={last:%Y%m%d} or COUNT={len(within)})"
        )
    planned = [Occurrence(start, start + length) for start in starts]
    before = timedelta(minutes=space.buffer_before_minutes)
    after = timedelta(minutes=space.buffer_after_minutes)
    for earlier, later in itertools.pairwise(planned):
        if earlier.end + after > later.start - before:
            raise _bad_rule("its occurrences would overlap each other (with the space's buffers)")
    return planned


def _bad_rule(problem: str) -> Unprocessable:
    return Unprocessable(
        problem[0].upper() + problem[1:] + ".",
        title="Series refused",
        errors=[{"loc": ["rule"], "msg": problem}],
    )


def _broken_rules(space: Space, planned: list[Occurrence], now: datetime) -> list[list[str]]:
    """For each occurrence, the booking rules it breaks (opening hours, how far ahead...)."""
    return [booking_problems(space, o.start, o.end, now) for o in planned]


def _refuse_broken(space: Space, planned: list[Occurrence], broken: list[list[str]]) -> None:
    zone = ZoneInfo(space.timezone)
    errors = [
        {"loc": ["rule"], "msg": f"the occurrence at {o.start.astimezone(zone).isoformat()}: {problem}"}
        for o, problems in zip(planned, broken, strict=True)
        for problem in problems
    ]
    if errors:
        count = sum(1 for problems in broken if problems)
        raise Unprocessable(
            f"{count} of the {len(planned)} occurrences break a booking rule; none was booked.",
            title="Booking refused",
            errors=errors,
        )


def _book_what_can_be(
    db: Connection,
    user: User,
    space: Space,
    request: SeriesRequest,
    planned: list[Occurrence],
    broken: list[list[str]],
) -> tuple[RowMapping, list[Skipped]]:
    """skip_conflicts: the occurrences that break a rule or meet held time are skipped. What holds the
    space is read once under the space's lock; an insert that still meets held time (a writer that
    does not take that lock) is retried one occurrence at a time, and the database decides each."""
    zone = ZoneInfo(space.timezone)
    skipped: list[Skipped] = []
    free: list[Occurrence] = []
    held = _held_during(db, space, planned)
    for occurrence, problems in zip(planned, broken, strict=True):
        reason, detail = ("rule", "; ".join(problems)) if problems else _taken(held, space, occurrence)
        if reason is None:
            free.append(occurrence)
        else:
            skipped.append(_skip(occurrence, zone, reason, detail))
    if not free:
        raise _nothing_booked(skipped)
    series = _insert_series(db, user, space, request)
    try:
        with db.begin_nested(), domain_errors():
            repository.insert_reservations(db, [_row(series, user, space, request, o) for o in free])
    except Overlap:
        for occurrence in free:
            try:
                with db.begin_nested(), domain_errors():
                    repository.insert_reservations(db, [_row(series, user, space, request, occurrence)])
            except Overlap:
                skipped.append(_skip(occurrence, zone, "taken", "someone else holds this time"))
    if len(skipped) == len(planned):
        raise _nothing_booked(skipped)
    return series, sorted(skipped, key=lambda s: s.start_time)


def _nothing_booked(skipped: list[Skipped]) -> Conflict:
    return Conflict(
        "None of the occurrences can be booked; `skipped` says why for each.",
        title="Nothing booked",
        skipped=[s.model_dump(mode="json") for s in sorted(skipped, key=lambda s: s.start_time)],
    )


def _held_during(db: Connection, space: Space, planned: list[Occurrence]) -> list[spaces_repository.Held]:
    return spaces_repository.held_intervals(
        db,
        space.id,
        planned[0].start - timedelta(minutes=space.buffer_before_minutes),
        planned[-1].end + timedelta(minutes=space.buffer_after_minutes),
    )


def _taken(
    held: list[spaces_repository.Held], space: Space, occurrence: Occurrence
) -> tuple[str | None, str]:
    """Why the occurrence (with its buffers) cannot have its time, or (None, "") when it can."""
    start = occurrence.start - timedelta(minutes=space.buffer_before_minutes)
    end = occurrence.end + timedelta(minutes=space.buffer_after_minutes)
    in_the_way = [h for h in held if h.start < end and start < h.end]
    if not in_the_way:
        return None, ""
    if all(h.closed for h in in_the_way):
        return "closed", "the space is closed then"
    return "taken", "someone else holds this time"


def _skip(occurrence: Occurrence, zone: ZoneInfo, reason: str, detail: str) -> Skipped:
    return Skipped.model_validate(
        {
            "start_time": occurrence.start.astimezone(zone),
            "end_time": occurrence.end.astimezone(zone),
            "reason": reason,
            "detail": detail,
        }
    )


def _insert_series(db: Connection, user: User, space: Space, request: SeriesRequest) -> RowMapping:
    return repository.insert_series(db, {"user_id": user.id, "space_id": space.id, "rule": request.rule})


def _row(
    series: RowMapping, user: User, space: Space, request: SeriesRequest, occurrence: Occurrence
) -> dict[str, Any]:
    return {
        "user_id": user.id,
        "space_id": space.id,
        "series_id": series["id"],
        "recurrence_id": occurrence.start,
        "start_time": occurrence.start,
        "end_time": occurrence.end,
        "attendees": request.attendees,
        "notes": request.notes,
        "cost": booking_cost(space.price_per_hour, space.currency, occurrence.start, occurrence.end),
        "currency": space.currency,
        **service.approval_terms(space, occurrence.start),
    }


def _conflicts(db: Connection, space: Space, planned: list[Occurrence]) -> Conflict:
    """The 409 of an all-or-nothing series: each occurrence in the way, what holds its time, and the
    nearest free times of the same length that day."""
    zone = ZoneInfo(space.timezone)
    conflicts = []
    for occurrence in planned:
        in_the_way = service.held_around(db, space, occurrence.start, occurrence.end)
        if not in_the_way:
            continue
        conflicts.append(
            {
                "start_time": occurrence.start.astimezone(zone).isoformat(),
                "end_time": occurrence.end.astimezone(zone).isoformat(),
                "in_the_way": [h.model_dump(mode="json") for h in in_the_way],
                "suggestions": [
                    s.model_dump(mode="json")
                    for s in service.same_space_suggestions(db, space, occurrence.start, occurrence.end)
                ],
            }
        )
    db.rollback()
    return Conflict(
        f"{len(conflicts)} of the {len(planned)} occurrences are taken; none was booked. "
        "`conflicts` lists each, with what is in the way and the nearest free times.",
        title="Already booked",
        conflicts=conflicts,
    )


def get_series(db: Connection, user: User, series_id: uuid.UUID) -> Series:
    return _series(db, _own_series(db, user, series_id))


def cancel_series(
    db: Connection,
    user: User,
    series_id: uuid.UUID,
    starting_from: datetime | None,
    *,
    actor: audit.Actor,
) -> Series:
    """Cancel the occurrences that have not started, from `starting_from` on ("this and the following";
    all future ones without it). Repeating it changes nothing."""
    return service.retried(db, lambda: _cancel_series_once(db, user, series_id, starting_from, actor))


def _cancel_series_once(
    db: Connection, user: User, series_id: uuid.UUID, starting_from: datetime | None, actor: audit.Actor
) -> Series:
    row = _own_series(db, user, series_id)
    now = datetime.now(UTC)
    cancelled = repository.cancel_occurrences(db, series_id, max(starting_from or now, now))
    series = _series(db, row)
    if cancelled:
        gone = [service.occurrence_summary(o) for o in series.occurrences if o.id in set(cancelled)]
        events.record(
            db, events.SERIES_CANCELLED, series.id, {"series_id": str(series.id), "cancelled": gone}
        )
        audit.record(
            db,
            actor,
            "series.cancelled",
            "series",
            series.id,
            subject_id=series.user_id,
            after={"cancelled": [str(i) for i in cancelled]},
        )
    db.commit()
    spaces_cache.bookings_changed(series.space_id)
    return series


def _own_series(db: Connection, user: User, series_id: uuid.UUID) -> RowMapping:
    row = repository.find_series(db, series_id)
    if row is None or (row["user_id"] != user.id and not user.is_admin):
        raise NotFound("No series of yours has this id.")
    return row


def _series(db: Connection, row: RowMapping) -> Series:
    return Series(
        id=row["id"],
        user_id=row["user_id"],
        space_id=row["space_id"],
        rule=row["rule"],
        created_at=row["created_at"],
        occurrences=[service.to_reservation(o) for o in repository.occurrences(db, row["id"])],
    )


def decide_series(
    db: Connection,
    user: User,
    series_id: uuid.UUID,
    *,
    approve: bool,
    reason: str,
    actor: audit.Actor,
) -> Series:
    """An approver decides at once every occurrence of a series still pending: one SeriesApproved or
    SeriesDeclined, as a series is booked and announced once."""
    row = repository.find_series(db, series_id)
    if row is None or not (user.is_admin or repository.manages(db, user.id, row["space_id"])):
        raise NotFound("No series you may decide has this id.")
    if row["user_id"] == user.id and not user.is_admin:
        raise Forbidden("Your own bookings are decided by another approver.")
    if not approve and not reason.strip():
        raise Unprocessable(
            "Say why the series is declined.", errors=[{"loc": ["reason"], "msg": "required"}]
        )
    status = "active" if approve else "declined"
    decided = set(repository.decide_pending_of_series(db, series_id, status, user.id, reason))
    series = _series(db, row)
    if decided:
        bodies = [service.occurrence_summary(o) for o in series.occurrences if o.id in decided]
        event = events.SERIES_APPROVED if approve else events.SERIES_DECLINED
        payload = {"series_id": str(series.id), "space_id": str(series.space_id), "occurrences": bodies}
        events.record(db, event, series.id, payload)
        after = {"status": status, "occurrences": sorted(str(i) for i in decided), "reason": reason}
        action = "series.approved" if approve else "series.declined"
        audit.record(db, actor, action, "series", series.id, subject_id=series.user_id, after=after)
    db.commit()
    if decided and not approve:
        spaces_cache.bookings_changed(series.space_id)
    return series
