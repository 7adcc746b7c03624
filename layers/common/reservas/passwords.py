"""Password hashing with bcrypt and the password rules people are told about."""

from __future__ import annotations

import functools

import bcrypt

from reservas.settings import get_settings

MIN_LENGTH = 8
MAX_LENGTH = 100
# bcrypt reads at most 72 bytes; anything longer would be silently cut, so it is refused instead.
MAX_BYTES = 72


def password_problems(password: str) -> list[str]:
    """Every rule the password breaks, in words a person can act on (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters long")
    elif len(password.encode()) > MAX_BYTES:
        problems.append(
            f"must be at most {MAX_BYTES} bytes in UTF-8 (accented letters and emoji count as 2-4)"
        )
    if not any(c.isupper() for c in password):
        problems.append("must contain an uppercase letter")
    if not any(c.isdigit() for c in password):
        problems.append("must contain a digit")
    if not problems and is_common_password(password):
        problems.append("is one of the most common passwords; choose another")
    return problems


def hash_password(password: str) -> str:
    salt = bcrypt.gensalt(rounds=get_settings().bcrypt_rounds)
    return bcrypt.hashpw(password.encode(), salt).decode()


def verify_password(password: str, password_hash: str) -> bool:
    encoded = password.encode()
    if len(encoded) > MAX_BYTES:
        return False
    return bcrypt.checkpw(encoded, password_hash.encode())


@functools.cache
def _dummy_hash(rounds: int) -> str:
    return bcrypt.hashpw(b"Dummy-password-for-timing-0", bcrypt.gensalt(rounds=rounds)).decode()


def burn_verification_time(password: str) -> None:
    """Spend what a real verification costs, so an unknown account answers as slowly as a known one."""
    verify_password(password, _dummy_hash(get_settings().bcrypt_rounds))


def warm_up() -> None:
    """Build now what the first sign-in or registration would (SnapStart's snapshot keeps it)."""
    _dummy_hash(get_settings().bcrypt_rounds)
    _common_passwords()


def is_common_password(password: str) -> bool:
    """Among the 30,000 most common passwords (zxcvbn's list), whatever the case."""
    return password.lower() in _common_passwords()


@functools.cache
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # loaded on first use, not at cold start

    return frozenset(FREQUENCY_LISTS["passwords"])
