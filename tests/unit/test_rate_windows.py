"""Rate limits as operators write them in the settings."""

import pytest
from pydantic import ValidationError

from reservas.rate_windows import Window, parse_limits
from reservas.settings import Settings


@pytest.mark.parametrize(
    ("notation", "windows"),
    [
        ("10/minute;5/second", [(10, 60), (5, 1)]),
        ("5 per 15 minutes", [(5, 900)]),
        ("1/2 hours, 100 PER Day", [(1, 7200), (100, 86_400)]),
        (" 3 / month | 4/year ", [(3, 2_592_000), (4, 31_104_000)]),
        ("1/100 years", [(1, 3_110_400_000)]),
        ("1200/minute;100/second", [(1200, 60), (100, 1)]),
    ],
)
def test_the_notation_reads_as_the_limits_library_read_it(notation, windows):
    assert [(window.amount, window.seconds) for window in parse_limits(notation)] == windows


@pytest.mark.parametrize(
    "notation",
    [
        "",
        "10",
        "10/minute;",
        "10/fortnight",
        "10/s",
        "0/minute",
        "10/0 minutes",
        "-1/minute",
        "1" * 5000 + "/minute",
        "10/minute\x00",
        "ten/minute",
        "1/101 years",
        "1/999999999 years",
    ],
)
def test_anything_else_is_refused_with_the_part_that_is_wrong(notation):
    with pytest.raises(ValueError, match="rate limit"):
        parse_limits(notation)


def test_a_window_keeps_the_redis_key_it_had_under_the_limits_library():
    """Windows counted before a deploy still count after it."""
    assert Window(10, 1, "minute").key_for("auth", "10.0.0.1") == "LIMITER/auth/10.0.0.1/10/1/minute"
    assert parse_limits("5 per 15 minutes")[0].key_for("login-attempts", "a@example.org") == (
        "LIMITER/login-attempts/a@example.org/5/15/minute"
    )


def test_a_deployment_with_an_unreadable_limit_fails_at_start_naming_it(monkeypatch):
    monkeypatch.setenv("RESERVAS_RATE_LIMIT_AUTH", "10/fortnight")
    with pytest.raises(ValidationError, match="10/fortnight"):
        Settings.from_environment()
