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

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

Method = Literal["REQUEST", "CANCEL"]
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
    status: Literal["CONFIRMED", "TENTATIVE", "CANCELLED"] = "CONFIRMED"
    rule: str | None = None  # an RRULE, without its "RRULE:"
    excluded: list[datetime] = field(default_factory=list)  # EXDATE
    recurrence_id: datetime | None = None


def uid_of(kind: Literal["reservation", "series"], entity_id: object) -> str:
    return f"{kind}-{entity_id}@reservas"


def calendar(
    method: Method, occasions: list[Occasion], *, sequence: int, zone: str, organizer: str, attendee: str
) -> bytes:
    """The text/calendar body: every occasion in the space's time zone `zone`."""
    from icalendar import Calendar, Event, vCalAddress, vRecur

    tz = ZoneInfo(zone)
    cal = Calendar()
    cal.add("prodid", PRODUCT)
    cal.add("version", "2.0")
    cal.add("method", method)
    for occasion in occasions:
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
        for excluded in occasion.excluded:
            event.add("exdate", excluded.astimezone(tz))
        if occasion.recurrence_id is not None:
            event.add("recurrence-id", occasion.recurrence_id.astimezone(tz))
        event.add("organizer", vCalAddress(f"mailto:{organizer}"))
        person = vCalAddress(f"mailto:{attendee}")
        person.params["ROLE"] = "REQ-PARTICIPANT"
        person.params["PARTSTAT"] = "ACCEPTED"
        event.add("attendee", person)
        cal.add_component(event)
    # The zone's rules over the years its times need (icalendar's default stops in 2038).
    years = [o.start.year for o in occasions] + [o.end.year for o in occasions]
    cal.add_missing_timezones(first_date=date(min(years) - 1, 1, 1), last_date=date(max(years) + 2, 1, 1))
    ical: bytes = cal.to_ical()
    return ical
