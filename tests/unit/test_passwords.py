"""The password rules people are told about, and hashing that never truncates silently."""

import pytest

from reservas.passwords import hash_password, password_problems, verify_password


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Short1", "at least 8 characters"),
        ("A1" + "a" * 99, "at most 100 characters"),
        ("A1" + "ñ" * 40, "at most 72 bytes"),
        ("nocapitals123", "uppercase letter"),
        ("NoDigitsAtAll", "digit"),
    ],
)
def test_each_broken_rule_is_named(password, problem):
    assert any(problem in p for p in password_problems(password))


def test_an_acceptable_password_has_no_problems():
    assert password_problems("Correct-Horse-9") == []
    assert password_problems("A1" + "a" * 70) == []  # exactly 72 bytes


def test_hashes_verify_and_differ_per_salt():
    first, second = hash_password("Correct-Horse-9"), hash_password("Correct-Horse-9")
    assert first != second
    assert verify_password("Correct-Horse-9", first)
    assert not verify_password("Correct-Horse-8", first)


def test_passwords_over_72_bytes_never_verify():
    stored = hash_password("A1" + "a" * 70)
    assert not verify_password("A1" + "a" * 70 + "extra", stored)
