"""Screenshots of the web page's main screens for docs/screenshots/, taken from a running `make dev`
with its demo data, in Debian's Chromium:

    make dev                       # in one terminal
    .venv/bin/python scripts/screenshots.py

It signs in with the demo admin of .local/demo-credentials.txt, searches, books and opens the screens
people use; each is saved at phone and laptop widths where it matters."""

from __future__ import annotations

import argparse
import os
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"


def demo_admin() -> tuple[str, str]:
    for line in (ROOT / ".local" / "demo-credentials.txt").read_text().splitlines():
        role, email, password = line.split()
        if role == "admin":
            return email, password
    raise SystemExit("no demo admin in .local/demo-credentials.txt: start `make dev` with its demo data")


def a_weekday(days: int = 3) -> date:
    day = date.today() + timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def main() -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:3000")
    parser.add_argument("--chromium", default=os.environ.get("RESERVAS_CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args()
    email, password = demo_admin()
    day = a_weekday().isoformat()
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        context = browser.new_context(
            base_url=args.url,
            timezone_id="Europe/Madrid",
            locale="en-US",
            viewport={"width": 1024, "height": 760},
        )
        page = context.new_page()
        page.goto("/#/signin")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Signed in as").wait_for()

        page.goto(f"/#/find?date={day}&start=10:00&duration=60&people=2&amenities=")
        page.get_by_role("button", name="Search").click()
        page.locator(".card").first.wait_for()
        page.screenshot(path=str(OUT / "find.png"))
        page.locator(".card button").first.click()
        page.locator(".notice.success").wait_for()
        page.locator(".card a").first.click()
        page.locator(".timeline").wait_for()
        page.screenshot(path=str(OUT / "space-day.png"))
        page.get_by_label("Repeat").select_option(label="Every week")
        page.locator(".slots button", has_text="04:00 PM").first.click()
        page.locator(".outcome .notice.success, .outcome .conflict").first.wait_for()
        page.locator(".outcome").scroll_into_view_if_needed()
        page.screenshot(path=str(OUT / "space-series.png"))
        page.goto("/#/bookings")
        page.get_by_role("heading", name="Upcoming").wait_for()
        page.screenshot(path=str(OUT / "bookings.png"))
        page.locator("button", has_text="Change").first.click()
        page.locator("form.change").wait_for()
        page.screenshot(path=str(OUT / "bookings-change.png"))
        page.goto("/#/admin/spaces/new")
        page.locator("fieldset.hours").wait_for()
        page.screenshot(path=str(OUT / "admin-space.png"), full_page=True)

        phone = browser.new_context(
            base_url=args.url,
            timezone_id="Europe/Madrid",
            locale="es-ES",
            viewport={"width": 390, "height": 800},
        ).new_page()
        phone.goto(f"/#/find?date={day}&start=12:00&duration=60&people=1&amenities=")
        phone.get_by_role("button", name="Buscar").click()
        phone.locator(".card").first.wait_for()
        phone.screenshot(path=str(OUT / "find-phone-es.png"))
        browser.close()
    print(f"written to {OUT.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
