"""The local API (`make dev`) as a user meets it: a process serving HTTP on a loopback port."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from devtools.local_api_process import LocalApi, start_local_api


@pytest.fixture(scope="session")
def mail_folder(tmp_path_factory) -> Path:
    """Where the local API writes the messages it would send."""
    return tmp_path_factory.mktemp("mail")


@pytest.fixture(scope="session")
def local_api(services, mail_folder) -> Iterator[LocalApi]:
    """The local API on the test session's PostgreSQL and Redis, without demo data."""
    env = {
        **os.environ,
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "RESERVAS_MAIL_FOLDER": str(mail_folder),
    }
    # No schedules: the session's other tests share its database, and a release or an outbox sweep
    # of the local API's own would act on their bookings and events.
    api = start_local_api(env, "--no-seed", "--no-schedules")
    yield api
    api.stop()


@pytest.fixture
def http(local_api, engine) -> Iterator[httpx.Client]:
    with local_api.client() as client:
        yield client


@pytest.fixture
def admin_headers(http, engine) -> dict[str, str]:
    """An administrator signed in through the API (promoted by `make admin`'s function)."""
    from scripts.create_admin import make_admin
    from tests.support import STRONG_PASSWORD

    http.post(
        "/auth/register", json={"email": "root@example.com", "password": STRONG_PASSWORD, "name": "Root"}
    )
    with engine.connect() as connection:
        make_admin(connection, "root@example.com", "Root", None)
    login = http.post("/auth/login", json={"email": "root@example.com", "password": STRONG_PASSWORD}).json()
    return {"Authorization": f"Bearer {login['access_token']}"}


# ---------------------------------------------------------------- A real browser

CHROMIUM = os.environ.get("RESERVAS_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium (apt install chromium), driven by Playwright: its own browser downloads are not
    reachable from here, and CI installs the system one. One per test module, stopped at its end:
    Playwright's synchronous API runs an event loop on this thread while it is started, which the
    tests that follow (the apps' TestClient) must not find running."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no browser at {CHROMIUM}: install Debian's chromium (CI does, with apt)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser, local_api, request):
    """A fresh browser profile (no cookies) on a phone-to-laptop width, in Madrid's time and English;
    when the test fails, a screenshot of the page is left in tests/e2e/artifacts/."""
    context = browser.new_context(
        base_url=local_api.url,
        timezone_id="Europe/Madrid",
        locale="en-US",
        viewport={"width": 1024, "height": 800},
    )
    opened = context.new_page()
    yield opened
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        opened.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
