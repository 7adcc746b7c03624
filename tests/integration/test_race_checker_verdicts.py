"""The race checker's verdicts can fail: a lost booking, a wrong status, an overlap, a 5xx each show."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from bench.race_checker import NAIVE_TABLE, History, check

START = datetime(2030, 1, 7, 9, tzinfo=UTC)


def test_each_kind_of_broken_promise_is_reported(engine):
    space, kept, lost, revived = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE IF EXISTS {NAIVE_TABLE}"))
        connection.execute(
            text(
                f"CREATE TABLE {NAIVE_TABLE} (id uuid PRIMARY KEY, space_id uuid, start_time timestamptz, "
                "end_time timestamptz, status text)"
            )
        )
        for reservation_id in (kept, revived):
            connection.execute(
                text(f"INSERT INTO {NAIVE_TABLE} VALUES (:id, :space, :start, :end, 'active')"),  # noqa: S608
                {"id": reservation_id, "space": space, "start": START, "end": START + timedelta(hours=1)},
            )
    history = History()
    for reservation_id in (kept, lost, revived):
        history.add(op="book", client=0, space=space, start=START, end=START, status=201, id=reservation_id)
    history.add(op="cancel", client=0, id=revived, status=200)
    history.add(op="book", client=1, space=space, start=START, end=START, status=502, id=None)

    try:
        verdict = check(history, engine, NAIVE_TABLE)
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP TABLE {NAIVE_TABLE}"))

    assert verdict.lost_bookings == [lost]
    assert verdict.wrong_status == [revived]  # acknowledged as cancelled, still active
    assert verdict.overlapping_pairs == 1
    assert verdict.server_errors == 1
    assert not verdict.ok
