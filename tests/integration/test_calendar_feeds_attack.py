"""Attacks on calendar feeds, found by an attacker: each test failed on 765f81b, before its fix."""

from __future__ import annotations

from datetime import UTC, date, datetime

import icalendar

from tests.integration.conftest import bearer
from tests.integration.test_calendar_feeds import fetch, shown, subscribe
from tests.support import EVERY_DAY, http_event, invoke, local_time


def live_starts(body: bytes) -> list[datetime]:
    return sorted(e["DTSTART"].dt.astimezone(UTC) for e in shown(body) if str(e.get("STATUS")) != "CANCELLED")


def booked_starts(occurrences: list[dict]) -> list[datetime]:
    return sorted(
        datetime.fromisoformat(o["start_time"]).astimezone(UTC)
        for o in occurrences
        if o["status"] == "active"
    )


# 1. ETag: a space renamed (or moved, or its zone changed) changes the feed's body, not its tag.
def test_a_space_renamed_is_a_new_etag_not_a_304(booking, spaces_api, client_for):
    feed = subscribe(client_for, booking.user["access_token"])
    assert booking.post("10:00", "11:00").status_code == 201
    first = fetch(client_for, feed["path"])
    assert b"Sala Retiro" in first.content
    renamed = spaces_api.update(booking.space["id"], name="Sala Prado", location="Madrid, floor 5")
    assert renamed.status_code == 200, renamed.text
    again = fetch(client_for, feed["path"], **{"If-None-Match": first.headers["etag"]})
    # The calendar keeps showing "Sala Retiro" / floor 3 until a booking of the person changes.
    assert again.status_code == 200, "304 for a feed whose SUMMARY and LOCATION changed"
    assert b"Sala Prado" in again.content


# 2. A series whose first occurrence in the feed is one the DST gap moved (02:30 -> 03:30) is re-anchored
#    at 03:30: the rule then gives 03:30 every day, every real (02:30) occurrence is EXDATE'd or missing.
def test_a_series_whose_first_listed_occurrence_fell_in_the_dst_gap_keeps_its_times(
    series, spaces_api, client_for
):
    space = spaces_api.create(opening_hours=EVERY_DAY, timezone="Europe/Madrid")
    taken = series.api.post(  # the first day of the series is taken: skipped, the gap day is its first
        "/reservations",
        json={
            "space_id": space["id"],
            "start_time": local_time("Europe/Madrid", date(2027, 3, 27), "02:30"),
            "end_time": local_time("Europe/Madrid", date(2027, 3, 27), "03:00"),
        },
        headers=bearer(series.token),
    )
    assert taken.status_code == 201, taken.text
    booked = series.book(
        space, date(2027, 3, 27), "02:30", "03:00", "FREQ=DAILY;COUNT=5", mode="skip_conflicts"
    )
    assert booked.status_code == 201, booked.text
    occurrences = booked.json()["occurrences"]
    assert len(occurrences) == 4  # Mar 28 (03:30, the gap), 29, 30, 31 at 02:30
    feed = subscribe(client_for, series.token)
    body = fetch(client_for, feed["path"]).content
    expected = sorted(
        [*booked_starts(occurrences), datetime.fromisoformat(taken.json()["start_time"]).astimezone(UTC)]
    )
    assert live_starts(body) == expected


# 3. A space's zone changed after a series was booked: the rule is re-expanded in the new zone, whose
#    DST dates differ; occurrences booked at their real instants vanish from the calendar.
def test_a_series_survives_its_space_changing_time_zone(series, spaces_api, client_for):
    space = spaces_api.create(opening_hours=EVERY_DAY, timezone="Europe/Madrid")
    booked = series.book(space, date(2027, 3, 1), "09:00", "10:00", "FREQ=WEEKLY;COUNT=6")
    assert booked.status_code == 201, booked.text
    moved = spaces_api.update(space["id"], timezone="America/New_York")
    assert moved.status_code == 200, moved.text
    feed = subscribe(client_for, series.token)
    answer = fetch(client_for, feed["path"])
    assert answer.status_code == 200
    assert live_starts(answer.content) == booked_starts(booked.json()["occurrences"])


# 4. If-None-Match uses the weak comparison (RFC 9110 13.1.2): W/"tag" and * match.
def test_if_none_match_compares_weakly_and_star_matches(booking, client_for):
    feed = subscribe(client_for, booking.user["access_token"])
    booking.post("10:00", "11:00")
    tag = fetch(client_for, feed["path"]).headers["etag"]
    assert fetch(client_for, feed["path"], **{"If-None-Match": "W/" + tag}).status_code == 304
    assert fetch(client_for, feed["path"], **{"If-None-Match": "*"}).status_code == 304


# 5. RESERVAS_PUBLIC_URL is where people open the web page (README, template PublicUrl): a feed URL built
#    on it sends calendar services, and the token, to the web page's host instead of the API.
def test_the_feed_url_is_on_the_apis_address_not_the_web_pages(booking, monkeypatch):
    from tests.conftest import reset_caches

    monkeypatch.setenv("RESERVAS_PUBLIC_URL", "https://rooms.example.org")  # the web page, as deployed
    reset_caches()
    try:
        event = http_event(
            "POST",
            "/users/me/calendar-token",
            route="/users/me/calendar-token",
            headers=bearer(booking.user["access_token"]),
        )
        status, _, body = invoke("users", event)
        assert status == 201, body
        api = "https://" + event["requestContext"]["domainName"]
        assert body["url"] == api + body["path"], body["url"]
    finally:
        monkeypatch.undo()
        reset_caches()


# 6. updated_at is now(), the *start* of its transaction: a change committed after a later-started one
#    leaves count and max(updated_at) as they were, and the calendar is told 304 until the day changes.
def test_a_change_committed_after_a_later_started_one_is_a_new_etag(booking, client_for, engine):
    from sqlalchemy import select, text, update

    from reservas.tables import reservations

    feed = subscribe(client_for, booking.user["access_token"])
    one = booking.post("10:00", "11:00").json()["id"]
    other = booking.post("12:00", "13:00").json()["id"]
    slow = engine.connect()  # a cancellation: its transaction starts first (locks, reads) ...
    slow.begin()
    slow.execute(select(text("now()"))).scalar()
    with engine.begin() as quick:  # ... another change of the person's starts later and commits first
        quick.execute(update(reservations).where(reservations.c.id == other).values(notes="moved chairs"))
    tag = fetch(client_for, feed["path"]).headers["etag"]
    slow.execute(
        update(reservations)
        .where(reservations.c.id == one)
        .values(status="cancelled", cancelled_at=text("now()"))
    )
    slow.commit()
    slow.close()
    answer = fetch(client_for, feed["path"], **{"If-None-Match": tag})
    assert answer.status_code == 200, "304 while a booking of the feed was cancelled"
    events = {str(e["UID"]): str(e["STATUS"]) for e in shown(answer.content)}
    assert events[f"reservation-{one}@reservas"] == "CANCELLED"


# 7. At the 5,000 ceiling, singles are kept oldest first and series by their random id: what is cut is
#    what is coming (a person's upcoming bookings), not the cancelled past.
def test_at_the_ceiling_the_feed_keeps_what_is_coming(booking, client_for, engine):
    import uuid
    from datetime import timedelta

    from sqlalchemy import insert, select

    from reservas.reservations import feeds
    from reservas.tables import reservations, users

    feed = subscribe(client_for, booking.user["access_token"])
    with engine.begin() as db:
        user_id = db.execute(select(users.c.id).where(users.c.email == "booker@example.com")).scalar_one()
        now = datetime.now(UTC)
        db.execute(
            insert(reservations),
            [
                {
                    "id": uuid.uuid4(),
                    "user_id": user_id,
                    "space_id": booking.space["id"],
                    "start_time": now - timedelta(days=29) + timedelta(minutes=5 * i),
                    "end_time": now - timedelta(days=29) + timedelta(minutes=5 * i + 5),
                    "status": "cancelled",
                    "cancelled_at": now,
                }
                for i in range(feeds.MOST_BOOKINGS)
            ],
        )
    upcoming = booking.post("10:00", "11:00").json()["id"]
    uids = {
        str(e["UID"])
        for e in icalendar.Calendar.from_ical(fetch(client_for, feed["path"]).content).walk("VEVENT")
    }
    assert f"reservation-{upcoming}@reservas" in uids


# 3b. Worse: with BYDAY, the new zone puts the first start on another weekday; the rule refuses it
#     (InvalidRule) and the whole feed, every booking of the person, is a 500.
def test_a_byday_series_whose_space_changed_zone_does_not_break_the_whole_feed(
    series, spaces_api, client_for
):
    space = spaces_api.create(opening_hours=EVERY_DAY, timezone="Europe/Madrid")
    booked = series.book(space, date(2027, 3, 1), "00:30", "01:00", "FREQ=WEEKLY;BYDAY=MO;COUNT=3")
    assert booked.status_code == 201, booked.text
    assert spaces_api.update(space["id"], timezone="America/New_York").status_code == 200
    feed = subscribe(client_for, series.token)
    answer = fetch(client_for, feed["path"])
    assert answer.status_code == 200, answer.text
    assert live_starts(answer.content) == booked_starts(booked.json()["occurrences"])
