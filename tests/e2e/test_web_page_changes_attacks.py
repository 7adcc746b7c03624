"""Attacks on the web page's booking changes and series (views/bookings.js, booking.js, space.js,
zoned.js), in a real browser against the local API: what a person sees, and what the API then holds."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.test_web_page import a_weekday_ahead
from tests.e2e.test_web_page_attacks import a_person, make_space, sign_in
from tests.e2e.test_web_page_changes import at, day_view, my_bookings, open_change_form
from tests.support import next_day

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

MADRID = ZoneInfo("Europe/Madrid")
ALWAYS_OPEN = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def book(http, headers, space, start: datetime, end: datetime) -> dict:
    made = http.post(
        "/reservations",
        json={"space_id": space["id"], "start_time": start.isoformat(), "end_time": end.isoformat()},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    return made.json()


def a_day_long_booking(http, engine, admin_headers, start: datetime, end: datetime):
    space = make_space(
        http,
        admin_headers,
        opening_hours=ALWAYS_OPEN,
        max_duration_minutes=4 * 24 * 60,
        price_per_hour="1.00",
    )
    email, me = a_person(http, engine, "Dora")
    return space, email, me, book(http, me, space, start, end)


def a_fall_back_day() -> datetime:
    day = next_day("Europe/Madrid", hours=25)  # the clocks go back: 02:00-03:00 happens twice
    return datetime(day.year, day.month, day.day, tzinfo=MADRID)


@pytest.mark.parametrize(
    "length",
    ["24 hours", "48 hours", "a day over the clocks going back"],
)
def test_changing_only_the_people_of_a_day_long_booking_keeps_its_time(
    page, local_api, http, engine, admin_headers, length
):
    """HOLE. A booking of exactly a day (or two; or Saturday to Sunday at the same hour over the night the
    clocks go back, 25 hours) got a day longer when only its people were changed: the end named the
    start's own time, so it was moved past the start, then the booking's whole days were added again.
    The person was charged for, and held the space, a day more than they had ever asked for."""
    if length == "a day over the clocks going back":
        end = a_fall_back_day().replace(hour=10)
        start = end - timedelta(days=1)  # Saturday 10:00 (wall-clock arithmetic), in summer time
        assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=25)
    else:
        start = a_weekday_ahead().replace(hour=10)
        end = start + timedelta(hours=24 if length == "24 hours" else 48)
    space, email, me, booked = a_day_long_booking(http, engine, admin_headers, start, end)
    sign_in(page, local_api, email)
    my_bookings(page)

    form = open_change_form(page, space["name"])
    expect(form.get_by_label("Start")).to_have_value("10:00")
    expect(form.get_by_label("End")).to_have_value("10:00")
    form.get_by_label("People").fill("2")
    form.get_by_role("button", name="Save the change").click()
    expect(page.get_by_text(re.compile(f"^Changed: {re.escape(space['name'])}"))).to_be_visible()

    now = http.get(f"/reservations/{booked['id']}", headers=me).json()
    assert now["attendees"] == 2
    assert (at(now["start_time"]), at(now["end_time"])) == (start, end)
    assert now["cost"] == booked["cost"]


def test_moving_a_day_long_booking_to_another_date_keeps_it_a_day_long(
    page, local_api, http, engine, admin_headers
):
    """HOLE. Moving a booking of 24 hours to another date, times untouched, made it 48 hours long."""
    start = a_weekday_ahead().replace(hour=10)
    space, email, me, booked = a_day_long_booking(
        http, engine, admin_headers, start, start + timedelta(days=1)
    )
    sign_in(page, local_api, email)
    my_bookings(page)

    later = start + timedelta(days=7)
    form = open_change_form(page, space["name"])
    form.get_by_label("Date").fill(later.date().isoformat())
    form.get_by_role("button", name="Save the change").click()
    expect(page.get_by_text(re.compile(f"^Changed: {re.escape(space['name'])}"))).to_be_visible()
    now = http.get(f"/reservations/{booked['id']}", headers=me).json()
    assert (at(now["start_time"]), at(now["end_time"])) == (later, later + timedelta(days=1))


def test_changing_only_the_people_of_a_booking_in_the_repeated_hour_keeps_its_start(
    page, local_api, http, engine, admin_headers
):
    """HOLE. A booking from 02:30 the first time (summer time) on the night the clocks go back: its form
    shows 02:30, which the page read back as the second 02:30 (winter time), so changing only its people
    also moved its start an hour later, shortening it."""
    sunday = a_fall_back_day()
    start = sunday.replace(hour=2, minute=30, fold=0)  # 00:30 UTC
    end = sunday.replace(hour=4)  # 03:00 UTC
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=2, minutes=30)
    space, email, me, booked = a_day_long_booking(http, engine, admin_headers, start, end)
    sign_in(page, local_api, email)
    my_bookings(page)

    form = open_change_form(page, space["name"])
    expect(form.get_by_label("Start")).to_have_value("02:30")
    form.get_by_label("People").fill("3")
    form.get_by_role("button", name="Save the change").click()
    expect(page.get_by_text(re.compile(f"^Changed: {re.escape(space['name'])}"))).to_be_visible()
    now = http.get(f"/reservations/{booked['id']}", headers=me).json()
    assert now["attendees"] == 3
    # In UTC: Python never finds an ambiguous wall-clock time equal to one in another zone.
    held = [at(now[name]).astimezone(UTC) for name in ("start_time", "end_time")]
    assert held == [start.astimezone(UTC), end.astimezone(UTC)]


def same_page_to(page, space, day: datetime) -> None:
    """The space's day again without loading the page anew (as its links go), so the page keeps what
    it remembers."""
    page.evaluate(
        "(hash) => { location.hash = hash; }", f"#/spaces/{space['id']}?date={day.date().isoformat()}"
    )
    expect(page.locator("h1")).to_have_text(space["name"])


def active(http, headers) -> list[dict]:
    return [b for b in http.get("/reservations", headers=headers).json()["items"] if b["status"] == "active"]


def test_a_series_booked_again_after_cancelling_it_is_booked_again(
    page, local_api, http, engine, admin_headers
):
    """HOLE. The page kept one Idempotency-Key per series asked for, for as long as it was open: a series
    cancelled and then booked again the same way got the API's replay of the first booking, so the page
    said "Booked 2 times" and nothing was booked."""
    space = make_space(http, admin_headers)
    email, me = a_person(http, engine, "Elsa")
    ten = a_weekday_ahead().replace(hour=10)
    sign_in(page, local_api, email)
    day_view(page, local_api, space, ten)

    def book_weekly_twice() -> None:
        page.get_by_label("Repeat").select_option(label="Every week")
        page.get_by_label("How many times").fill("2")
        page.get_by_role("button", name=re.compile(r"^Book 10:00 AM")).click()
        expect(page.get_by_text(re.compile(f"^Booked 2 times: {re.escape(space['name'])}"))).to_be_visible()

    book_weekly_twice()
    booked = active(http, me)
    assert len(booked) == 2
    cancelled = http.delete(f"/reservations/series/{booked[0]['series_id']}", headers=me)
    assert cancelled.status_code < 300, cancelled.text
    assert active(http, me) == []

    same_page_to(page, space, ten + timedelta(days=1))
    same_page_to(page, space, ten)
    book_weekly_twice()
    again = active(http, me)
    assert sorted(at(b["start_time"]) for b in again) == [ten, ten + timedelta(weeks=1)]


def test_double_clicks_on_a_series_and_its_free_dates_book_each_once(
    page, local_api, http, engine, admin_headers
):
    """Two quick clicks on a slot with "Repeat", then on "Book the free dates only": one series, the
    free dates booked once."""
    space = make_space(http, admin_headers)
    email, me = a_person(http, engine, "Fede")
    _, other = a_person(http, engine, "Gala")
    ten = a_weekday_ahead().replace(hour=10)
    book(http, other, space, ten + timedelta(weeks=1), ten + timedelta(weeks=1, hours=1))
    sign_in(page, local_api, email)
    day_view(page, local_api, space, ten)
    page.get_by_label("Repeat").select_option(label="Every week")
    page.get_by_label("How many times").fill("3")
    page.get_by_role("button", name=re.compile(r"^Book 10:00 AM")).dblclick()
    expect(page.get_by_role("heading", name="1 of the dates is taken.")).to_be_visible()
    page.get_by_role("button", name="Book the free dates only").dblclick()
    expect(page.get_by_text(re.compile("^Booked 2 times: "))).to_be_visible()
    mine = active(http, me)
    assert sorted(at(b["start_time"]) for b in mine) == [ten, ten + timedelta(weeks=2)]
    assert len({b["series_id"] for b in mine}) == 1


@pytest.mark.parametrize("times", ["0", "1", "105", "1000000000", "9" * 5000, "", "-3", "1e3", "2.9"])
def test_how_many_times_out_of_range_is_refused_at_the_field_and_books_nothing(
    page, local_api, http, engine, admin_headers, times
):
    space = make_space(http, admin_headers)
    email, me = a_person(http, engine, "Hugo")
    ten = a_weekday_ahead().replace(hour=10)
    sign_in(page, local_api, email)
    day_view(page, local_api, space, ten)
    page.get_by_label("Repeat").select_option(label="Every day")
    page.get_by_label("How many times").fill(times)
    page.get_by_role("button", name=re.compile(r"^Book 10:00 AM")).click()
    if times in ("1", "2.9"):  # once is a series of one; 2.9 is read as 2
        booked = "Booked once: " if times == "1" else "Booked 2 times: "
        expect(page.get_by_text(re.compile(f"^{booked}"))).to_be_visible()
        assert len(active(http, me)) == int(float(times))
        return
    expect(page.get_by_label("How many times")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".booking-options .field-error")).to_be_visible()
    assert active(http, me) == []


MARKUP = '<img src=x onerror="window.__pwned=1"><b>Sala</b>'


def test_the_change_form_and_a_refused_change_at_phone_width_in_spanish_keep_names_as_text(
    page, local_api, http, engine, admin_headers
):
    """At 390 px, in Spanish, a space named with markup: the change form, its 409 and its suggestions
    say everything in Spanish, keep the name as text, and nothing scrolls sideways."""
    space = make_space(http, admin_headers, name=MARKUP + " " + re.sub(r"\W", "", str(id(page)))[-6:])
    email, me = a_person(http, engine, "Ines")
    _, other = a_person(http, engine, "Juan")
    ten = a_weekday_ahead().replace(hour=10)
    booked = book(http, me, space, ten, ten + timedelta(hours=1))
    book(http, other, space, ten.replace(hour=15), ten.replace(hour=16))
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, local_api, email)
    page.get_by_label("Language").select_option("es")
    page.get_by_role("navigation", name=re.compile(".")).first.get_by_role(
        "link", name="Mis reservas"
    ).click()
    changing = page.locator("button[aria-label^='Cambiar: ']")
    expect(changing).to_have_attribute(
        "aria-label", re.compile("^" + re.escape(f"Cambiar: {space['name']}, "))
    )
    changing.click()
    form = page.locator("form.change")
    expect(form).to_have_attribute("aria-label", f"Cambiar la reserva: {space['name']}")
    expect(form.get_by_label("Personas")).to_have_value("1")
    form.get_by_label("Inicio").fill("15:00")
    form.get_by_label("Fin").fill("16:00")
    form.get_by_role("button", name="Guardar el cambio").click()
    expect(form.locator(".conflict [tabindex]")).to_be_focused()
    widths = {"409": page.evaluate("document.documentElement.scrollWidth")}
    text = form.inner_text()
    assert "That time" not in text and "Save the change" not in text, text
    assert page.evaluate("window.__pwned === undefined"), "markup from the API ran"
    assert page.locator("main img, main b").count() == 0, "text from the API became elements"

    form.locator(".suggestions button").first.dblclick()
    expect(page.locator(".notice.success")).to_contain_text(f"Cambiada: {space['name']}, ")
    moved = http.get(f"/reservations/{booked['id']}", headers=me).json()
    assert at(moved["start_time"]) not in (ten, ten.replace(hour=15))
    assert len(http.get("/reservations", headers=me).json()["items"]) == 1

    day_view(page, local_api, space, ten)
    page.get_by_label("Repetir").select_option(index=2)
    widths["options"] = page.evaluate("document.documentElement.scrollWidth")
    assert all(width <= 390 for width in widths.values()), widths
