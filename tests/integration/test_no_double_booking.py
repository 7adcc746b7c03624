"""The guarantee, proven against PostgreSQL itself: concurrent transactions race to book one space."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import exc, insert, select

from reservas.database import DEADLOCK_DETECTED, EXCLUSION_VIOLATION, sqlstate
from reservas.tables import reservations, spaces, users
from tests.support import race_transactions

DAY = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def space_and_user(engine):
    with engine.begin() as connection:
        user_id = connection.execute(
            insert(users)
            .values(email="racer@example.com", password_hash="x", name="Racer")
            .returning(users.c.id)
        ).scalar_one()
        space_id = connection.execute(
            insert(spaces).values(name="Room", capacity=4).returning(spaces.c.id)
        ).scalar_one()
    return space_id, user_id


def race(engine, intervals, space_id, user_id, status="active"):
    """Each interval is inserted by its own transaction, all at once (tests.support.race_transactions)."""

    def inserting(start, end):
        def insert_it(connection):
            connection.execute(
                insert(reservations).values(
                    id=uuid.uuid4(),
                    user_id=user_id,
                    space_id=space_id,
                    start_time=start,
                    end_time=end,
                    status=status,
                    cancelled_at=DAY if status == "cancelled" else None,
                )
            )

        return insert_it

    return race_transactions(*(inserting(start, end) for start, end in intervals))


def active_intervals(engine, space_id):
    with engine.connect() as connection:
        rows = connection.execute(
            select(reservations.c.start_time, reservations.c.end_time)
            .where(reservations.c.space_id == space_id, reservations.c.status == "active")
            .order_by(reservations.c.start_time)
        ).all()
    return [(row.start_time, row.end_time) for row in rows]


def test_overlapping_bookings_racing_for_one_space_exactly_one_commits(engine, space_and_user):
    space_id, user_id = space_and_user
    # Every pair of these 16 intervals overlaps (all contain 10:00-10:45).
    intervals = [(DAY + timedelta(minutes=i), DAY + timedelta(hours=2, minutes=45)) for i in range(16)]

    outcomes = race(engine, intervals, space_id, user_id)

    assert outcomes.count("committed") == 1
    assert all(o in (EXCLUSION_VIOLATION, DEADLOCK_DETECTED) for o in outcomes if o != "committed"), outcomes
    assert len(active_intervals(engine, space_id)) == 1


def test_disjoint_and_back_to_back_bookings_all_commit(engine, space_and_user):
    space_id, user_id = space_and_user
    # Back to back: each ends exactly when the next starts; half-open ranges do not clash.
    intervals = [(DAY + timedelta(hours=i), DAY + timedelta(hours=i + 1)) for i in range(16)]

    outcomes = race(engine, intervals, space_id, user_id)

    assert outcomes == ["committed"] * 16
    booked = active_intervals(engine, space_id)
    assert booked == sorted(intervals)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(booked))


def test_the_same_interval_in_different_spaces_does_not_clash(engine, space_and_user):
    _, user_id = space_and_user
    with engine.begin() as connection:
        other = connection.execute(
            insert(spaces).values(name="Other", capacity=2).returning(spaces.c.id)
        ).scalar()
        first = connection.execute(select(spaces.c.id).where(spaces.c.name == "Room")).scalar()
    for space_id in (first, other):
        assert race(engine, [(DAY, DAY + timedelta(hours=1))], space_id, user_id) == ["committed"]


def test_cancelled_reservations_do_not_block(engine, space_and_user):
    space_id, user_id = space_and_user
    interval = (DAY, DAY + timedelta(hours=1))
    assert race(engine, [interval] * 3, space_id, user_id, status="cancelled") == ["committed"] * 3

    assert race(engine, [interval], space_id, user_id) == ["committed"]
    assert active_intervals(engine, space_id) == [interval]


def test_a_reservation_cannot_be_reactivated_over_another(engine, space_and_user):
    space_id, user_id = space_and_user
    interval = (DAY, DAY + timedelta(hours=1))
    race(engine, [interval], space_id, user_id, status="cancelled")
    race(engine, [interval], space_id, user_id)

    with pytest.raises(exc.DBAPIError) as raised, engine.begin() as connection:
        connection.execute(
            reservations.update()
            .where(reservations.c.status == "cancelled")
            .values(status="active", cancelled_at=None)
        )
    assert sqlstate(raised.value) == EXCLUSION_VIOLATION
