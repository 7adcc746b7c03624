"""Calendar feeds: a person's private feed of their bookings at an unguessable, revocable URL, read back
as calendars read it (`icalendar`, `recurring-ical-events`), answered cheaply when unchanged."""

from __future__ import annotations

from datetime import UTC, date, datetime

import icalendar
import recurring_ical_events

from devtools.apigw import LambdaContext
from tests.integration.conftest import bearer
from tests.support import EVERY_DAY, function_module, http_event


def subscribe(client_for, token: str) -> dict:
    answer = client_for("users").post("/users/me/calendar-token", headers=bearer(token))
    assert answer.status_code == 201, answer.text
    return answer.json()


def fetch(client_for, path: str, **headers):
    return client_for("reservations").get(path, headers=headers)


def shown(body: bytes) -> list:
    calendar = icalendar.Calendar.from_ical(body)
    return recurring_ical_events.of(calendar).between(
        datetime(2020, 1, 1, tzinfo=UTC), datetime(2040, 1, 1, tzinfo=UTC)
    )


def test_a_feed_holds_ones_bookings_and_series_and_shows_what_was_cancelled(
    booking, series, spaces_api, client_for
):
    feed = subscribe(client_for, booking.user["access_token"])
    assert feed["path"].startswith("/calendar/") and feed["path"].endswith("/bookings.ics")
    kept = booking.post("10:00", "11:00", notes="Secret plans").json()
    gone = booking.post("12:00", "13:00").json()
    booking.api.delete(f"/reservations/{gone['id']}", headers=bearer(booking.user["access_token"]))
    someone_elses = series.book(
        spaces_api.create(opening_hours=EVERY_DAY), date(2027, 3, 1), "09:00", "10:00", "FREQ=WEEKLY;COUNT=3"
    )
    assert someone_elses.status_code == 201

    answer = fetch(client_for, feed["path"])
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/calendar")
    events = {str(e["UID"]): e for e in shown(answer.content)}
    assert set(events) == {f"reservation-{kept['id']}@reservas", f"reservation-{gone['id']}@reservas"}
    assert str(events[f"reservation-{gone['id']}@reservas"]["STATUS"]) == "CANCELLED"
    assert events[f"reservation-{kept['id']}@reservas"]["DTSTART"].dt == datetime.fromisoformat(
        booking.at("10:00")
    )
    assert b"Secret plans" not in answer.content  # no notes, even one's own: a feed URL travels


def test_a_series_is_one_recurring_event_with_its_exceptions(series, spaces_api, client_for):
    space = spaces_api.create(opening_hours=EVERY_DAY)
    booked = series.book(space, date(2027, 3, 1), "09:00", "10:00", "FREQ=WEEKLY;COUNT=4").json()
    second = booked["occurrences"][1]
    series.api.delete(f"/reservations/{second['id']}", headers=bearer(series.token))
    feed = subscribe(client_for, series.token)
    body = fetch(client_for, feed["path"]).content
    calendar = icalendar.Calendar.from_ical(body)
    masters = [e for e in calendar.walk("VEVENT") if "RRULE" in e]
    assert len(masters) == 1
    seen = shown(body)
    live = sorted(e["DTSTART"].dt for e in seen if str(e["STATUS"]) != "CANCELLED")
    cancelled = [e["DTSTART"].dt for e in seen if str(e["STATUS"]) == "CANCELLED"]
    assert live == [
        datetime.fromisoformat(o["start_time"]) for o in booked["occurrences"] if o["id"] != second["id"]
    ]
    assert cancelled == [datetime.fromisoformat(second["start_time"])]


def test_a_rotated_or_revoked_token_answers_404_and_a_forged_one_too(booking, client_for):
    first = subscribe(client_for, booking.user["access_token"])
    second = subscribe(client_for, booking.user["access_token"])
    assert fetch(client_for, first["path"]).status_code == 404
    assert fetch(client_for, second["path"]).status_code == 200
    revoked = client_for("users").delete(
        "/users/me/calendar-token", headers=bearer(booking.user["access_token"])
    )
    assert revoked.status_code == 204
    assert fetch(client_for, second["path"]).status_code == 404
    for forged in (
        "/calendar/" + "A" * 43 + "/bookings.ics",
        "/calendar/x/bookings.ics",
        "/calendar/%00/bookings.ics",
    ):
        answer = fetch(client_for, forged)
        assert (
            answer.status_code in (404, 422) and answer.headers["content-type"] == "application/problem+json"
        )


def test_an_unchanged_feed_is_a_304_and_a_change_a_new_etag(booking, client_for):
    feed = subscribe(client_for, booking.user["access_token"])
    booking.post("10:00", "11:00")
    first = fetch(client_for, feed["path"])
    tag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, max-age=300"
    again = fetch(client_for, feed["path"], **{"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    booking.post("12:00", "13:00")
    changed = fetch(client_for, feed["path"], **{"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag


def test_the_feed_route_is_reached_through_api_gateway_as_the_template_routes_it(booking, client_for):
    feed = subscribe(client_for, booking.user["access_token"])
    token = feed["path"].split("/")[2]
    event = http_event(
        "GET",
        feed["path"],
        route="/calendar/{token}/bookings.ics",
        path_parameters={"token": token},
        stage="prod",
    )
    answer = function_module("reservations").handler(event, LambdaContext("ReservationsFunction"))
    assert answer["statusCode"] == 200
    assert answer["headers"]["content-type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in answer["body"]
    assert feed["url"].endswith(feed["path"])


def test_feeds_have_a_rate_limit_of_their_own(booking, client_for, monkeypatch):
    from tests.conftest import reset_caches

    feed = subscribe(client_for, booking.user["access_token"])
    monkeypatch.setenv("RESERVAS_RATE_LIMITS_ENABLED", "true")
    monkeypatch.setenv("RESERVAS_RATE_LIMIT_DEFAULT", "2/minute")
    monkeypatch.setenv("RESERVAS_RATE_LIMIT_FEEDS", "5/minute")
    reset_caches()
    try:
        statuses = [fetch(client_for, feed["path"]).status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]  # more than the other routes allow, and still bounded
    finally:
        monkeypatch.undo()
        reset_caches()


def test_a_space_busy_feed_shows_when_it_is_held_and_by_whom_not(booking, closing, client_for):
    booking.post("10:00", "11:00", notes="Board meeting about layoffs")
    closing.space(booking.space["id"], booking.at("14:00"), booking.at("15:00"), reason="Cleaning")
    spaces = client_for("spaces")
    answer = spaces.get(f"/spaces/{booking.space['id']}/busy.ics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/calendar")
    events = sorted(shown(answer.content), key=lambda e: e["DTSTART"].dt)
    assert [(str(e["SUMMARY"]), e["DTSTART"].dt) for e in events] == [
        ("Busy", datetime.fromisoformat(booking.at("10:00"))),
        ("Closed", datetime.fromisoformat(booking.at("14:00"))),
    ]
    for secret in (
        b"Booker",
        b"booker@example.com",
        b"layoffs",
        b"Cleaning",
        booking.user["user"]["id"].encode(),
    ):
        assert secret not in answer.content
    again = spaces.get(
        f"/spaces/{booking.space['id']}/busy.ics", headers={"If-None-Match": answer.headers["etag"]}
    )
    assert again.status_code == 304
    booking.post("12:00", "13:00")
    changed = spaces.get(
        f"/spaces/{booking.space['id']}/busy.ics", headers={"If-None-Match": answer.headers["etag"]}
    )
    assert changed.status_code == 200
    assert spaces.get("/spaces/00000000-0000-0000-0000-000000000000/busy.ics").status_code == 404


def test_a_password_reset_ends_the_feed_too(booking, client_for, engine):
    """Someone taking their account back resets the password: every session ends, and so does the
    feed, whose URL may have leaked with the rest."""
    from tests.support import link_sent_to

    feed = subscribe(client_for, booking.user["access_token"])
    auth = client_for("auth")
    assert auth.post("/auth/password-reset", json={"email": "booker@example.com"}).status_code == 202
    token = link_sent_to(engine, "booker@example.com", purpose="reset")
    done = auth.post("/auth/password-reset/confirm", json={"token": token, "password": "Another-Horse-77"})
    assert done.status_code == 204
    assert fetch(client_for, feed["path"]).status_code == 404
