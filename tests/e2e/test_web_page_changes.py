"""Changing a booking and booking series from the web page, in a real browser against `make dev`'s
local API: what a person does, what they see, and what the API then holds."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.test_web_page import a_weekday_ahead
from tests.e2e.test_web_page_attacks import a_person, book_through_api, make_space, sign_in

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def my_bookings(page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My bookings").click()
    expect(page.get_by_role("heading", name="Upcoming")).to_be_visible()


def open_change_form(page, space_name: str):
    page.get_by_role("button", name=re.compile(f"^Change: {re.escape(space_name)}")).first.click()
    form = page.get_by_role("form", name=f"Change the booking: {space_name}")
    expect(form).to_be_visible()
    return form


def test_changing_a_booking_moves_it_in_the_space_s_time(page, local_api, http, engine, admin_headers):
    space = make_space(http, admin_headers, timezone="Asia/Tokyo")  # the page is in Madrid's time
    email, me = a_person(http, engine, "Nora")
    day = a_weekday_ahead()
    tokyo_ten = datetime(day.year, day.month, day.day, 10, tzinfo=ZoneInfo("Asia/Tokyo"))
    booked = book_through_api(http, me, space, tokyo_ten)
    sign_in(page, local_api, email)
    my_bookings(page)

    form = open_change_form(page, space["name"])
    expect(form.get_by_label("Start")).to_have_value("10:00")  # Tokyo's ten, not Madrid's hour
    expect(form.get_by_text(re.compile(r"Times in .*\(Asia/Tokyo\)"))).to_be_visible()
    form.get_by_label("Start").fill("14:00")
    form.get_by_label("End").fill("15:30")
    form.get_by_label("People").fill("3")
    form.get_by_role("button", name="Save the change").click()
    expect(page.get_by_text(re.compile(f"^Changed: {re.escape(space['name'])}"))).to_be_visible()

    now = http.get(f"/reservations/{booked['id']}", headers=me).json()
    assert at(now["start_time"]) == tokyo_ten + timedelta(hours=4)
    assert at(now["end_time"]) == tokyo_ten + timedelta(hours=5, minutes=30)
    assert now["attendees"] == 3
    assert len(http.get("/reservations", headers=me).json()["items"]) == 1  # moved, not booked again


def test_a_change_into_a_taken_time_keeps_the_booking_and_offers_what_is_free(
    page, local_api, http, engine, admin_headers
):
    space = make_space(http, admin_headers)
    email, me = a_person(http, engine, "Omar")
    _, other = a_person(http, engine, "Paz")
    ten = a_weekday_ahead().replace(hour=10)
    booked = book_through_api(http, me, space, ten)
    book_through_api(http, other, space, ten.replace(hour=15))
    sign_in(page, local_api, email)
    my_bookings(page)

    form = open_change_form(page, space["name"])
    form.get_by_label("Start").fill("15:00")
    form.get_by_label("End").fill("16:00")
    form.get_by_role("button", name="Save the change").click()
    expect(page.get_by_role("heading", name="That time is taken.")).to_be_visible()
    unchanged = http.get(f"/reservations/{booked['id']}", headers=me).json()
    assert at(unchanged["start_time"]) == ten

    suggestion = page.locator(".suggestions button").first
    label = suggestion.inner_text()
    suggestion.click()
    expect(page.get_by_text(re.compile("^Changed: "))).to_be_visible()
    moved = http.get(f"/reservations/{booked['id']}", headers=me).json()
    assert at(moved["start_time"]) not in (ten, ten.replace(hour=15))
    hour = at(moved["start_time"]).astimezone(ten.tzinfo).strftime("%I:%M %p")
    assert hour in label, (hour, label)
    assert len(http.get("/reservations", headers=me).json()["items"]) == 1


def test_a_refused_change_is_shown_at_the_field_it_names(page, local_api, http, engine, admin_headers):
    space = make_space(http, admin_headers, capacity=4)
    email, me = a_person(http, engine, "Quique")
    booked = book_through_api(http, me, space, a_weekday_ahead().replace(hour=10))
    sign_in(page, local_api, email)
    my_bookings(page)

    form = open_change_form(page, space["name"])
    form.get_by_label("People").fill("40")
    form.get_by_role("button", name="Save the change").click()
    expect(form.get_by_label("People")).to_have_attribute("aria-invalid", "true")
    expect(form.locator(".field-error")).to_contain_text("at most 4 people")
    form.get_by_label("People").fill("2")
    form.get_by_label("End").fill("22:00")  # the space closes at 20:00
    form.get_by_role("button", name="Save the change").click()
    expect(form.locator(".field-error")).to_be_visible()
    expect(form.get_by_label("People")).not_to_have_attribute("aria-invalid", "true")
    kept = http.get(f"/reservations/{booked['id']}", headers=me).json()
    assert kept["attendees"] == 1 and kept["end_time"] == booked["end_time"]


def day_view(page, local_api, space, day: datetime) -> None:
    page.goto(local_api.url + f"/#/spaces/{space['id']}?date={day.date().isoformat()}")
    expect(page.locator("h1")).to_have_text(space["name"])


def test_a_weekly_series_is_booked_and_cancelled_from_a_date_on(page, local_api, http, engine, admin_headers):
    space = make_space(http, admin_headers)
    email, me = a_person(http, engine, "Rosa")
    ten = a_weekday_ahead().replace(hour=10)
    sign_in(page, local_api, email)
    day_view(page, local_api, space, ten)
    page.get_by_label("Repeat").select_option(label="Every week")
    page.get_by_label("How many times").fill("4")
    page.get_by_role("button", name=re.compile(r"^Book 10:00 AM")).click()
    expect(page.get_by_text(re.compile(f"^Booked 4 times: {re.escape(space['name'])}"))).to_be_visible()
    mine = http.get("/reservations", headers=me).json()["items"]
    assert sorted(at(b["start_time"]) for b in mine) == [ten + timedelta(weeks=n) for n in range(4)]
    assert len({b["series_id"] for b in mine}) == 1

    my_bookings(page)
    expect(page.locator(".booking").filter(has_text="Part of a series")).to_have_count(4)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=re.compile("^Cancel this and the following")).nth(2).click()
    expect(page.get_by_text(re.compile("and the following dates of its series"))).to_be_attached()
    expect(page.locator(".status.cancelled")).to_have_count(2)
    left = [b for b in http.get("/reservations", headers=me).json()["items"] if b["status"] == "active"]
    assert sorted(at(b["start_time"]) for b in left) == [ten, ten + timedelta(weeks=1)]


def test_a_series_with_a_taken_date_books_the_free_ones_when_asked(
    page, local_api, http, engine, admin_headers
):
    space = make_space(http, admin_headers)
    email, me = a_person(http, engine, "Sara")
    _, other = a_person(http, engine, "Teo")
    ten = a_weekday_ahead().replace(hour=10)
    book_through_api(http, other, space, ten + timedelta(weeks=1))
    sign_in(page, local_api, email)
    day_view(page, local_api, space, ten)
    page.get_by_label("Repeat").select_option(label="Every week")
    page.get_by_label("How many times").fill("3")
    page.get_by_role("button", name=re.compile(r"^Book 10:00 AM")).click()
    expect(page.get_by_role("heading", name="1 of the dates is taken.")).to_be_visible()
    assert http.get("/reservations", headers=me).json()["items"] == []  # all or nothing: nothing

    page.get_by_role("button", name="Book the free dates only").click()
    expect(page.get_by_text(re.compile("^Booked 2 times: "))).to_be_visible()
    expect(page.locator(".outcome .in-the-way li")).to_have_count(1)
    expect(page.locator(".outcome .in-the-way li")).to_contain_text("taken")
    mine = http.get("/reservations", headers=me).json()["items"]
    assert sorted(at(b["start_time"]) for b in mine) == [ten, ten + timedelta(weeks=2)]


def test_a_series_beyond_how_far_ahead_the_space_books_says_so_at_how_many_times(
    page, local_api, http, engine, admin_headers
):
    space = make_space(http, admin_headers, max_advance_days=30)
    email, me = a_person(http, engine, "Ugo")
    sign_in(page, local_api, email)
    day_view(page, local_api, space, a_weekday_ahead())
    page.get_by_label("Repeat").select_option(label="Every week")
    page.get_by_label("How many times").fill("20")
    page.get_by_role("button", name=re.compile(r"^Book 10:00 AM")).click()
    expect(page.get_by_label("How many times")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".booking-options .field-error")).to_be_visible()
    assert http.get("/reservations", headers=me).json()["items"] == []
    # Booked once, the same slot still goes through.
    page.get_by_label("Repeat").select_option(label="Only once")
    page.get_by_role("button", name=re.compile(r"^Book 10:00 AM")).click()
    expect(page.get_by_text(re.compile("^Booked: "))).to_be_visible()


@pytest.mark.parametrize("where", ["change form", "series refused"])
def test_the_change_form_and_series_options_have_no_serious_accessibility_violations(
    page, local_api, http, engine, admin_headers, where
):
    from axe_playwright_python.sync_playwright import Axe

    space = make_space(http, admin_headers)
    email, me = a_person(http, engine, "Vera")
    day = a_weekday_ahead()
    book_through_api(http, me, space, day.replace(hour=10))
    sign_in(page, local_api, email)
    if where == "change form":
        my_bookings(page)
        open_change_form(page, space["name"])
    else:
        _, other = a_person(http, engine, "Wim")
        book_through_api(http, other, space, day.replace(hour=11) + timedelta(weeks=1))
        day_view(page, local_api, space, day)
        page.get_by_label("Repeat").select_option(label="Every week")
        page.get_by_role("button", name=re.compile(r"^Book 11:00 AM")).click()
        expect(page.get_by_role("heading", name="1 of the dates is taken.")).to_be_visible()
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == [], [(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in serious]


def test_a_booking_under_way_keeps_its_start_and_can_end_earlier(
    page, local_api, http, engine, admin_headers
):
    from sqlalchemy import text

    always = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    space = make_space(http, admin_headers, opening_hours=always)
    email, me = a_person(http, engine, "Xavi")
    user_id = http.get("/users/me", headers=me).json()["id"]
    now = datetime.now(ZoneInfo("Europe/Madrid")).replace(second=0, microsecond=0)
    with engine.begin() as connection:
        under_way = connection.execute(
            text(
                "INSERT INTO reservations (user_id, space_id, start_time, end_time) "
                "VALUES (:u, :s, :start, :end) RETURNING id"
            ),
            {
                "u": user_id,
                "s": space["id"],
                "start": now - timedelta(minutes=30),
                "end": now + timedelta(hours=2),
            },
        ).scalar_one()
    sign_in(page, local_api, email)
    my_bookings(page)
    mine = page.locator(".booking").filter(has_text=space["name"])
    expect(mine.get_by_role("button", name=re.compile("^Cancel"))).to_have_count(0)  # it has started
    form = open_change_form(page, space["name"])
    expect(form.get_by_label("Start")).to_have_attribute("readonly", "")
    expect(form.get_by_text("It is under way")).to_be_visible()
    earlier = now + timedelta(minutes=15)
    form.get_by_label("End").fill(earlier.strftime("%H:%M"))
    form.get_by_role("button", name="Save the change").click()
    expect(page.get_by_text(re.compile("^Changed: "))).to_be_visible()
    changed = http.get(f"/reservations/{under_way}", headers=me).json()
    assert at(changed["start_time"]) == now - timedelta(minutes=30)
    assert at(changed["end_time"]) == earlier
