"""RFC 8725 in practice: every forged, stale or misused token is a 401 problem, on every function."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from reservas.errors import PROBLEM_JSON
from tests.conftest import TEST_JWT_KEY
from tests.integration.conftest import bearer


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(registered: dict, **override) -> dict:
    genuine = jwt.decode(registered["access_token"], options={"verify_signature": False})
    return {**genuine, **override}


def _sign(claims: dict, key=TEST_JWT_KEY, algorithm="HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def _forgeries(registered: dict) -> dict[str, str]:
    now = datetime.now(UTC)
    past = now - timedelta(hours=2)
    header, payload, signature = registered["access_token"].split(".")
    tampered = json.loads(base64.urlsafe_b64decode(payload + "=="))
    tampered["role"] = "admin"
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(registered))}.",
        "alg none, signature kept": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.{signature}",
        "HS512 with the right key": _sign(_claims(registered), algorithm="HS512"),
        "RS256": _sign(_claims(registered), key=rsa_key, algorithm="RS256"),
        "wrong key": _sign(_claims(registered), key="an-attackers-key-long-enough-to-look-real-0123"),
        "tampered payload": f"{header}.{_b64(tampered)}.{signature}",
        "expired": _sign(_claims(registered, iat=past, nbf=past, exp=past + timedelta(minutes=15))),
        "not yet valid": _sign(_claims(registered, nbf=now + timedelta(minutes=10))),
        "wrong audience": _sign(_claims(registered, aud="another-api")),
        "wrong issuer": _sign(_claims(registered, iss="https://evil.example.com")),
        "refresh type": _sign(_claims(registered, typ="refresh")),
        "no session id": _sign({k: v for k, v in _claims(registered).items() if k != "sid"}),
        "someone else's session": _sign(_claims(registered, sid=str(uuid.uuid4()))),
        "opaque refresh token as bearer": registered["refresh_token"],
        "empty": "",
        "garbage": "not.a.jwt",
    }


def _assert_401(response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


@pytest.mark.parametrize(
    "attack",
    [
        "alg none",
        "alg none, signature kept",
        "HS512 with the right key",
        "RS256",
        "wrong key",
        "tampered payload",
        "expired",
        "not yet valid",
        "wrong audience",
        "wrong issuer",
        "refresh type",
        "no session id",
        "someone else's session",
        "opaque refresh token as bearer",
        "empty",
        "garbage",
    ],
)
def test_forged_and_misused_tokens_are_refused(register, client_for, attack):
    registered = register()
    token = _forgeries(registered)[attack]
    _assert_401(client_for("users").get("/users/me", headers=bearer(token)))
    if token:  # an empty token is not a token at all: /auth/validate answers that with a 422
        _assert_401(client_for("auth").post("/auth/validate", json={"token": token}))
    assert client_for("users").get("/users/me", headers=bearer(registered["access_token"])).status_code == 200


def test_a_signed_out_token_is_refused_by_every_function(register, client_for):
    registered = register()
    token = registered["access_token"]
    logout = client_for("auth").post(
        "/auth/logout", json={"refresh_token": registered["refresh_token"]}, headers=bearer(token)
    )
    assert logout.status_code == 204
    _assert_401(client_for("users").get("/users/me", headers=bearer(token)))
    _assert_401(client_for("auth").post("/auth/validate", json={"token": token}))
    _assert_401(client_for("auth").post("/auth/logout", json={"refresh_token": "x"}, headers=bearer(token)))


def test_tokens_signed_with_the_previous_key_pass_during_a_rotation(register, client_for, monkeypatch):
    from tests.conftest import reset_caches

    old_token = register()["access_token"]
    monkeypatch.setenv("RESERVAS_JWT_SECRET", "the-new-signing-key-after-rotation-0123456789")
    monkeypatch.setenv("RESERVAS_JWT_PREVIOUS_SECRET", TEST_JWT_KEY)
    reset_caches()
    try:
        assert client_for("users").get("/users/me", headers=bearer(old_token)).status_code == 200
        new_token = (
            client_for("auth")
            .post("/auth/login", json={"email": "ana@example.com", "password": "Correct-Horse-9"})
            .json()["access_token"]
        )
        jwt.decode(
            new_token,
            "the-new-signing-key-after-rotation-0123456789",
            algorithms=["HS256"],
            audience="reservas-api",
        )
        monkeypatch.delenv("RESERVAS_JWT_PREVIOUS_SECRET")
        reset_caches()
        _assert_401(client_for("users").get("/users/me", headers=bearer(old_token)))
        assert client_for("users").get("/users/me", headers=bearer(new_token)).status_code == 200
    finally:
        monkeypatch.undo()
        reset_caches()


def test_validate_returns_the_claims_of_a_live_token(register, client_for):
    registered = register()
    response = client_for("auth").post("/auth/validate", json={"token": registered["access_token"]})
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is True
    assert body["claims"]["sub"] == registered["user"]["id"]
    assert body["claims"]["typ"] == "access"
