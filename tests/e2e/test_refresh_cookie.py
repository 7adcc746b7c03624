"""The refresh cookie through `make dev`'s gateway, as a browser meets it: the payload-v2 `cookies`
travel both ways (the function's Set-Cookie out, the browser's Cookie in)."""

from __future__ import annotations

from reservas.errors import PROBLEM_JSON
from tests.support import STRONG_PASSWORD, mark_verified

WANTS_COOKIE = {"X-Refresh-Cookie": "1"}


def attributes(set_cookie: str) -> tuple[str, dict[str, str]]:
    pair, *rest = [part.strip() for part in set_cookie.split(";")]
    name, _, value = pair.partition("=")
    assert name == "reservas_refresh"
    return value, {key.lower(): setting for key, _, setting in (part.partition("=") for part in rest)}


def the_cookie(response) -> str:
    [set_cookie] = response.headers.get_list("set-cookie")
    value, attrs = attributes(set_cookie)
    assert set(attrs) == {"httponly", "secure", "samesite", "path", "max-age"}, set_cookie
    assert attrs["samesite"] == "Strict" and attrs["path"] == "/auth" and int(attrs["max-age"]) > 0
    assert value
    return value


def test_the_cookie_comes_back_through_the_local_gateway_and_refreshes(http, engine, local_api):
    credentials = {"email": "web@example.com", "password": STRONG_PASSWORD}
    assert http.post("/auth/register", json={**credentials, "name": "Web"}).status_code == 202
    mark_verified(engine, "web@example.com")

    login = http.post("/auth/login", json=credentials, headers=WANTS_COOKIE)
    assert login.status_code == 200, login.text
    first = the_cookie(login)
    assert login.json()["refresh_token"] is None and first not in login.text

    # A browser sends it back as a Cookie header (httpx keeps no Secure cookie over http: set by hand).
    refreshed = http.post(
        "/auth/refresh", headers={**WANTS_COOKIE, "Cookie": f"theme=dark; reservas_refresh={first}"}
    )
    assert refreshed.status_code == 200, refreshed.text
    second = the_cookie(refreshed)
    assert second != first and refreshed.json()["refresh_token"] is None
    me = http.get("/users/me", headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"})
    assert me.status_code == 200

    ignored = http.post("/auth/refresh", json={}, headers={"Cookie": f"reservas_refresh={second}"})
    assert ignored.status_code == 422  # no header: the cookie is not read

    logout = http.post(
        "/auth/logout",
        headers={
            **WANTS_COOKIE,
            "Authorization": f"Bearer {refreshed.json()['access_token']}",
            "Cookie": f"reservas_refresh={second}",
        },
    )
    assert logout.status_code == 204
    value, attrs = attributes(logout.headers["set-cookie"])
    assert value == "" and attrs["max-age"] == "0" and attrs["path"] == "/auth"

    after = http.post("/auth/refresh", headers={**WANTS_COOKIE, "Cookie": f"reservas_refresh={second}"})
    assert after.status_code == 401 and after.headers["content-type"] == PROBLEM_JSON
    assert attributes(after.headers["set-cookie"])[1]["max-age"] == "0"

    output = "\n".join(local_api.output)
    assert first not in output and second not in output
