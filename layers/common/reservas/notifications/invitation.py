"""Calendar invitations as email carries them (iMIP, RFC 6047): an iCalendar object (RFC 5545) with a
METHOD (RFC 5546) that calendars apply to the event they know by its UID.

- A booking is one event, `UID:<reservation id>@reservas`; a series is one recurring event,
  `UID:<series id>@reservas`, with its RRULE and, as EXDATE, the dates the rule gives that hold no
  occurrence. An occurrence changed or cancelled on its own is that event's instance, named by its
  RECURRENCE-ID (the start its rule gave it).
- SEQUENCE is the id of the event that caused the message: it grows with every change of a booking,
  so a calendar never lets an older message undo a newer one, whatever order they arrive in.
- Times carry their space's time zone (TZID, with its VTIMEZONE)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

Method = Literal["REQUEST", "CANCEL"]
Status = Literal["CONFIRMED", "TENTATIVE", "CANCELLED"]
PRODUCT = "-//Reservas//Reservas//EN"


@dataclass
class Occasion:
    """One VEVENT of an invitation."""

    uid: str
    start: datetime
    end: datetime
    summary: str
    location: str = ""
    description: str = ""
    status: Status = "CONFIRMED"
    rule: str | None = None  # an RRULE, without its "RRULE:"
    excluded: list[datetime] = field(default_factory=list)  # EXDATE
    included: list[datetime] = field(default_factory=list)  # RDATE
    recurrence_id: datetime | None = None
    zone: str | None = None  # its space's, when the calendar's occasions are in several zones


def uid_of(kind: Literal["reservation", "series"], entity_id: object) -> str:
    return f"{kind}-{entity_id}@reservas"


def of_booking(row: Any, status: Status | None = None) -> Occasion:
    """A booking (a reservations row) as an event: its own, or, for an occurrence, its series' instance
    named by its RECURRENCE-ID. `status` as its row says, unless given."""
    occasion = Occasion(
        uid=uid_of("reservation", row["id"]),
        start=row["start_time"],
        end=row["end_time"],
        summary="",
        status=status or _status(row["status"]),
    )
    if row["series_id"] is not None:
        occasion.uid = uid_of("series", row["series_id"])
        occasion.recurrence_id = row["recurrence_id"]
    return occasion


def calendar(
    method: Method | None,
    occasions: list[Occasion],
    *,
    sequence: int,
    zone: str,
    organizer: str | None = None,
    attendee: str | None = None,
) -> bytes:
    """The text/calendar body, each occasion in its space's time zone (`zone` unless it names its own).
    Without a `method`, a feed: what a calendar subscribes to, with no one to answer."""
    from icalendar import Calendar, Event, vCalAddress, vRecur

    cal = Calendar()
    cal.add("prodid", PRODUCT)
    cal.add("version", "2.0")
    if method is not None:
        cal.add("method", method)
    for occasion in occasions:
        tz = ZoneInfo(occasion.zone or zone)
        event = Event()
        event.add("uid", occasion.uid)
        event.add("sequence", sequence)
        event.add("dtstamp", datetime.now(tz))
        event.add("dtstart", occasion.start.astimezone(tz))
        event.add("dtend", occasion.end.astimezone(tz))
        event.add("summary", occasion.summary)
        if occasion.location:
            event.add("location", occasion.location)
        if occasion.description:
            event.add("description", occasion.description)
        event.add("status", "CANCELLED" if method == "CANCEL" else occasion.status)
        if occasion.rule:
            event.add("rrule", vRecur.from_ical(occasion.rule))
        for included in occasion.included:
            event.add("rdate", included.astimezone(tz))
        for excluded in occasion.excluded:
            event.add("exdate", excluded.astimezone(tz))
        if occasion.recurrence_id is not None:
            event.add("recurrence-id", occasion.recurrence_id.astimezone(tz))
        if organizer:
            event.add("organizer", vCalAddress(f"mailto:{organizer}"))
        if attendee:
            person = vCalAddress(f"mailto:{attendee}")
            person.params["ROLE"] = "REQ-PARTICIPANT"
            person.params["PARTSTAT"] = "ACCEPTED"
            event.add("attendee", person)
        cal.add_component(event)
    if occasions:
        # The zones' rules over the years their times need (icalendar's default stops in 2038).
        years = [o.start.year for o in occasions] + [o.end.year for o in occasions]
        cal.add_missing_timezones(first_date=date(min(years) - 1, 1, 1), last_date=date(max(years) + 2, 1, 1))
    ical: bytes = cal.to_ical()
    return ical


HELD = ("active", "pending", "completed")


def recurring(rule_text: str, rows: list[Any], uid: str, zone: ZoneInfo) -> list[Occasion]:
    """A series (its rule and occurrence rows, in recurrence order) as one recurring event: from its
    first occurrence to its last (UNTIL, not COUNT, so that occurrences skipped or gone before the first
    do not shift it), the rule's dates that hold no occurrence excluded, lasting as its rule's
    occurrences last; and each occurrence that is not as its rule gave it (moved, resized, cancelled,
    pending in a confirmed series) as the instance it is, by its RECURRENCE-ID."""
    from reservas.reservations import recurrence

    first, last = rows[0]["recurrence_id"], rows[-1]["recurrence_id"]
    rule = replace(recurrence.parse(rule_text.removeprefix("RRULE:")), count=None, until=last.astimezone(UTC))
    as_ruled = [o for o in rows if o["start_time"] == o["recurrence_id"]] or rows
    length = Counter(o["end_time"] - o["start_time"] for o in as_ruled).most_common(1)[0][0]
    listed = {o["recurrence_id"] for o in rows}
    held = [o for o in rows if o["status"] in HELD]
    status = _status((held or rows)[0]["status"])
    try:
        given = recurrence.starts(rule, first, zone)
    except recurrence.InvalidRule:
        given = []
    whole = Occasion(uid=uid, start=first, end=first + length, summary="", status=status)
    if listed <= set(given):
        whole.rule = str(rule)
        whole.excluded = [start for start in given if start not in listed]
    else:
        # Re-anchored on `first` (a start the DST gap moved, a space whose zone changed since), the rule
        # no longer gives the booked starts: list them instead (RDATE), each still an instance's id.
        whole.included = sorted(listed - {first})
    instances = [
        of_booking(o)
        for o in rows
        if o["start_time"] != o["recurrence_id"]
        or o["end_time"] - o["start_time"] != length
        or _status(o["status"]) != status
    ]
    return [whole, *instances]


def _status(status: str) -> Status:
    if status == "pending":
        return "TENTATIVE"
    return "CONFIRMED" if status in HELD else "CANCELLED"
