"""The web page people book with, driven in a real browser (Debian's Chromium through Playwright)
against `make dev`'s local API: register and verify, find a space, book, take a suggestion after a
409, see the booking, cancel it; an admin creates a space. A failing test leaves a screenshot of the
page in tests/e2e/artifacts/."""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest

from tests.support import STRONG_PASSWORD, space_body

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

ZONE = "Europe/Madrid"


def a_weekday_ahead(days: int = 3) -> datetime:
    day = datetime.now(ZoneInfo(ZONE)).date() + timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(ZONE))


@pytest.fixture
def space(http, admin_headers) -> dict:
    body = space_body(name=f"Sala {uuid.uuid4().hex[:6]}", timezone=ZONE)
    made = http.post("/spaces", json=body, headers=admin_headers)
    assert made.status_code == 201, made.text
    return made.json()


def sign_up_in_the_browser(page, local_api, mail_folder, email: str, name: str = "Ana") -> None:
    page.goto(local_api.url + "/#/register")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("status").filter(has_text="Check your inbox")).to_be_visible()
    link = link_in_mail(mail_folder, email)
    page.goto(link)
    page.get_by_label("Password").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text(f"Signed in as {name}")).to_be_visible()


def link_in_mail(mail_folder, address: str) -> str:
    """The verification link the local API wrote to its mail folder for this address."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for path in sorted(mail_folder.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            if message["To"] and address in message["To"]:
                text = message.get_body(preferencelist=("plain",)).get_content()
                found = re.search(r"https?://\S+/verify\?token=\S+", text)
                if found:
                    return found.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no verification link was sent to {address}")


def search(page, when: datetime, people: int = 1) -> None:
    page.goto(page.url.split("#")[0] + "#/find")
    page.get_by_label("Date").fill(when.strftime("%Y-%m-%d"))
    page.get_by_label("Start").fill(when.strftime("%H:%M"))  # the browser is in Madrid's time too
    page.get_by_label("People").fill(str(people))
    page.get_by_role("button", name="Search").click()


def test_register_find_book_take_a_suggestion_see_and_cancel(
    page, local_api, mail_folder, space, http, engine
):
    sign_up_in_the_browser(page, local_api, mail_folder, f"ana-{uuid.uuid4().hex[:6]}@example.com")

    ten = a_weekday_ahead().replace(hour=10)
    search(page, ten)
    book = page.get_by_role("button", name=f"Book {space['name']}")
    expect(book).to_be_visible()
    book.click()
    expect(page.get_by_text(re.compile(f"Booked: {space['name']}"))).to_be_visible()

    # The day shows 11:00 free; someone else takes it before our click: 409, with what is free instead.
    eleven = ten + timedelta(hours=1)
    page.goto(local_api.url + f"/#/spaces/{space['id']}?date={eleven.date().isoformat()}")
    expect(page.get_by_role("heading", name=space["name"])).to_be_visible()
    slot = page.get_by_role("button", name=re.compile(r"^Book 11:00"))
    expect(slot).to_be_visible()
    other = register_through_api(http, engine, "luis")
    taken = http.post(
        "/reservations",
        json={
            "space_id": space["id"],
            "start_time": eleven.isoformat(),
            "end_time": (eleven + timedelta(hours=1)).isoformat(),
        },
        headers=other,
    )
    assert taken.status_code == 201, taken.text
    slot.click()
    expect(page.get_by_role("heading", name="That time is taken.")).to_be_visible()
    suggestion = page.locator(".suggestions button").first
    expect(suggestion).to_be_visible()
    suggestion.click()
    expect(page.get_by_text(re.compile("^Booked: "))).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My bookings").click()
    expect(page.get_by_role("heading", name="Upcoming")).to_be_visible()
    bookings = page.locator(".booking")
    expect(bookings).to_have_count(2)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=re.compile("^Cancel this booking")).first.click()
    expect(page.get_by_text(re.compile("^Cancelled: "))).to_be_attached()
    expect(page.locator(".status.cancelled")).to_have_count(1)


def register_through_api(http, engine, name: str) -> dict[str, str]:
    from tests.support import mark_verified

    email = f"{name}-{uuid.uuid4().hex[:6]}@example.com"
    http.post("/auth/register", json={"email": email, "password": STRONG_PASSWORD, "name": name})
    mark_verified(engine, email)
    token = http.post("/auth/login", json={"email": email, "password": STRONG_PASSWORD}).json()[
        "access_token"
    ]
    return {"Authorization": f"Bearer {token}"}


def test_an_admin_creates_a_space_with_its_opening_hours(page, local_api, http, admin_headers):
    page.goto(local_api.url + "/#/signin")
    page.get_by_label("Email").fill("root@example.com")
    page.get_by_label("Password").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Spaces (admin)").click()
    page.get_by_role("link", name="New space").click()
    name = f"Aula {uuid.uuid4().hex[:6]}"
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Capacity").fill("12")
    page.get_by_label("Location").fill("Planta 2")
    # Saturday: open until midnight; Monday closes before it opens, which the editor refuses.
    page.get_by_label("Open on Saturday").check()
    page.get_by_label("Open until midnight").nth(5).check()
    page.locator("#closes-mon").fill("07:00")
    page.get_by_role("button", name="Create the space").click()
    expect(page.locator("#hours-mon-error")).to_be_visible()
    page.locator("#closes-mon").fill("19:00")
    page.get_by_role("button", name="Create the space").click()
    expect(page.get_by_text(f"Saved: {name}.")).to_be_visible()
    made = [s for s in http.get("/spaces", params={"q": name}).json()["items"] if s["name"] == name]
    assert made and made[0]["opening_hours"]["mon"] == [["08:00", "19:00"]]
    assert made[0]["opening_hours"]["sat"] == [["08:00", "24:00"]]


def test_errors_are_shown_next_to_the_fields_they_name(page, local_api):
    page.goto(local_api.url + "/#/register")
    page.get_by_label("Name").fill("Bea")
    page.get_by_label("Email").fill("not-an-address")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Register").click()
    expect(page.locator(".form-error")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".field-error").first).to_be_visible()


def test_the_page_speaks_spanish_with_dates_for_it(page, local_api, space):
    page.goto(local_api.url + "/#/find")
    page.get_by_label("Language").select_option("es")
    expect(page.get_by_role("heading", name="Buscar un espacio libre")).to_be_visible()
    page.goto(local_api.url + f"/#/spaces/{space['id']}?date={a_weekday_ahead().date().isoformat()}")
    expect(page.get_by_text(re.compile("lunes|martes|miércoles|jueves|viernes"))).to_be_visible()


@pytest.mark.parametrize("where", ["/#/find", "/#/signin", "/#/register"])
def test_main_pages_have_no_serious_accessibility_violations(page, local_api, where):
    from axe_playwright_python.sync_playwright import Axe

    page.goto(local_api.url + where)
    page.locator("h1").wait_for()
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == [], [(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in serious]


def test_a_taken_time_can_be_waited_for_and_left(page, local_api, http, engine, space):
    """After a 409 a person may join the waitlist for that very time, see it in their bookings, and
    leave it."""
    me = register_through_api(http, engine, "wanda")
    ten = a_weekday_ahead(4).replace(hour=10)
    other = register_through_api(http, engine, "otto")
    page.goto(local_api.url + f"/#/spaces/{space['id']}?date={ten.date().isoformat()}")
    sign_in_with_token_of(page, http, me)
    page.goto(local_api.url + f"/#/spaces/{space['id']}?date={ten.date().isoformat()}")
    slot = page.get_by_role("button", name=re.compile(r"^Book 10:00"))
    expect(slot).to_be_visible()
    taken = http.post(
        "/reservations",
        json={
            "space_id": space["id"],
            "start_time": ten.isoformat(),
            "end_time": (ten + timedelta(minutes=30)).isoformat(),
        },
        headers=other,
    )
    assert taken.status_code == 201, taken.text
    slot.click()
    page.get_by_role("button", name="Wait for this time (waitlist)").click()
    expect(page.get_by_text(re.compile("^You are on the waitlist"))).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My bookings").click()
    expect(page.get_by_role("heading", name="Waiting for a time")).to_be_visible()
    page.get_by_role("button", name=re.compile("^Leave the waitlist")).click()
    expect(page.get_by_text("You left the waitlist.")).to_be_visible()
    assert http.get("/waitlist", headers=me).json() == []


def sign_in_with_token_of(page, http, headers: dict[str, str]) -> None:
    """Sign the page in as the account whose access token these headers carry (its email and the
    strong password every test account has)."""
    me = http.get("/users/me", headers=headers).json()
    page.goto(page.url.split("#")[0] + "#/signin")
    page.get_by_label("Email").fill(me["email"])
    page.get_by_label("Password").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {me['name']}")).to_be_visible()


def test_checking_in_with_the_spaces_qr_code(page, local_api, http, engine, admin_headers):
    """The code printed at the space is a link: opened on a phone, it asks to sign in, then checks in
    to the booking whose check-in is open."""
    always_open = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    made = http.post(
        "/spaces",
        json=space_body(
            name=f"Desk {uuid.uuid4().hex[:6]}",
            opening_hours=always_open,
            slot_minutes=15,
            min_duration_minutes=15,
            check_in_required=True,
        ),
        headers=admin_headers,
    )
    assert made.status_code == 201, made.text
    desk = made.json()
    me = register_through_api(http, engine, "carla")
    now = datetime.now(ZoneInfo(ZONE))
    start = now.replace(second=0, microsecond=0) + timedelta(minutes=15 - now.minute % 15)
    booked = http.post(
        "/reservations",
        json={
            "space_id": desk["id"],
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(minutes=30)).isoformat(),
        },
        headers=me,
    )
    assert booked.status_code == 201, booked.text
    code = http.get(f"/spaces/{desk['id']}/check-in-code", headers=admin_headers).json()
    path = code["url"].split("://", 1)[-1].split("/", 1)[-1]
    page.goto(local_api.url + "/" + path)
    expect(page.get_by_text("Sign in to check in.")).to_be_visible()
    me_account = http.get("/users/me", headers=me).json()
    page.get_by_label("Email").fill(me_account["email"])
    page.get_by_label("Password").fill(STRONG_PASSWORD)
    page.locator("main").get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(re.compile(f"^Checked in: {desk['name']}"))).to_be_visible()
    assert http.get(f"/reservations/{booked.json()['id']}", headers=me).json()["checked_in_at"]


def test_the_refresh_token_is_never_readable_by_scripts(page, local_api, http, admin_headers):
    page.goto(local_api.url + "/#/signin")
    page.get_by_label("Email").fill("root@example.com")
    page.get_by_label("Password").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as Root")).to_be_visible()
    assert "reservas_refresh" not in page.evaluate("document.cookie")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["reservas_refresh"]["httpOnly"] and cookies["reservas_refresh"]["sameSite"] == "Strict"
    assert cookies["reservas_refresh"]["path"] == "/auth"
    assert not page.evaluate("Object.keys(localStorage).some(k => /token/i.test(k + localStorage[k]))")
    page.reload()  # the session survives a reload through the cookie, not through storage
    expect(page.get_by_text("Signed in as Root")).to_be_visible()


def test_the_api_docs_work_offline(page, local_api):
    outside: list[str] = []
    page.route(
        re.compile(r"^https?://(?!127\.0\.0\.1).*"),
        lambda route: (outside.append(route.request.url), route.abort()),
    )
    page.goto(local_api.url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Reservas")
    assert outside == []


def sign_in_as_root(page, local_api) -> None:
    page.goto(local_api.url + "/#/signin")
    page.get_by_label("Email").fill("root@example.com")
    page.get_by_label("Password").fill(STRONG_PASSWORD)
    page.locator("main").get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as Root")).to_be_visible()


def test_an_admin_sets_a_space_s_booking_rules(page, local_api, http, admin_headers, space):
    sign_in_as_root(page, local_api)
    page.goto(local_api.url + f"/#/admin/spaces/{space['id']}")
    page.get_by_label("Slot length (minutes)").fill("15")
    page.get_by_label("Shortest booking (minutes)").fill("15")
    page.get_by_label("Bookable up to (days ahead)").fill("99999")
    page.get_by_label("Bookings need an administrator's or manager's approval").check()
    page.get_by_label("People check in, or their booking is released").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_label("Bookable up to (days ahead)")).to_have_attribute("aria-invalid", "true")
    assert http.get(f"/spaces/{space['id']}").json()["slot_minutes"] == 30  # nothing saved
    page.get_by_label("Bookable up to (days ahead)").fill("60")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text(f"Saved: {space['name']}.")).to_be_visible()
    saved = http.get(f"/spaces/{space['id']}").json()
    assert (saved["slot_minutes"], saved["min_duration_minutes"], saved["max_advance_days"]) == (15, 15, 60)
    assert saved["requires_approval"] and saved["check_in_required"]
    assert saved["opening_hours"] == space["opening_hours"] and saved["description"] == space["description"]


def test_an_admin_prints_a_space_s_check_in_code_and_makes_a_new_one(
    page, local_api, http, admin_headers, space
):
    sign_in_as_root(page, local_api)
    page.goto(local_api.url + f"/#/admin/spaces/{space['id']}")
    page.get_by_role("button", name="Show the code").click()
    code = page.get_by_role("img", name=f"QR code to check in at {space['name']}")
    expect(code).to_be_visible()
    assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", code.element_handle())
    first = http.get(f"/spaces/{space['id']}/check-in-code", headers=admin_headers).json()["url"]
    expect(page.locator(".check-in-code figcaption")).to_contain_text(first)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Make a new code").click()
    expect(page.get_by_text("A new code is ready: print it.")).to_be_visible()
    second = http.get(f"/spaces/{space['id']}/check-in-code", headers=admin_headers).json()["url"]
    assert second != first
    expect(page.locator(".check-in-code figcaption")).to_contain_text(second)
