"""SQL for reservations. A reservation whose end has passed reads as `completed`, and one nobody checked
in to in time as `released`: `effective_status` is the one place those rules live, and every query here
goes through it."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    ScalarSelect,
    Select,
    and_,
    bindparam,
    case,
    exc,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.sql.dml import Insert, ReturningInsert, Update
from sqlalchemy.sql.util import ClauseAdapter

from reservas.database import FOREIGN_KEY_VIOLATION, after_key, contains, sqlstate
from reservas.tables import reservations, series, space_managers, spaces, users

RELEASE_BATCH = 1000  # bookings one release marks; the scheduled function runs again a minute later

# A booking nobody checked in to by its check_in_by reads as released, before the release function
# gets to it (see migrations/versions/0007).
lapsed = and_(
    reservations.c.status == "active",
    reservations.c.checked_in_at.is_(None),
    reservations.c.check_in_by <= func.now(),
)
# A pending booking nobody decided by its decide_by reads as expired (migrations/versions/0008).
undecided = and_(reservations.c.status == "pending", reservations.c.decide_by <= func.now())
HOLDING = ("active", "pending")  # the statuses whose bookings hold their time
still_holding = and_(  # holding, and neither lapsed nor undecided past its time (NULLs included)
    reservations.c.status.in_(HOLDING),
    or_(
        reservations.c.check_in_by.is_(None),
        reservations.c.checked_in_at.is_not(None),
        reservations.c.check_in_by > func.now(),
    ),
    or_(reservations.c.status != "pending", reservations.c.decide_by > func.now()),
)
effective_status = case(
    (lapsed, "released"),
    (undecided, "expired"),
    (and_(reservations.c.status == "active", reservations.c.end_time <= func.now()), "completed"),
    else_=reservations.c.status,
).label("status")

_COLUMNS = [
    *(c for c in reservations.c if c.name != "status"),
    effective_status,
    spaces.c.timezone,
]


def _select() -> Select[Any]:
    return select(*_COLUMNS).join(spaces, spaces.c.id == reservations.c.space_id)


def lock_user(db: Connection, user_id: uuid.UUID) -> bool:
    """Serialise one user's bookings, so that the limit on active reservations holds under concurrency;
    whether the account still exists (it may have gone while the request waited)."""
    statement = select(users.c.id).where(users.c.id == user_id).with_for_update(key_share=True)
    return db.execute(statement).first() is not None


def lock_user_claiming(db: Connection, user_id: uuid.UUID, claim: ReturningInsert[Any]) -> tuple[bool, bool]:
    """lock_user, with `claim` (an INSERT that returns a row when it inserts) in the same statement:
    whether the account still exists, and whether `claim` inserted. (PostgreSQL runs `claim` whether
    the account is there or not: for an account gone, its row refers to no one, and the statement fails.)"""
    claimed = claim.cte("claimed")
    statement = (
        select(users.c.id, exists(select(literal_column("1")).select_from(claimed)).label("claimed"))
        .where(users.c.id == user_id)
        .with_for_update(of=users, key_share=True)
    )
    try:
        row = db.execute(statement).first()
    except exc.DBAPIError as error:
        if sqlstate(error) != FOREIGN_KEY_VIOLATION:
            raise
        return False, False  # the transaction failed with it: the caller refuses, and it rolls back
    return row is not None, bool(row and row.claimed)


def count_active_future(db: Connection, user_id: uuid.UUID) -> int:
    return db.execute(select(_holdings(user_id))).scalar_one()


def _holdings(user_id: uuid.UUID) -> ScalarSelect[int]:
    """The user's upcoming holdings: each booking counts once, and so does each series, but for its
    occurrences moved away from the time its rule gave them, which count on their own."""
    in_its_place = reservations.c.start_time == reservations.c.recurrence_id
    holding = case((in_its_place, reservations.c.series_id), else_=reservations.c.id)
    return (
        select(func.count(holding.distinct()))
        .where(reservations.c.user_id == user_id, reservations.c.end_time > func.now(), still_holding)
        .scalar_subquery()
    )


def space_to_book(db: Connection, space_id: uuid.UUID, holder_id: uuid.UUID) -> RowMapping | None:
    """The space, locked (FOR NO KEY UPDATE: bookings of one space take turns), with `holdings`: the
    upcoming holdings of the one who would hold the booking (count_active_future), counted after the
    caller locked their row (lock_user), in the same statement."""
    statement = (
        select(spaces, _holdings(holder_id).label("holdings"))
        .where(spaces.c.id == space_id)
        .with_for_update(of=spaces, key_share=True)
    )
    return db.execute(statement).mappings().first()


def insert_reservation(db: Connection, values: dict[str, Any]) -> RowMapping:
    """Insert a reservation; it as `find` reads it."""
    return _written(db, _inserting(tuple(sorted(values))), values)


# The statements that write one reservation and read it back are built once per shape (their columns),
# with the values as parameters: building one costs more than sending it.


@functools.cache
def _inserting(columns: tuple[str, ...]) -> Select[Any]:
    return _read_back(insert(reservations).values({column: _value(column) for column in columns}))


@functools.cache
def _changing(columns: tuple[str, ...]) -> Select[Any]:
    chosen = update(reservations).where(reservations.c.id == bindparam("reservation_id"))
    return _read_back(chosen.values({column: _value(column) for column in columns}))


@functools.cache
def _cancelling() -> Select[Any]:
    return _read_back(
        update(reservations)
        .where(reservations.c.id == bindparam("reservation_id"), reservations.c.status.in_(HOLDING))
        .values(status="cancelled", cancelled_at=func.now())
    )


def _value(column: str) -> BindParameter[Any]:
    return bindparam(f"new_{column}", type_=reservations.c[column].type)


def _read_back(write: Insert | Update) -> Select[Any]:
    """`write` (of one reservation), and its row read as `find` reads it, in one statement."""
    written = write.returning(*reservations.c).cte("written")
    as_written = ClauseAdapter(written).traverse
    return select(*(as_written(column) for column in _COLUMNS)).join_from(
        written, spaces, spaces.c.id == written.c.space_id
    )


def _written(db: Connection, statement: Select[Any], values: dict[str, Any], **keys: Any) -> RowMapping:
    parameters = {f"new_{column}": value for column, value in values.items()} | keys
    return db.execute(statement, parameters).mappings().one()


def insert_reservations(db: Connection, rows: list[dict[str, Any]]) -> None:
    """Several reservations in one statement: all of them, or none when one may not be."""
    db.execute(insert(reservations).values(rows))


def insert_series(db: Connection, values: dict[str, Any]) -> RowMapping:
    return db.execute(insert(series).values(**values).returning(series)).mappings().one()


def find_series(db: Connection, series_id: uuid.UUID) -> RowMapping | None:
    return db.execute(select(series).where(series.c.id == series_id)).mappings().first()


def occurrences(db: Connection, series_id: uuid.UUID) -> list[RowMapping]:
    statement = _select().where(reservations.c.series_id == series_id).order_by(reservations.c.start_time)
    return list(db.execute(statement).mappings())


def cancel_occurrences(db: Connection, series_id: uuid.UUID, starting_from: datetime) -> list[uuid.UUID]:
    """Cancel the series' active occurrences that start at `starting_from` or later; their ids. Their
    rows are locked in id order first, the order of every writer that locks several bookings."""
    chosen = select(reservations.c.id).where(
        reservations.c.series_id == series_id,
        reservations.c.status.in_(HOLDING),
        reservations.c.start_time >= starting_from,
    )
    return list(
        cancel_all(db, list(db.execute(chosen.order_by(reservations.c.id).with_for_update()).scalars()))
    )


def find(db: Connection, reservation_id: uuid.UUID, *, lock: bool = False) -> RowMapping | None:
    statement = _select().where(reservations.c.id == reservation_id)
    if lock:
        statement = statement.with_for_update(of=reservations)
    return db.execute(statement).mappings().first()


def find_all(db: Connection, reservation_ids: list[uuid.UUID]) -> list[RowMapping]:
    """The reservations with these ids, by start time."""
    if not reservation_ids:
        return []
    statement = _select().where(reservations.c.id.in_(reservation_ids)).order_by(reservations.c.start_time)
    return list(db.execute(statement).mappings())


def change(db: Connection, reservation_id: uuid.UUID, values: dict[str, Any]) -> RowMapping:
    """Change a reservation the caller holds locked; it as `find` reads it."""
    return _written(db, _changing(tuple(sorted(values))), values, reservation_id=reservation_id)


def cancel(db: Connection, reservation_id: uuid.UUID) -> RowMapping:
    """Cancel a reservation the caller holds locked, holding its time; it as `find` reads it."""
    return _written(db, _cancelling(), {}, reservation_id=reservation_id)


def cancel_all(db: Connection, reservation_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Cancel those of these reservations that still hold their time; the status each had, by id."""
    if not reservation_ids:
        return {}
    return _cancel_where(db, reservations.c.id.in_(reservation_ids))


def cancel_upcoming_of(db: Connection, user_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """Cancel every reservation of the user that still holds its time and has not started; the status
    each had, by id. (Those whose time lapsed are the release's to end.)"""
    return _cancel_where(db, and_(reservations.c.user_id == user_id, reservations.c.start_time > func.now()))


def _cancel_where(db: Connection, condition: ColumnElement[bool]) -> dict[uuid.UUID, str]:
    chosen = (
        select(reservations.c.id, reservations.c.status)
        .where(condition, still_holding)
        .order_by(reservations.c.id)
        .with_for_update()
        .cte("chosen")
    )
    statement = (
        update(reservations)
        .where(reservations.c.id == chosen.c.id)
        .values(status="cancelled", cancelled_at=func.now())
        .returning(reservations.c.id, chosen.c.status)
    )
    return {row.id: row.status for row in db.execute(statement)}


def lock_all_of(db: Connection, user_id: uuid.UUID) -> None:
    """Lock every reservation of the user, in id order (as every writer that locks several bookings),
    so that a change or cancellation of one on its way ends before an account goes (see
    leaving._lock_for_leaving)."""
    statement = select(reservations.c.id).where(reservations.c.user_id == user_id)
    db.execute(statement.order_by(reservations.c.id).with_for_update())


def erase_notes_of(db: Connection, user_id: uuid.UUID) -> None:
    db.execute(update(reservations).where(reservations.c.user_id == user_id).values(notes=""))


def search(
    db: Connection,
    *,
    user_id: uuid.UUID | None,
    space_id: uuid.UUID | None,
    managed_by: uuid.UUID | None = None,
    status: str | None,
    starts_before: datetime | None,
    ends_after: datetime | None,
    text: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[RowMapping]:
    """Reservations by start time, then id, after the keyset `after`."""
    statement = _select().order_by(reservations.c.start_time, reservations.c.id).limit(limit)
    if user_id is not None:
        statement = statement.where(reservations.c.user_id == user_id)
    if space_id is not None:
        statement = statement.where(reservations.c.space_id == space_id)
    if managed_by is not None:
        managed = select(space_managers.c.space_id).where(space_managers.c.user_id == managed_by)
        statement = statement.where(reservations.c.space_id.in_(managed))
    if status is not None:
        statement = statement.where(effective_status == status)
    if starts_before is not None:
        statement = statement.where(reservations.c.start_time < starts_before)
    if ends_after is not None:
        statement = statement.where(reservations.c.end_time > ends_after)
    if text:
        statement = statement.where(or_(contains(reservations.c.notes, text), contains(spaces.c.name, text)))
    if after is not None:
        statement = statement.where(after_key(reservations.c.start_time, reservations.c.id, after))
    return list(db.execute(statement).mappings())


def release_lapsed(
    db: Connection,
    *,
    space_ids: list[uuid.UUID] | None = None,
    user_id: uuid.UUID | None = None,
    around: tuple[datetime, datetime] | None = None,
    wait: bool = False,
) -> list[uuid.UUID]:
    """End the bookings whose time lapsed (of these spaces, overlapping `around`, when given), at most
    RELEASE_BATCH: those nobody checked in to in time become `released`, those nobody decided in time
    `expired`; their ids. Rows another transaction holds (a check-in or a decision on its way, say) are
    skipped, unless `wait`; either way a booking is never ended twice."""
    due = select(reservations.c.id).where(or_(lapsed, undecided))
    if space_ids is not None:
        due = due.where(reservations.c.space_id.in_(space_ids))
    if user_id is not None:
        due = due.where(reservations.c.user_id == user_id)
    if around is not None:
        start, end = around
        due = due.where(reservations.c.start_time < end, reservations.c.end_time > start)
    due = due.order_by(reservations.c.id).limit(RELEASE_BATCH).with_for_update(skip_locked=not wait)
    was_pending = reservations.c.status == "pending"
    statement = (
        update(reservations)
        .where(reservations.c.id.in_(due.scalar_subquery()))
        .values(
            status=case((was_pending, "expired"), else_="released"),
            released_at=case((was_pending, None), else_=func.now()),
        )
        .returning(reservations.c.id)
    )
    return list(db.execute(statement).scalars())


def check_in(db: Connection, reservation_id: uuid.UUID) -> None:
    db.execute(
        update(reservations).where(reservations.c.id == reservation_id).values(checked_in_at=func.now())
    )


def to_check_in_to(
    db: Connection, user_id: uuid.UUID, space_id: uuid.UUID, opens_minutes: int
) -> RowMapping | None:
    """The user's booking at the space whose check-in is open now (from `opens_minutes` before its start
    until its check_in_by), checked in or not, the earliest first."""
    opens = reservations.c.start_time - literal_column("interval '1 minute'") * opens_minutes
    statement = (
        _select()
        .where(
            reservations.c.user_id == user_id,
            reservations.c.space_id == space_id,
            reservations.c.status == "active",
            opens <= func.now(),
            or_(reservations.c.checked_in_at.is_not(None), reservations.c.check_in_by > func.now()),
            reservations.c.end_time > func.now(),
        )
        .order_by(reservations.c.checked_in_at.is_not(None), reservations.c.start_time)
        .limit(1)
    )
    return db.execute(statement).mappings().first()


def decide(
    db: Connection, reservation_id: uuid.UUID, status: str, decided_by: uuid.UUID, reason: str
) -> None:
    db.execute(
        update(reservations)
        .where(reservations.c.id == reservation_id, reservations.c.status == "pending")
        .values(status=status, decided_at=func.now(), decided_by=decided_by, decision_reason=reason)
    )


def manages(db: Connection, user_id: uuid.UUID, space_id: uuid.UUID) -> bool:
    """Whether the user manages the space; their row stays locked (FOR KEY SHARE) until the transaction
    ends, so that a decision and the removal of its manager take turns."""
    statement = (
        select(space_managers.c.user_id)
        .where(space_managers.c.user_id == user_id, space_managers.c.space_id == space_id)
        .with_for_update(read=True, key_share=True)
    )
    return db.execute(statement).first() is not None


NO_LONGER_REQUIRED = "The space no longer requires approval."


def approve_all_pending(db: Connection, space_id: uuid.UUID) -> list[uuid.UUID]:
    """Approve the space's pending bookings that have not expired; their ids."""
    return _decide_pending_where(
        db, reservations.c.space_id == space_id, status="active", decision_reason=NO_LONGER_REQUIRED
    )


def decide_pending_of_series(
    db: Connection, series_id: uuid.UUID, status: str, decided_by: uuid.UUID, reason: str
) -> list[uuid.UUID]:
    """Decide at once the series' occurrences still pending (not expired); their ids."""
    return _decide_pending_where(
        db,
        reservations.c.series_id == series_id,
        status=status,
        decided_by=decided_by,
        decision_reason=reason,
    )


def _decide_pending_where(db: Connection, condition: ColumnElement[bool], **decision: Any) -> list[uuid.UUID]:
    """Decide the pending bookings that meet `condition` and have not expired, their rows locked in id
    order (as every writer that locks several bookings); their ids."""
    chosen = (
        select(reservations.c.id)
        .where(condition, reservations.c.status == "pending", reservations.c.decide_by > func.now())
        .order_by(reservations.c.id)
        .with_for_update()
        .cte("chosen")
    )
    statement = (
        update(reservations)
        .where(reservations.c.id == chosen.c.id)
        .values(decided_at=func.now(), **decision)
        .returning(reservations.c.id)
    )
    return list(db.execute(statement).scalars())


def holds_time(
    db: Connection, user_id: uuid.UUID, space_id: uuid.UUID, start: datetime, end: datetime
) -> bool:
    """Whether the user holds some of [start, end) in the space."""
    statement = select(reservations.c.id).where(
        reservations.c.user_id == user_id,
        reservations.c.space_id == space_id,
        reservations.c.start_time < end,
        reservations.c.end_time > start,
        still_holding,
    )
    return db.execute(statement.limit(1)).first() is not None
