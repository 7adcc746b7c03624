"""Rate limits, counted in the real Redis and shared by every function, as API Gateway events show them."""

from __future__ import annotations

import time

import pytest

from reservas.errors import PROBLEM_JSON
from tests.conftest import reset_caches
from tests.support import STRONG_PASSWORD, http_event, invoke


@pytest.fixture
def limits_on(engine, monkeypatch):
    def configure(**settings: str) -> None:
        monkeypatch.setenv("RESERVAS_RATE_LIMITS_ENABLED", "true")
        for name, value in settings.items():
            monkeypatch.setenv(f"RESERVAS_{name.upper()}", value)
        reset_caches()

    configure()
    yield configure
    monkeypatch.undo()
    reset_caches()


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


def test_failed_logins_lock_the_account_for_a_while_from_any_address(limits_on, register):
    register()
    for n in range(5):
        assert login(f"203.0.113.{n}", email="ana@example.com")[0] == 401
    status, headers, body = login("203.0.113.99", email="ana@example.com", password=STRONG_PASSWORD)
    assert status == 429
    assert int(headers["retry-after"]) > 60
    assert "failed sign-ins" in body["detail"]
    # Unknown accounts are locked the same way, so the lock tells nothing about who has an account.
    for n in range(5):
        login(f"203.0.113.{n}", email="ghost@example.com")
    assert login("203.0.113.99", email="ghost@example.com")[0] == 429


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
