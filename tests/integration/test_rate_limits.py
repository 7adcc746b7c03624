"""Rate limits, counted in the real Redis and shared by every function, as API Gateway events show them."""

from __future__ import annotations

import time
import uuid
from types import SimpleNamespace

import pytest

from reservas.errors import PROBLEM_JSON
from tests.support import STRONG_PASSWORD, http_event, invoke


def login(ip: str, email: str = "nobody@example.com", password: str = "Wrong-pass-1"):
    return invoke(
        "auth", http_event("POST", "/auth/login", body={"email": email, "password": password}, source_ip=ip)
    )


def test_the_eleventh_auth_request_in_a_minute_is_429(limits_on):
    statuses = []
    for n in range(10):
        statuses.append(login("198.51.100.1", email=f"user{n}@example.com")[0])
        time.sleep(0.25)  # 4 a second: under the burst limit of 5
    assert 429 not in statuses

    status, headers, body = login("198.51.100.1", email="user10@example.com")
    assert status == 429
    assert headers["content-type"] == PROBLEM_JSON
    assert 1 <= int(headers["retry-after"]) <= 60
    assert "too many requests" in body["detail"].lower()

    assert login("198.51.100.2")[0] == 401  # another address has its own budget


def test_bursts_beyond_five_a_second_are_429(limits_on):
    statuses = [login("198.51.100.3", email=f"b{n}@example.com")[0] for n in range(6)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429


def test_health_checks_are_not_counted(limits_on):
    for _ in range(12):
        assert invoke("auth", http_event("GET", "/auth/health", source_ip="198.51.100.4"))[0] == 200


def test_groups_other_than_auth_share_one_budget(limits_on):
    limits_on(rate_limit_default="3/minute")
    me = http_event("GET", "/users/me", source_ip="198.51.100.5")
    assert [invoke("users", me)[0] for _ in range(3)] == [401, 401, 401]
    assert invoke("users", me)[0] == 429
    assert login("198.51.100.5")[0] == 401  # auth counts separately


def test_failures_from_one_address_never_keep_the_owner_out(limits_on, register, client_for):
    ana = register()
    for _ in range(5):
        assert login("203.0.113.66", email="ana@example.com")[0] == 401
        time.sleep(0.25)  # under the address's burst limit of 5 requests a second
    status, headers, body = login("203.0.113.66", email="ana@example.com", password=STRONG_PASSWORD)
    assert status == 429  # that address is done guessing for a while, right password or not
    assert int(headers["retry-after"]) > 60
    assert "failed sign-ins" in body["detail"]
    # The owner, from their own address, signs in and changes the password as usual.
    assert login("198.51.100.20", email="ana@example.com", password=STRONG_PASSWORD)[0] == 200
    changed = invoke(
        "users",
        http_event(
            "PUT",
            "/users/me",
            body={"password": "Another-Horse-77", "current_password": STRONG_PASSWORD},
            headers={"authorization": f"Bearer {ana['access_token']}"},
            source_ip="198.51.100.20",
        ),
    )
    assert changed[0] == 200, changed


def test_guesses_from_many_addresses_are_still_slowed(limits_on, register):
    limits_on(login_failure_limit_per_account="10 per 15 minutes")
    register()
    for n in range(10):
        assert login(f"203.0.113.{n}", email="ana@example.com")[0] == 401
    assert login("203.0.113.200", email="ana@example.com", password=STRONG_PASSWORD)[0] == 429
    # Unknown accounts are slowed the same way, so a refusal tells nothing about who has an account.
    for n in range(10):
        assert login(f"203.0.113.{n}", email="ghost@example.com")[0] == 401
    assert login("203.0.113.200", email="ghost@example.com")[0] == 429


def test_parallel_guesses_cannot_outrun_the_limit(limits_on, register, monkeypatch):
    """Each attempt takes its place in the count before its password is hashed."""
    import threading

    from fastapi.testclient import TestClient

    import reservas.accounts.service as accounts

    limits_on(login_failure_limit_per_account="5 per 15 minutes")
    register()
    checked = []
    verify = accounts.verify_password
    monkeypatch.setattr(accounts, "verify_password", lambda *args: checked.append(1) or verify(*args))
    from tests.support import function_module

    statuses: list[int] = []
    start = threading.Barrier(30)

    def guess(n: int) -> None:
        client = TestClient(function_module("auth").app, client=(f"198.18.0.{n}", 40000))
        start.wait()
        statuses.append(
            client.post(
                "/auth/login", json={"email": "ana@example.com", "password": f"Guess-{n}-x"}
            ).status_code
        )

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [401] * 5 + [429] * 25
    assert len(checked) == 5


def test_a_successful_login_forgets_earlier_failures(limits_on, register):
    register()
    for n in range(4):
        login(f"203.0.113.{n}", email="ana@example.com")
    assert login("203.0.113.50", email="ana@example.com", password=STRONG_PASSWORD)[0] == 200
    for n in range(4):
        assert login(f"203.0.113.{n}", email="ana@example.com")[0] == 401


def test_a_failing_redis_fails_no_request(limits_on, broken_service, caplog):
    broken_service("REDIS_URL")
    limits_on()
    statuses = [login("198.51.100.9", email=f"r{n}@example.com")[0] for n in range(12)]
    assert statuses == [401] * 12
    assert "rate limits off for a while: Redis failed" in caplog.text


def test_a_request_refused_by_one_window_takes_no_place_in_the_others(limits_on):
    """All of a request's windows are counted in one script: a place in each, or in none."""
    from reservas.rate_limits import get_rate_limiter
    from reservas.rate_windows import parse_limits

    limiter = get_rate_limiter()
    assert limiter is not None
    who = uuid.uuid4().hex
    wide, narrow = parse_limits("2/hour")[0], parse_limits("1/hour")[0]
    both = [(wide, ("t", who)), (narrow, ("t", who, "narrow"))]
    assert limiter.hit_all(both) is None
    assert 3590 <= (limiter.hit_all(both) or 0) <= 3600  # the narrow one is full, for an hour
    assert limiter.hit_all([(wide, ("t", who))]) is None  # the refusal took no place in the wide one
    assert limiter.hit_all([(wide, ("t", who))]) is not None


@pytest.mark.parametrize("unit", ["second", "minute", "hour", "day", "month", "year"])
def test_a_window_the_settings_accept_is_one_redis_can_count(limits_on, unit):
    """The longest window of each unit that a notation can write is refused at start, or counted. One
    past what Redis's EXPIRE takes (`1/999999999 years`) failed every request's script instead, and each
    failure opened the breaker: no rate limit, and no cache, for anyone."""
    from reservas.rate_limits import get_rate_limiter
    from reservas.rate_windows import parse_limits
    from reservas.redis_breaker import breaker

    try:
        longest = parse_limits(f"1/999999999 {unit}s")
    except ValueError:
        return  # refused when the settings are read
    limiter = get_rate_limiter()
    assert limiter is not None
    who = uuid.uuid4().hex
    assert limiter.hit(longest, "t", who) is None
    assert limiter.hit(longest, "t", who) is not None
    assert not breaker.open


def test_a_window_has_room_again_once_its_oldest_place_leaves_it(limits_on, monkeypatch):
    from reservas import rate_limits, rate_windows

    now = [1_000_000.0]
    monkeypatch.setattr(rate_limits, "time", SimpleNamespace(time=lambda: now[0]))
    limiter = rate_limits.get_rate_limiter()
    assert limiter is not None
    limits, who = rate_windows.parse_limits("2/minute;10/hour"), uuid.uuid4().hex

    def at(seconds: float) -> int | None:
        now[0] = 1_000_000.0 + seconds
        return limiter.hit(limits, "edge", who)

    assert [at(0), at(30)] == [None, None]
    assert at(59.5) == 1  # the first place leaves the minute at 60
    assert at(60) == 1  # a place counts until the end of its minute, inclusive
    assert at(60.01) is None
    assert at(89.99) == 1  # 30's place, until 90
    assert at(90.01) is None


def test_fifty_requests_at_once_get_exactly_the_limit(limits_on):
    import threading

    from fastapi.testclient import TestClient

    from reservas.cache import get_redis
    from tests.support import function_module

    limits_on(rate_limit_default="20/minute;1000/hour")
    address = f"198.18.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    statuses: list[int] = []
    start = threading.Barrier(50)

    def call() -> None:
        client = TestClient(function_module("users").app, client=(address, 40000))
        start.wait()
        statuses.append(client.get("/users/me").status_code)

    threads = [threading.Thread(target=call) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [401] * 20 + [429] * 30
    redis = get_redis()
    assert redis is not None
    hour = redis.keys(f"LIMITS:{{api/{address}}}:*/1000/1/hour")
    assert len(hour) == 1 and redis.llen(hour[0]) == 20  # the refused took no place in the hour


def test_the_limits_count_when_redis_forgot_their_script(limits_on):
    """Redis restarted, or its scripts flushed: the script is loaded again, and counts as before."""
    from reservas.cache import get_redis

    limits_on(rate_limit_default="1/minute")
    me = http_event("GET", "/users/me", source_ip=f"198.51.100.{uuid.uuid4().int % 250}")
    assert invoke("users", me)[0] == 401
    redis = get_redis()
    assert redis is not None
    redis.script_flush()
    assert invoke("users", me)[0] == 429


def test_a_redis_error_lets_requests_through_and_the_limits_resume_after_the_pause(limits_on, caplog):
    """A Lambda instance reused after a Redis error: the request passed, Redis was left alone for a
    while, and then the same client counts again."""
    from reservas.cache import get_redis
    from reservas.redis_breaker import breaker

    limits_on(rate_limit_default="1/minute")
    address = f"198.51.100.{uuid.uuid4().int % 250}"
    me = http_event("GET", "/users/me", source_ip=address)
    redis = get_redis()
    assert redis is not None
    window = f"LIMITS:{{api/{address}}}:LIMITER/api/{address}/1/1/minute"
    redis.set(window, "not a list")  # the script fails on it: WRONGTYPE
    assert [invoke("users", me)[0] for _ in range(3)] == [401, 401, 401]
    assert breaker.open and "rate limits off for a while: Redis failed" in caplog.text
    redis.delete(window)
    breaker.reset()  # the pause is over
    assert [invoke("users", me)[0] for _ in range(2)] == [401, 429]
