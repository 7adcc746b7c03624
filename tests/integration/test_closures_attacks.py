"""Closures, attacked: writers that lock many bookings in different orders, a closure over more
bookings than one request can cancel, a location spelt another way. Each failed before its fix."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, text

from reservas.tables import reservations
from tests.integration.conftest import bearer
from tests.support import STRONG_PASSWORD


def _waiting_on_locks(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        ).scalar_one()


def _until_waiting(engine, count: int) -> None:
    deadline = time.monotonic() + 0.8  # inside the API's lock_timeout (1 s)
    while _waiting_on_locks(engine) < count:
        assert time.monotonic() < deadline, "the request never waited on a lock"
        time.sleep(0.005)


def _in_thread(call) -> tuple[threading.Thread, list]:
    answer: list = []
    thread = threading.Thread(target=lambda: answer.append(call()))
    thread.start()
    return thread, answer


def _line_up(engine, series_id: str):
    """An occurrence s that lines a closure (locking the occurrences by id) and a writer locking them by
    start up for a deadlock: the writer stops at a row the closure (stopped at s) already holds, after
    taking a row the closure wants next."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(reservations.c.id, reservations.c.start_time).where(
                reservations.c.series_id == uuid.UUID(series_id)
            )
        ).all()
    by_start = sorted(rows, key=lambda r: r.start_time)

    def lines_them_up(s) -> bool:
        for index, row in enumerate(by_start):
            if row.id == s.id:
                return False
            if row.id < s.id:
                return index > 0
        return False

    return next((row for row in by_start if lines_them_up(row)), None)


def _series_that_lines_up(engine, booking, series, client_for) -> str:
    """A series whose occurrences can be lined up (see _line_up); its id. Ids are random: when the
    first occurrence by start also has the smallest id (about one series in 60), no occurrence can,
    and the series is cancelled and another booked at a later hour."""
    for hour in (10, 12, 14, 16, 18):
        booked = series.book(booking.space, booking.day, f"{hour}:00", f"{hour + 1}:00", SERIES)
        assert booked.status_code == 201, booked.text
        series_id = booked.json()["id"]
        if _line_up(engine, series_id) is not None:
            return series_id
        cancelled = client_for("reservations").delete(
            f"/reservations/series/{series_id}", headers=bearer(series.token)
        )
        assert cancelled.status_code == 200, cancelled.text
    raise AssertionError("five series in a row could not be lined up")


def _closure_and_writer_deadlock(engine, booking, closing, series_id, writer):
    """The closure (cancel_bookings over the whole series) stops at the occurrence s a third party
    holds for a moment (as a PATCH of it would); `writer` then starts and stops at a row the closure
    holds; the third party lets go. The two answers."""
    s = _line_up(engine, series_id)
    start = booking.at("00:00")
    end = (datetime.fromisoformat(start) + timedelta(days=120)).isoformat()
    third_party = engine.connect()
    try:
        third_party.execute(select(reservations.c.id).where(reservations.c.id == s.id).with_for_update())
        closure_thread, closure = _in_thread(
            lambda: closing.space(booking.space["id"], start, end, cancel_bookings=True)
        )
        _until_waiting(engine, 1)  # the closure holds the rows before s (by id) and waits for s
        writer_thread, written = _in_thread(writer)
        _until_waiting(engine, 2)  # the writer holds the first rows (by start), waits on the closure
        third_party.commit()
    finally:
        third_party.close()
    closure_thread.join(30)
    writer_thread.join(30)
    return closure[0], written[0]


SERIES = "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;COUNT=60"


def test_cancelling_a_series_while_a_closure_cancels_its_occurrences_is_not_a_5xx(
    booking, closing, series, client_for, engine
):
    """A closure with cancel_bookings locks the bookings in its way in id order; DELETE
    /reservations/series/{id} locks the occurrences in start order (its UPDATE walks the series by
    start). A third party holding one occurrence for a moment (a PATCH of it; here a bare row lock)
    lines them up so that the two wait on each other: the series' cancellation, which nothing
    retries, is the one PostgreSQL gives up on (lock_timeout, 503; or deadlock detected, 500)."""
    series_id = _series_that_lines_up(engine, booking, series, client_for)
    api = client_for("reservations")
    closure, cancelled = _closure_and_writer_deadlock(
        engine,
        booking,
        closing,
        series_id,
        lambda: api.delete(f"/reservations/series/{series_id}", headers=bearer(series.token)),
    )
    assert closure.status_code == 201, closure.text
    # Right: the cancellation waits for the closure, then finds nothing left to cancel (200); or it
    # is retried. Never a 5xx for cancelling one's own series.
    assert cancelled.status_code == 200, (cancelled.status_code, cancelled.text)


def test_leaving_while_a_closure_cancels_ones_bookings_is_not_a_5xx(
    booking, closing, series, client_for, engine
):
    """The same lock-order inversion with leaving: DELETE /users/me locks the person's reservations
    (reservations.repository.lock_all_of: no ORDER BY, here the order they were written in, by start)
    while the closure locks them by id."""
    closure, left = _closure_and_writer_deadlock(
        engine,
        booking,
        closing,
        _series_that_lines_up(engine, booking, series, client_for),
        lambda: client_for("users").request(
            "DELETE",
            "/users/me",
            json={"current_password": STRONG_PASSWORD},
            headers=bearer(series.token),
        ),
    )
    assert closure.status_code == 201, closure.text
    assert left.status_code == 204, (left.status_code, left.text)


def test_a_closure_over_many_bookings_answers_what_to_do_not_a_retryable_503(booking, closing, engine):
    """ "Leaving or a closure cancels any number of bookings in a few statements": the statements are
    few, but the request builds, records and announces every cancelled booking in Python and in
    multi-row INSERTs (audit, outbox) within the request's 2.5 s database budget. About 5,000
    bookings take 2 s; 20,000 (a building of 40 rooms closed for a quarter) spend the budget, and
    the admin gets a 503 "The database is unavailable; try again shortly" that no retry can cure,
    with no way to close the time but to guess shorter closures."""
    start = datetime.fromisoformat(booking.at("00:00"))
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL statement_timeout = 0"))
        connection.execute(
            text(
                "INSERT INTO reservations (user_id, space_id, start_time, end_time, cost, currency) "
                "SELECT (SELECT id FROM users LIMIT 1), CAST(:space AS uuid), "
                "CAST(:start AS timestamptz) + g * interval '15 min', "
                "CAST(:start AS timestamptz) + (g + 1) * interval '15 min', 1, 'EUR' "
                "FROM generate_series(0, 19999) AS g"
            ),
            {"space": booking.space["id"], "start": start},
        )
    end = (start + timedelta(days=300)).isoformat()
    answer = closing.space(booking.space["id"], start.isoformat(), end, cancel_bookings=True)
    # Right: 201 (the cancellations written set-wise in SQL, bounded in time), or a 4xx up front
    # saying how many bookings a closure may cancel at most; never a 5xx that invites a retry.
    assert answer.status_code < 500, (answer.status_code, answer.text)


def test_a_location_closure_that_looks_right_but_covers_nothing_does_not_pass_silently(
    booking, closing, spaces_api
):
    """The location is compared code point for code point, and text.Line lets format characters
    (U+200B zero-width space, say: pasted from a spreadsheet) and either Unicode normalisation (a
    macOS client sends "é" as e + U+0301) through. "Madrid, floor 3" + U+200B looks exactly like the
    space's location; the closure is created (201), covers no space, and says nothing about it: the
    admin believes the floor is closed while people go on booking it."""
    cafe = spaces_api.create(name="Sala Café", location="Café")  # NFC, as most clients send it
    for location, space in (("Madrid, floor 3\u200b", booking.space), ("Cafe\u0301", cafe)):
        answer = closing.location(location, booking.at("10:00"), booking.at("12:00"))
        if answer.status_code == 201:
            # Right: the space whose location reads the same is covered (the texts normalised alike:
            # NFC, no invisible characters at the ends), or the closure says it covers no space yet
            # (a 4xx, or the covered spaces in the answer), so that the mistake shows.
            refused = booking.post("10:00", "11:00", space_id=space["id"])
            assert refused.status_code == 409, (location, refused.status_code, answer.json())
