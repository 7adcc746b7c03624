"""Booking messages: one per change, each with a calendar invitation a calendar applies (iMIP), read back
here with `icalendar` and `recurring-ical-events` as calendars read them; reminders that never go for a
booking that is no longer active. Mail goes through the notifier to SES (moto), driven by the events."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from sqlalchemy import text

from devtools.apigw import ROOT, LambdaContext, load_function_module
from tests.integration.conftest import bearer, waiting_behind
from tests.support import EVERY_DAY, local_time


def invitation(message) -> icalendar.Calendar:
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == icalendar.Calendar.from_ical(part.get_content())["METHOD"]
    return icalendar.Calendar.from_ical(part.get_content())


def vevents(calendar: icalendar.Calendar) -> list:
    return [component for component in calendar.walk("VEVENT")]


def remind() -> int:
    notify = load_function_module(ROOT / "functions" / "notify").handler
    return notify({"reminders": True}, LambdaContext("NotifierFunction", timeout_seconds=60))["sent"]


def test_a_booking_its_change_and_its_cancellation_each_send_one_invitation_of_one_event(booking, mailbox):
    made = booking.post("10:00", "11:00", notes="Planning").json()
    headers = bearer(booking.user["access_token"])
    moved = booking.api.patch(
        f"/reservations/{made['id']}",
        json={"start_time": booking.at("12:00"), "end_time": booking.at("13:30")},
        headers=headers,
    )
    assert moved.status_code == 200, moved.text
    assert booking.api.delete(f"/reservations/{made['id']}", headers=headers).status_code == 200
    mailbox.deliver()

    confirmed, changed, cancelled = mailbox.messages("booker@example.com")
    assert confirmed["Subject"].startswith("Booked: ")
    assert changed["Subject"].startswith("Changed: ")
    assert cancelled["Subject"].startswith("Cancelled: ")
    calendars = [invitation(m) for m in (confirmed, changed, cancelled)]
    assert [str(c["METHOD"]) for c in calendars] == ["REQUEST", "REQUEST", "CANCEL"]
    events = [vevents(c)[0] for c in calendars]
    assert {str(e["UID"]) for e in events} == {f"reservation-{made['id']}@reservas"}
    sequences = [int(e["SEQUENCE"]) for e in events]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3
    madrid = ZoneInfo("Europe/Madrid")
    first, second, last = events
    assert first["DTSTART"].dt == datetime.fromisoformat(booking.at("10:00")).astimezone(madrid)
    assert first["DTSTART"].params["TZID"] == "Europe/Madrid"
    assert calendars[0].walk("VTIMEZONE")  # the zone travels with the times
    assert second["DTEND"].dt == datetime.fromisoformat(booking.at("13:30"))
    assert str(last["STATUS"]) == "CANCELLED"
    body = confirmed.get_body(preferencelist=("plain",)).get_content()
    assert "Central European" in body and "Europe/Madrid" in body and booking.space["name"] in body
    assert "Monday, " in body and "10:00 - 11:00" in body
    assert "Planning" not in confirmed["Subject"]


def test_a_duplicated_event_sends_nothing_twice(booking, mailbox):
    booking.post("10:00", "11:00")
    [created] = [e for e in mailbox.events() if e["detail-type"] == "ReservationCreated"]
    assert mailbox.deliver(created) == 1
    assert mailbox.deliver({**created, "id": str(uuid.uuid4())}) == 0  # EventBridge's redelivery
    assert len(mailbox.messages("booker@example.com")) == 1


def test_a_weekly_series_is_one_invitation_and_an_occurrence_cancelled_is_one_instance(
    series, spaces_api, mailbox
):
    space = spaces_api.create(opening_hours=EVERY_DAY)
    monday = date(2027, 3, 1)
    booked = series.book(space, monday, "09:00", "10:00", "FREQ=WEEKLY;BYDAY=MO;COUNT=6")
    assert booked.status_code == 201, booked.text
    occurrences = booked.json()["occurrences"]
    third = occurrences[2]
    cancelled = series.api.delete(f"/reservations/{third['id']}", headers=bearer(series.token))
    assert cancelled.status_code == 200
    mailbox.deliver()

    whole, one = mailbox.messages("series@example.com")
    request, cancel = invitation(whole), invitation(one)
    [recurring] = vevents(request)
    assert str(request["METHOD"]) == "REQUEST" and "RRULE" in recurring
    assert str(recurring["UID"]) == f"series-{booked.json()['id']}@reservas"
    [instance] = vevents(cancel)
    assert str(cancel["METHOD"]) == "CANCEL" and str(instance["UID"]) == str(recurring["UID"])
    assert instance["RECURRENCE-ID"].dt == datetime.fromisoformat(third["start_time"])
    assert int(instance["SEQUENCE"]) > int(recurring["SEQUENCE"])

    # A calendar that applies both shows five Mondays at 09:00 in Madrid, the third one gone.
    merged = request.copy()
    for component in request.walk():
        if component.name in ("VEVENT", "VTIMEZONE"):
            merged.add_component(component)
    merged.add_component(instance)
    seen = recurring_ical_events.of(merged).between(
        datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)
    )
    live = sorted(e["DTSTART"].dt for e in seen if str(e.get("STATUS")) != "CANCELLED")
    expected = [datetime.fromisoformat(o["start_time"]) for o in occurrences if o["id"] != third["id"]]
    assert live == expected
    assert {(t.hour, t.minute) for t in live} == {(9, 0)}


def test_a_series_skipping_a_taken_first_week_excludes_it_without_shifting_the_rest(series, booking, mailbox):
    monday = booking.day
    assert booking.post("09:00", "10:00", day=monday).status_code == 201
    booked = series.book(
        booking.space, monday, "09:00", "10:00", "FREQ=WEEKLY;COUNT=4", mode="skip_conflicts"
    )
    assert booked.status_code == 201 and len(booked.json()["occurrences"]) == 3
    mailbox.deliver()
    [whole] = mailbox.messages("series@example.com")
    calendar = invitation(whole)
    seen = recurring_ical_events.of(calendar).between(
        datetime(2020, 1, 1, tzinfo=UTC), datetime(2040, 1, 1, tzinfo=UTC)
    )
    assert sorted(e["DTSTART"].dt for e in seen) == [
        datetime.fromisoformat(o["start_time"]) for o in booked.json()["occurrences"]
    ]


def test_pending_approved_and_declined_reach_the_booker(approving, mailbox):
    first = approving.book(1).json()
    second = approving.book(3).json()
    assert approving.decide(first["id"], "approve", approving.manager["access_token"]).status_code == 200
    declined = approving.decide(
        second["id"], "decline", approving.manager["access_token"], reason="Board meeting"
    )
    assert declined.status_code == 200
    mailbox.deliver()
    subjects = [m["Subject"].split(":")[0] for m in mailbox.messages("booker@example.com")]
    assert subjects == ["Waiting for approval", "Waiting for approval", "Approved", "Declined"]
    declined_message = mailbox.messages("booker@example.com")[-1]
    assert "Board meeting" in declined_message.get_body(preferencelist=("plain",)).get_content()
    assert str(invitation(declined_message)["METHOD"]) == "CANCEL"
    assert str(vevents(invitation(mailbox.messages("booker@example.com")[0]))[0]["STATUS"]) == "TENTATIVE"


def promoted_from_the_waitlist(booking, register, mailbox) -> dict:
    """The booking of waiting_behind cancelled, and the promotion function run on its event: the
    person waiting has the time. That person."""
    taken, waiting = waiting_behind(booking, register)
    booking.api.delete(f"/reservations/{taken['id']}", headers=bearer(booking.user["access_token"]))
    promote = load_function_module(ROOT / "functions" / "promote").handler
    [cancelled] = [e for e in mailbox.events() if e["detail-type"] == "ReservationCancelled"]
    assert promote(cancelled, LambdaContext("PromoteFunction", timeout_seconds=30)) == {"promoted": 1}
    return waiting


def test_a_promotion_from_the_waitlist_is_one_message(booking, register, mailbox):
    promoted_from_the_waitlist(booking, register, mailbox)
    mailbox.deliver()
    [message] = mailbox.messages("waiting@example.com")
    assert message["Subject"].startswith("From the waitlist: ")
    assert str(invitation(message)["METHOD"]) == "REQUEST"


def test_people_choose_what_they_hear_about_and_in_which_language(booking, client_for, mailbox):
    me = client_for("users")
    headers = bearer(booking.user["access_token"])
    chosen = {"locale": "es", "notifications": {"cancelled": False}}
    assert me.put("/users/me", json={"preferences": chosen}, headers=headers).status_code == 200
    made = booking.post("10:00", "11:00").json()
    booking.api.delete(f"/reservations/{made['id']}", headers=headers)
    mailbox.deliver()
    [confirmed] = mailbox.messages("booker@example.com")  # no message for the cancellation
    assert confirmed["Subject"].startswith("Reservado: ")
    body = confirmed.get_body(preferencelist=("plain",)).get_content()
    assert "Hola, Booker" in body and "hora" in body.lower()
    assert (
        "lunes, " in body and " de " in body
    )  # the date as Spanish writes it: "lunes, 7 de diciembre de 2026"


def test_a_reminder_goes_once_and_never_for_a_booking_that_is_no_longer_active(
    spaces_api, register, client_for, mailbox, engine
):
    space = spaces_api.create(
        opening_hours=EVERY_DAY, timezone="UTC", slot_minutes=15, min_duration_minutes=15
    )
    person = register("soon@example.com", name="Soon")
    api = client_for("reservations")
    start = (datetime.now(UTC) + timedelta(minutes=20)).replace(second=0, microsecond=0)
    start += timedelta(minutes=-start.minute % 15)
    ids = []
    for offset in (timedelta(0), timedelta(minutes=15), timedelta(hours=2)):
        body = {
            "space_id": space["id"],
            "start_time": (start + offset).isoformat(),
            "end_time": (start + offset + timedelta(minutes=15)).isoformat(),
        }
        made = api.post("/reservations", json=body, headers=bearer(person["access_token"]))
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    soon, cancelled, later = ids
    with engine.begin() as connection:  # booked days ago: only the reminder tells them now
        connection.execute(text("UPDATE reservations SET created_at = now() - interval '2 days'"))
    assert api.delete(f"/reservations/{cancelled}", headers=bearer(person["access_token"])).status_code == 200
    assert remind() == 1
    assert remind() == 0
    [message] = mailbox.messages("soon@example.com")
    assert message["Subject"].startswith("Reminder: ")
    assert not [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    with engine.connect() as connection:
        reminded = connection.execute(text("SELECT reservation_id FROM reminders")).scalars().all()
    assert [str(r) for r in reminded] == [soon]  # not the cancelled one, nor the one in two hours
    assert later != soon


def test_a_booking_made_within_the_hour_gets_no_reminder(spaces_api, register, client_for, mailbox):
    space = spaces_api.create(
        opening_hours=EVERY_DAY, timezone="UTC", slot_minutes=15, min_duration_minutes=15
    )
    person = register("late@example.com", name="Late")
    start = (datetime.now(UTC) + timedelta(minutes=20)).replace(second=0, microsecond=0)
    start += timedelta(minutes=-start.minute % 15)
    body = {
        "space_id": space["id"],
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(minutes=30)).isoformat(),
    }
    assert (
        client_for("reservations")
        .post("/reservations", json=body, headers=bearer(person["access_token"]))
        .status_code
        == 201
    )
    assert remind() == 0


def test_series_times_are_local_to_the_space(series, spaces_api, mailbox):
    space = spaces_api.create(opening_hours=EVERY_DAY, timezone="America/New_York")
    series.book(space, date(2027, 3, 1), "09:00", "10:00", "FREQ=WEEKLY;COUNT=3")
    mailbox.deliver()
    [whole] = mailbox.messages("series@example.com")
    [recurring] = vevents(invitation(whole))
    assert recurring["DTSTART"].params["TZID"] == "America/New_York"
    assert recurring["DTSTART"].dt == datetime.fromisoformat(
        local_time("America/New_York", date(2027, 3, 1), "09:00")
    )
