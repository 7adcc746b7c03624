"""`make smoke` against the local API: what it checks passes on a working API, stops at the first check
that does not hold with a non-zero status, and leaves nothing behind either way."""

from __future__ import annotations

import subprocess
import sys
import uuid

from devtools.apigw import ROOT
from tests.support import space_body


def smoke(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "smoke.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def a_space(http, admin_headers) -> dict:
    made = http.post("/spaces", json=space_body(name=f"Smoke {uuid.uuid4().hex[:6]}"), headers=admin_headers)
    assert made.status_code == 201, made.text
    return made.json()


def accounts(engine) -> int:
    from sqlalchemy import text

    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM users")).scalar_one()


def test_the_smoke_test_passes_on_the_local_api_and_leaves_nothing(
    local_api, mail_folder, http, admin_headers
):
    space = a_space(http, admin_headers)
    ran = smoke("--url", local_api.url, "--mail-folder", str(mail_folder), "--space", space["id"])
    assert ran.returncode == 0, ran.stdout + ran.stderr
    for check in (
        "ok    health of auth",
        "ok    health of reservations",
        "ok    register",
        "ok    verify the address with the emailed link",
        "ok    sign in",
        f"ok    availability of {space['name']}",
        "ok    book it",
        "ok    the same request again answers the same booking",
        "ok    the same time again is refused",
        "ok    cancel it",
        "ok    a browser preflight from an unknown origin is refused",
        "clean removed the account",
        "All checks passed.",
    ):
        assert check in ran.stdout, ran.stdout
    address = next(line.split("(")[1].rstrip(")") for line in ran.stdout.splitlines() if "register" in line)
    gone = http.post("/auth/login", json={"email": address, "password": "anything-at-all-1"})
    assert gone.status_code == 401
    users = http.get("/users", params={"email": address}, headers=admin_headers).json()["items"]
    assert users == []
    bookings = http.get(
        "/reservations/search", params={"space_id": space["id"], "status": "active"}, headers=admin_headers
    ).json()["items"]
    assert bookings == []


def test_the_smoke_test_stops_at_the_first_failure_and_still_cleans_up(
    local_api, mail_folder, http, admin_headers
):
    """The local API allows no web page's origin: asked to check one, the smoke test fails there."""
    space = a_space(http, admin_headers)
    ran = smoke(
        "--url", local_api.url, "--mail-folder", str(mail_folder), "--space", space["id"],
        "--origin", "https://rooms.example.org",
    )  # fmt: skip
    assert ran.returncode == 1
    lines = ran.stdout.splitlines()
    [failed] = [line for line in lines if line.startswith("FAIL")]
    assert "https://rooms.example.org" in failed and "CorsAllowOrigins" in failed
    assert lines.index(failed) < lines.index("clean removed the account")
    assert "All checks passed." not in ran.stdout


def test_the_smoke_test_of_an_api_that_does_not_answer_fails_at_once():
    ran = smoke("--url", "http://127.0.0.1:9", "--timeout", "2")
    assert ran.returncode == 1
    assert "FAIL  GET /auth/health: no answer" in ran.stdout


def test_without_a_way_to_sign_in_the_smoke_test_says_what_to_give_and_registers_nobody(local_api):
    ran = smoke("--url", local_api.url)
    assert ran.returncode == 1
    assert "give --email and --password of a verified account" in ran.stdout
    assert "register" not in ran.stdout.replace("give --email", "")


def test_with_an_existing_account_the_smoke_test_creates_none(local_api, http, engine, admin_headers):
    from tests.support import STRONG_PASSWORD, mark_verified

    space = a_space(http, admin_headers)
    email = f"ops-{uuid.uuid4().hex[:6]}@example.com"
    http.post("/auth/register", json={"email": email, "password": STRONG_PASSWORD, "name": "Ops"})
    mark_verified(engine, email)
    before = accounts(engine)
    ran = smoke(
        "--url", local_api.url, "--email", email, "--password", STRONG_PASSWORD, "--space", space["id"]
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert f"ok    sign in ({email})" in ran.stdout
    assert accounts(engine) == before
