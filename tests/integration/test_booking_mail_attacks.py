"""Attacks on the booking messages (notifier), found by an attacker: each test failed before its fix."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import icalendar
import recurring_ical_events
from sqlalchemy import text

from devtools.apigw import ROOT, LambdaContext, load_function_module
from tests.integration.conftest import bearer
from tests.integration.test_booking_mail import invitation, promoted_from_the_waitlist, remind, vevents
from tests.support import EVERY_DAY


def _pending_series(series, approving, count=6):
    day = (approving.day + timedelta(days=7)).date()
    booked = series.book(approving.space, day, "09:00", "10:00", f"FREQ=DAILY;COUNT={count}")
    assert booked.status_code == 201, booked.text
    assert {o["status"] for o in booked.json()["occurrences"]} == {"pending"}
    return booked.json()


def test_turning_approval_off_tells_a_series_booker_once_not_once_per_occurrence(
    series, approving, spaces_api, mailbox
):
    _pending_series(series, approving)
    mailbox.deliver()
    assert len(mailbox.messages("series@example.com")) == 1  # "Waiting for approval", one invitation
    assert spaces_api.update(approving.space["id"], requires_approval=False).status_code == 200
    mailbox.deliver()
    approved = mailbox.messages("series@example.com")[1:]
    assert len(approved) == 1, [m["Subject"] for m in approved]


def test_a_series_nobody_decided_in_time_is_one_message(series, approving, mailbox, engine):
    _pending_series(series, approving)
    mailbox.deliver()
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE reservations SET decide_by = now() - interval '1 minute' WHERE status = 'pending'")
        )
    release = load_function_module(ROOT / "functions" / "release").handler
    assert release({}, LambdaContext("ReleaseFunction", timeout_seconds=60))["released"] == 6
    mailbox.deliver()
    expired = mailbox.messages("series@example.com")[1:]
    assert len(expired) == 1, [m["Subject"] for m in expired]


def _shown(calendar: icalendar.Calendar) -> list[tuple[datetime, datetime]]:
    seen = recurring_ical_events.of(calendar).between(
        datetime(2020, 1, 1, tzinfo=UTC), datetime(2040, 1, 1, tzinfo=UTC)
    )
    return sorted(
        (e["DTSTART"].dt.astimezone(UTC), e["DTEND"].dt.astimezone(UTC))
        for e in seen
        if str(e.get("STATUS")) != "CANCELLED"
    )


def test_a_series_approved_after_one_occurrence_changed_shows_that_occurrence_as_it_is(
    series, approving, mailbox
):
    booked = _pending_series(series, approving, count=3)
    first = booked["occurrences"][0]
    manager = approving.manager["access_token"]
    assert approving.decide(first["id"], "approve", manager).status_code == 200
    shorter = datetime.fromisoformat(first["start_time"]) + timedelta(minutes=30)
    changed = approving.api.patch(
        f"/reservations/{first['id']}", json={"end_time": shorter.isoformat()}, headers=bearer(series.token)
    )
    assert changed.status_code == 200, changed.text
    decided = approving.api.post(
        f"/reservations/series/{booked['id']}/approve", json={"reason": ""}, headers=bearer(manager)
    )
    assert decided.status_code == 200, decided.text
    mailbox.deliver()
    last = mailbox.messages("series@example.com")[-1]
    assert last["Subject"].startswith("Approved: ")
    occurrences = approving.api.get(f"/reservations/series/{booked['id']}", headers=bearer(series.token))
    expected = sorted(
        (datetime.fromisoformat(o["start_time"]), datetime.fromisoformat(o["end_time"]))
        for o in occurrences.json()["occurrences"]
    )
    # The latest invitation of the whole series is what the calendar keeps of it.
    assert _shown(invitation(last)) == expected


def _soon_bookings(spaces_api, register, client_for, engine, people):
    """For each person, an active booking (in a space of its own) made days ago that starts 20 to 35
    minutes from now, the first person's a quarter earlier than the others'."""
    api = client_for("reservations")
    start = (datetime.now(UTC) + timedelta(minutes=20)).replace(second=0, microsecond=0)
    start += timedelta(minutes=-start.minute % 15)
    for n, email in enumerate(people):
        space = spaces_api.create(
            name=f"Room {n}",
            opening_hours=EVERY_DAY,
            timezone="UTC",
            slot_minutes=15,
            min_duration_minutes=15,
        )
        person = register(email, name=email.split("@")[0].title())
        at = start + (timedelta(minutes=15) if n else timedelta(0))
        body = {
            "space_id": space["id"],
            "start_time": at.isoformat(),
            "end_time": (at + timedelta(minutes=15)).isoformat(),
        }
        made = api.post("/reservations", json=body, headers=bearer(person["access_token"]))
        assert made.status_code == 201, made.text
    with engine.begin() as connection:
        connection.execute(text("UPDATE reservations SET created_at = now() - interval '2 days'"))


def test_one_address_ses_refuses_does_not_stop_everyone_elses_reminders(
    spaces_api, register, client_for, engine, mailbox, monkeypatch
):
    from botocore.exceptions import ClientError

    from reservas import mail

    _soon_bookings(spaces_api, register, client_for, engine, ["refused@example.com", "fine@example.com"])
    original = mail.send

    def send(message):
        if message["To"] == "refused@example.com":  # e.g. SES still in its sandbox, or a rejected address
            raise ClientError(
                {"Error": {"Code": "MessageRejected", "Message": "Email address is not verified."}},
                "SendRawEmail",
            )
        original(message)

    monkeypatch.setattr(mail, "send", send)
    assert remind() == 1  # the refused one is left for the next run; the other goes
    assert remind() == 0
    assert len(mailbox.messages("fine@example.com")) == 1


def test_reminders_stop_before_the_function_is_killed(
    spaces_api, register, client_for, engine, mailbox, monkeypatch
):
    import time

    from reservas import mail

    _soon_bookings(spaces_api, register, client_for, engine, [f"p{n}@example.com" for n in range(3)])
    original = mail.send

    def slow(message):  # SES slow (or throttled, retried by boto3): each message takes a second
        time.sleep(1)
        original(message)

    monkeypatch.setattr(mail, "send", slow)
    notify = load_function_module(ROOT / "functions" / "notify").handler

    class Context(LambdaContext):
        def get_remaining_time_in_millis(self) -> int:  # 2.5 s left when called
            return max(0, int((self.deadline - time.monotonic()) * 1000))

    context = Context("NotifierFunction", timeout_seconds=60)
    context.deadline = time.monotonic() + 2.5
    began = time.monotonic()
    notify({"reminders": True}, context)
    assert time.monotonic() - began < 2.5  # Lambda would have killed it mid-send: sent, never recorded


def _series_as_booked(booked) -> list[tuple[datetime, datetime]]:
    return sorted(
        (
            datetime.fromisoformat(o["start_time"]).astimezone(UTC),
            datetime.fromisoformat(o["end_time"]).astimezone(UTC),
        )
        for o in booked["occurrences"]
    )


def _body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_a_cancellation_does_not_give_the_approvers_old_note_as_its_reason(approving, mailbox):
    made = approving.book(1).json()
    assert (
        approving.decide(
            made["id"], "approve", approving.manager["access_token"], reason="Only because the CFO insisted"
        ).status_code
        == 200
    )
    assert (
        approving.api.delete(
            f"/reservations/{made['id']}", headers=bearer(approving.booker["access_token"])
        ).status_code
        == 200
    )
    mailbox.deliver()
    cancelled = mailbox.messages("booker@example.com")[-1]
    assert cancelled["Subject"].startswith("Cancelled: ")
    # The booker cancelled it themselves; "Reason: Only because the CFO insisted" is the approval's note.
    assert "CFO" not in _body(cancelled), _body(cancelled)


def test_a_booking_cancelled_by_a_closure_says_the_closures_reason(booking, closing, client_for, mailbox):
    headers = bearer(booking.user["access_token"])
    assert (
        client_for("users")
        .put("/users/me", json={"preferences": {"locale": "es"}}, headers=headers)
        .status_code
        == 200
    )
    booking.post("10:00", "11:00")
    closed = closing.space(
        booking.space["id"],
        booking.at("09:00"),
        booking.at("12:00"),
        reason="Obras en la planta",
        cancel_bookings=True,
    )
    assert closed.status_code == 201, closed.text
    mailbox.deliver()
    last = mailbox.messages("booker@example.com")[-1]
    assert last["Subject"].startswith("Cancelada: ")
    assert "Obras en la planta" in _body(last) and "closure" not in _body(last), _body(last)


def test_a_series_cancelled_before_its_booking_is_delivered_sends_no_empty_invitation(
    series, spaces_api, mailbox
):
    space = spaces_api.create(opening_hours=EVERY_DAY)
    booked = series.book(space, date(2027, 3, 1), "09:00", "10:00", "FREQ=WEEKLY;COUNT=3")
    assert booked.status_code == 201
    assert (
        series.api.delete(
            f"/reservations/series/{booked.json()['id']}", headers=bearer(series.token)
        ).status_code
        == 200
    )
    mailbox.deliver()
    # (EventBridge late, or SES failing and the event retried a minute later, after the cancellation.)
    for message in mailbox.messages("series@example.com"):
        # RFC 5545: a VCALENDAR holds at least one component; "Booked:" with nothing in it is no booking.
        assert vevents(invitation(message)), message["Subject"]


def test_a_promotion_read_before_its_entry_is_marked_is_still_one_message(booking, register, mailbox, engine):
    """The promotion books (ReservationCreated, committed) and marks the waitlist entry a moment later,
    in another transaction: a notifier reading in between took it for a booking made by hand and sent
    "Booked" as well as "From the waitlist"."""
    from sqlalchemy import text

    promoted_from_the_waitlist(booking, register, mailbox)
    with engine.begin() as connection:  # as it reads between the booking and the entry's marking
        connection.execute(text("UPDATE waitlist SET reservation_id = NULL"))
    created = [e for e in mailbox.events() if e["detail-type"] == "ReservationCreated"][-1]
    assert mailbox.deliver(created) == 0
