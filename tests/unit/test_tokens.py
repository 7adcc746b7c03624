"""Access tokens: what they carry, and the forgeries they refuse."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from reservas.tokens import (
    InvalidToken,
    hash_refresh_token,
    issue_access_token,
    new_refresh_token,
    verify_access_token,
)
from tests.conftest import TEST_JWT_KEY

USER = uuid.UUID("6e28c2d1-56fa-4541-ac47-31027d56cbe1")
SESSION = uuid.UUID("0b7a3c56-4b53-4c0e-9a55-3d9c1a2b7e10")


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_claims_round_trip():
    token = issue_access_token(USER, "ana@example.com", "admin", SESSION)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) >= {"sub", "email", "role", "iat", "nbf", "exp", "iss", "aud", "jti", "typ", "sid"}
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    verified = verify_access_token(token)
    assert (verified.user_id, verified.email, verified.role) == (USER, "ana@example.com", "admin")
    assert verified.session_id == SESSION
    assert timedelta(minutes=14) < verified.expires_at - datetime.now(UTC) <= timedelta(minutes=15)


def test_every_token_has_its_own_id():
    assert (
        verify_access_token(issue_access_token(USER, "a@b.c", "user", SESSION)).jti
        != verify_access_token(issue_access_token(USER, "a@b.c", "user", SESSION)).jti
    )


def test_alg_none_is_refused():
    claims = jwt.decode(
        issue_access_token(USER, "a@b.c", "user", SESSION), options={"verify_signature": False}
    )
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    with pytest.raises(InvalidToken):
        verify_access_token(unsigned)


def test_a_tampered_payload_is_refused():
    header, payload, signature = issue_access_token(USER, "a@b.c", "user", SESSION).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    with pytest.raises(InvalidToken):
        verify_access_token(f"{header}.{_b64(claims)}.{signature}")


def test_a_token_from_the_past_has_expired():
    token = issue_access_token(USER, "a@b.c", "user", SESSION, now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(InvalidToken, match="expired"):
        verify_access_token(token)


def test_a_token_not_yet_valid_is_refused():
    token = issue_access_token(USER, "a@b.c", "user", SESSION, now=datetime.now(UTC) + timedelta(minutes=5))
    with pytest.raises(InvalidToken):
        verify_access_token(token)


def test_missing_claims_are_refused():
    now = datetime.now(UTC)
    token = jwt.encode(
        {"sub": str(USER), "exp": now + timedelta(minutes=5), "iss": "reservas", "aud": "reservas-api"},
        TEST_JWT_KEY,
        algorithm="HS256",
    )
    with pytest.raises(InvalidToken):
        verify_access_token(token)


def test_refresh_tokens_are_random_and_stored_as_hashes():
    token, stored = new_refresh_token()
    assert len(token) >= 43 and token.encode() not in stored
    assert stored == hash_refresh_token(token)
    assert new_refresh_token()[0] != token
