"""Browsers keep the refresh token in an HttpOnly cookie (`X-Refresh-Cookie: 1`), through the Lambda
handlers with API Gateway payload-v2 events: what a browser would notice (Set-Cookie and its attributes,
the body without the token, the session's fate)."""

from __future__ import annotations

import json

import pytest

from reservas.accounts import refresh_cookie
from reservas.errors import PROBLEM_JSON
from reservas.settings import get_settings
from tests.support import (
    STRONG_PASSWORD,
    http_event,
    invoke,
    invoke_with_cookies,
    link_sent_to,
    sign_up_through_handlers,
)

COOKIE = "reservas_refresh"
WANTS_COOKIE = {"x-refresh-cookie": "1"}
CREDENTIALS = {"email": "ana@example.com", "password": STRONG_PASSWORD}


def parse(set_cookie: str) -> tuple[str, str, dict[str, str]]:
    """A Set-Cookie value as a browser reads it: name, value and attributes (names in lower case)."""
    pair, *attributes = [part.strip() for part in set_cookie.split(";")]
    name, _, value = pair.partition("=")
    parsed = {}
    for attribute in attributes:
        key, _, setting = attribute.partition("=")
        parsed[key.lower()] = setting
    return name, value, parsed


def stored(cookies: list[str]) -> str:
    """The refresh token of the one cookie the answer sets, with every attribute the contract names."""
    [set_cookie] = cookies
    name, value, attributes = parse(set_cookie)
    assert name == COOKIE
    assert set(attributes) == {"httponly", "secure", "samesite", "path", "max-age"}, set_cookie
    assert attributes["samesite"] == "Strict" and attributes["path"] == "/auth"
    assert attributes["httponly"] == "" and attributes["secure"] == ""
    lifetime = get_settings().refresh_token_days * 86400
    assert lifetime - 60 < int(attributes["max-age"]) <= lifetime
    assert value
    return value


def assert_cleared(cookies: list[str]) -> None:
    [set_cookie] = cookies
    name, value, attributes = parse(set_cookie)
    assert (name, value) == (COOKIE, "")
    assert attributes["max-age"] == "0" and attributes["path"] == "/auth"
    assert "httponly" in attributes and "secure" in attributes and attributes["samesite"] == "Strict"


def login(**kwargs):
    return invoke_with_cookies("auth", http_event("POST", "/auth/login", body=CREDENTIALS, **kwargs))


def refresh(token: str | None = None, *, header: bool = True, body=None, cookies=None):
    headers = WANTS_COOKIE if header else {}
    if cookies is None and token is not None:
        cookies = [f"{COOKIE}={token}"]
    return invoke_with_cookies(
        "auth", http_event("POST", "/auth/refresh", body=body, headers=headers, cookies=cookies)
    )


def me(access_token: str) -> int:
    headers = {"authorization": f"Bearer {access_token}"}
    return invoke("users", http_event("GET", "/users/me", headers=headers))[0]


@pytest.fixture
def ana(engine) -> dict:
    """Ana's account (and a first session of hers, signed in without the cookie)."""
    return sign_up_through_handlers(engine, "ana@example.com")


@pytest.fixture
def browser(ana) -> tuple[dict, str]:
    """Ana signed in from a browser: the answer's body and the cookie's refresh token."""
    status, _, body, cookies = login(headers=WANTS_COOKIE)
    assert status == 200, body
    return body, stored(cookies)


def test_login_with_the_header_sets_the_cookie_and_the_body_has_no_refresh_token(ana, capfd, caplog):
    status, headers, body, cookies = login(headers=WANTS_COOKIE)
    assert status == 200
    token = stored(cookies)
    assert body["refresh_token"] is None
    assert (
        body["access_token"] and body["token_type"] == "bearer" and body["user"]["email"] == "ana@example.com"
    )
    assert token not in json.dumps(body) and token not in json.dumps(headers)
    assert headers["cache-control"] == "no-store"
    assert me(body["access_token"]) == 200
    assert token not in "".join(capfd.readouterr()) + caplog.text


def test_without_the_header_nothing_changes(ana):
    status, _, body, cookies = login()
    assert status == 200 and cookies == []
    assert body["refresh_token"]
    status, _, rotated, cookies = refresh(header=False, body={"refresh_token": body["refresh_token"]})
    assert status == 200 and cookies == [] and rotated["refresh_token"]


def test_verifying_the_address_with_the_header_signs_in_with_the_cookie(engine):
    registered = {**CREDENTIALS, "name": "Ana"}
    assert invoke("auth", http_event("POST", "/auth/register", body=registered))[0] == 202
    token = link_sent_to(engine, "ana@example.com")
    status, _, body, cookies = invoke_with_cookies(
        "auth",
        http_event(
            "POST",
            "/auth/verify",
            body={"token": token, "password": STRONG_PASSWORD},
            headers=WANTS_COOKIE,
        ),
    )
    assert status == 200, body
    assert body["refresh_token"] is None
    assert refresh(stored(cookies))[0] == 200


@pytest.mark.parametrize("body", [None, {}])
def test_refresh_from_the_cookie_rotates_it_and_a_reuse_ends_the_session(browser, body, capfd, caplog):
    first, old = browser
    status, headers, rotated, cookies = refresh(old, body=body)
    assert status == 200, rotated
    new = stored(cookies)
    assert new != old
    assert rotated["refresh_token"] is None
    assert me(rotated["access_token"]) == 200

    status, headers, problem, cookies = refresh(old)  # the spent one, replayed: the session ends
    assert status == 401 and headers["content-type"] == PROBLEM_JSON
    assert_cleared(cookies)
    assert refresh(new)[0] == 401
    assert me(rotated["access_token"]) == 401
    assert me(first["access_token"]) == 401

    output = "".join(capfd.readouterr()) + caplog.text
    assert "refresh token reused" in output  # the logs are read here
    assert old not in output and new not in output
    assert old not in json.dumps(problem)


def test_the_cookie_is_not_read_without_the_header(browser):
    _, token = browser
    for body in (None, {}):
        status, headers, problem, cookies = refresh(token, header=False, body=body)
        assert status == 422 and headers["content-type"] == PROBLEM_JSON
        assert problem["errors"] == [{"loc": ["body", "refresh_token"], "msg": "Field required"}]
        assert cookies == []
    assert refresh(token)[0] == 200  # nothing was rotated: the cookie's token was still unspent


def test_the_header_takes_only_1(browser):
    _, token = browser
    for value in ("true", "0", ""):
        status, headers, problem, _ = invoke_with_cookies(
            "auth",
            http_event(
                "POST", "/auth/refresh", headers={"x-refresh-cookie": value}, cookies=[f"{COOKIE}={token}"]
            ),
        )
        assert status == 422 and headers["content-type"] == PROBLEM_JSON, (value, problem)
    assert refresh(token)[0] == 200


def test_a_refresh_token_in_the_body_and_the_header_is_refused(browser, ana):
    _, token = browser
    status, _, problem, cookies = refresh(token, body={"refresh_token": ana["refresh_token"]})
    assert status == 422 and problem["errors"][0]["loc"] == ["body", "refresh_token"]
    assert cookies == []
    assert refresh(header=False, body={"refresh_token": ana["refresh_token"]})[0] == 200
    assert refresh(token)[0] == 200


def test_refresh_with_the_header_and_no_cookie_is_401_and_clears_it(ana):
    status, headers, problem, cookies = refresh(cookies=["theme=dark"])
    assert status == 401 and headers["content-type"] == PROBLEM_JSON
    assert problem["title"] == "Refresh failed"
    assert_cleared(cookies)


@pytest.mark.parametrize("body", [None, {}])
def test_logout_clears_the_cookie_and_ends_the_session(browser, body):
    session, token = browser
    bearer = {"authorization": f"Bearer {session['access_token']}"}
    status, _, _, cookies = invoke_with_cookies(
        "auth",
        http_event(
            "POST",
            "/auth/logout",
            body=body,
            headers={**bearer, **WANTS_COOKIE},
            cookies=[f"{COOKIE}={token}"],
        ),
    )
    assert status == 204
    assert_cleared(cookies)
    assert me(session["access_token"]) == 401
    assert refresh(token)[0] == 401


def test_logout_with_the_cookie_ends_the_cookies_session_too(browser, ana):
    """Signed in twice (a token in memory, the cookie of another session): both end."""
    session, token = browser
    status, _, _, cookies = invoke_with_cookies(
        "auth",
        http_event(
            "POST",
            "/auth/logout",
            headers={"authorization": f"Bearer {ana['access_token']}", **WANTS_COOKIE},
            cookies=[f"{COOKIE}={token}"],
        ),
    )
    assert status == 204
    assert_cleared(cookies)
    assert me(ana["access_token"]) == 401 and me(session["access_token"]) == 401


def test_logout_without_the_header_still_needs_the_body(browser):
    session, token = browser
    bearer = {"authorization": f"Bearer {session['access_token']}"}
    status, _, problem, cookies = invoke_with_cookies(
        "auth", http_event("POST", "/auth/logout", headers=bearer, cookies=[f"{COOKIE}={token}"])
    )
    assert status == 422 and cookies == [] and problem["errors"][0]["loc"] == ["body", "refresh_token"]
    assert me(session["access_token"]) == 200


HOSTILE = {
    "10k characters": ["reservas_refresh=" + "a" * 10_000],
    "NUL": ["reservas_refresh=abc\x00def"],
    "empty": ["reservas_refresh="],
    "quoted": ['reservas_refresh="abc"'],
    "unicode": ["reservas_refresh=ñandú"],
}


@pytest.mark.parametrize("cookies", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_cookies_are_a_clear_401(ana, cookies):
    status, headers, problem, set_cookies = refresh(cookies=cookies)
    assert status == 401 and headers["content-type"] == PROBLEM_JSON, problem
    assert problem["status"] == 401 and problem["detail"]
    assert_cleared(set_cookies)
    assert problem["detail"] == refresh_cookie.REFRESH_FAILED  # the value is not repeated back


def test_several_refresh_cookies_are_refused_and_rotate_nothing(browser):
    _, token = browser
    for cookies in ([f"{COOKIE}={token}", f"{COOKIE}=planted"], [f"{COOKIE}=planted", f"{COOKIE}={token}"]):
        status, headers, problem, set_cookies = refresh(cookies=cookies)
        assert status == 401 and headers["content-type"] == PROBLEM_JSON
        assert "Several" in problem["detail"] and token not in json.dumps(problem)
        assert_cleared(set_cookies)
    assert refresh(token)[0] == 200  # the genuine one was never spent


def test_an_access_token_in_the_cookie_is_refused(browser):
    session, _ = browser
    status, headers, problem, set_cookies = refresh(session["access_token"])
    assert status == 401 and headers["content-type"] == PROBLEM_JSON
    assert session["access_token"] not in json.dumps(problem)
    assert_cleared(set_cookies)
    assert me(session["access_token"]) == 200  # a refusal, not a revocation
