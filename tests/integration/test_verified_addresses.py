"""Verified addresses: registration sends a link and nothing else, signing in waits for it, a password is
reset by a single-use link, and nothing tells anyone whether an address has an account. Mail goes through
the notifier function to Amazon SES (moto), driven by the events the requests write."""

from __future__ import annotations

import email
import email.policy
import json
import re
import threading
import uuid

import pytest
from sqlalchemy import text

from devtools.apigw import ROOT
from tests.conftest import reset_caches
from tests.integration.conftest import SENDER, bearer
from tests.support import STRONG_PASSWORD

NEW_PASSWORD = "Another-Horse-77"


def token_in(message: email.message.Message) -> str:
    return re.search(r"token=([A-Za-z0-9_-]+)", message.get_payload(decode=True).decode()).group(1)


def _register(client_for, address: str, password: str = STRONG_PASSWORD, name: str = "Vera", **extra):
    return client_for("auth").post(
        "/auth/register", json={"email": address, "password": password, "name": name, **extra}
    )


def test_registration_sends_one_link_and_signing_in_waits_for_it(client_for, mailbox):
    auth = client_for("auth")
    registered = _register(client_for, "vera@example.com")
    assert registered.status_code == 202
    assert "access_token" not in registered.json()
    assert mailbox.deliver() == 1
    [link] = mailbox.messages("vera@example.com")
    assert link["From"] == SENDER and "Verify" in link["Subject"]
    assert "https://rooms.example.org/verify?token=" in link.get_payload(decode=True).decode()

    # Not verified: signing in is refused as a wrong password is (anyone may have registered it).
    early = auth.post("/auth/login", json={"email": "vera@example.com", "password": STRONG_PASSWORD})
    wrong = auth.post("/auth/login", json={"email": "vera@example.com", "password": "Wrong-123456"})
    assert (early.status_code, early.json()) == (wrong.status_code, wrong.json()) == (401, wrong.json())
    assert "not verified" in early.json()["detail"]
    assert (
        auth.post("/auth/login", json={"email": "vera@example.com", "password": "Wrong-123456"}).status_code
        == 401
    )
    # Nothing else is sent to an address nobody verified.
    assert auth.post("/auth/password-reset", json={"email": "vera@example.com"}).status_code == 202
    assert mailbox.deliver() == 0

    token = token_in(link)
    wrong = auth.post("/auth/verify", json={"token": token, "password": "Wrong-123456"})
    assert wrong.status_code == 401
    verified = auth.post("/auth/verify", json={"token": token, "password": STRONG_PASSWORD})
    assert verified.status_code == 200, verified.text
    assert verified.json()["user"]["email_verified_at"] is not None
    me = client_for("users").get("/users/me", headers=bearer(verified.json()["access_token"]))
    assert me.status_code == 200
    assert auth.post("/auth/verify", json={"token": token, "password": STRONG_PASSWORD}).status_code == 400
    assert (
        auth.post("/auth/login", json={"email": "vera@example.com", "password": STRONG_PASSWORD}).status_code
        == 200
    )
    assert len(mailbox.messages("vera@example.com")) == 1


def test_registering_a_taken_address_answers_as_a_new_one_and_tells_the_owner(client_for, register, mailbox):
    register("owner@example.com", name="Owner")
    new = _register(client_for, "fresh@example.com")
    taken = _register(client_for, "owner@example.com", password="Intruder-Pass-1", name="Intruder")
    assert (taken.status_code, taken.json()) == (new.status_code, new.json())
    assert {k for k in taken.headers if k != "x-correlation-id"} == {
        k for k in new.headers if k != "x-correlation-id"
    }
    mailbox.deliver()
    [notice] = mailbox.messages("owner@example.com")
    assert (
        "tried to register" in notice["Subject"] and "token=" not in notice.get_payload(decode=True).decode()
    )
    auth = client_for("auth")
    assert (
        auth.post(
            "/auth/login", json={"email": "owner@example.com", "password": "Intruder-Pass-1"}
        ).status_code
        == 401
    )
    assert (
        auth.post("/auth/login", json={"email": "owner@example.com", "password": STRONG_PASSWORD}).status_code
        == 200
    )


def test_someone_registering_your_address_first_cannot_take_it(client_for, mailbox):
    """An address nobody verified belongs to no one: each registration gets a link of its own, carrying
    its password; both go to the owner's inbox, and only the owner's own works with the owner's password.
    The intruder has neither link; the owner cannot be made to verify the intruder's registration."""
    _register(client_for, "victim@example.com", password="Intruder-Pass-1", name="Intruder")
    _register(client_for, "victim@example.com", password=STRONG_PASSWORD, name="Victim")
    mailbox.deliver()
    intruders, owners = mailbox.messages("victim@example.com")
    auth = client_for("auth")
    tricked = auth.post("/auth/verify", json={"token": token_in(intruders), "password": STRONG_PASSWORD})
    assert tricked.status_code == 401
    assert (
        auth.post(
            "/auth/login", json={"email": "victim@example.com", "password": "Intruder-Pass-1"}
        ).status_code
        == 401
    )
    verified = auth.post("/auth/verify", json={"token": token_in(owners), "password": STRONG_PASSWORD})
    assert verified.status_code == 200 and verified.json()["user"]["name"] == "Victim"
    assert (
        auth.post(
            "/auth/login", json={"email": "victim@example.com", "password": "Intruder-Pass-1"}
        ).status_code
        == 401
    )
    spent = auth.post("/auth/verify", json={"token": token_in(intruders), "password": "Intruder-Pass-1"})
    assert spent.status_code == 400  # verifying spends every other link of the address


def test_a_reset_link_works_once_and_ends_every_session(client_for, register, mailbox):
    person = register("reset@example.com")
    auth = client_for("auth")
    unknown = auth.post("/auth/password-reset", json={"email": "nobody@example.com"})
    known = auth.post("/auth/password-reset", json={"email": "reset@example.com"})
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json()) == (202, known.json())
    assert mailbox.deliver() == 1
    [link] = mailbox.messages("reset@example.com")
    token = token_in(link)
    assert "https://rooms.example.org/reset-password?token=" in link.get_payload(decode=True).decode()

    too_short = auth.post("/auth/password-reset/confirm", json={"token": token, "password": "short"})
    assert too_short.status_code == 422
    done = auth.post("/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD})
    assert done.status_code == 204
    assert client_for("users").get("/users/me", headers=bearer(person["access_token"])).status_code == 401
    assert auth.post("/auth/refresh", json={"refresh_token": person["refresh_token"]}).status_code == 401
    again = auth.post("/auth/password-reset/confirm", json={"token": token, "password": "Third-Horse-99"})
    assert again.status_code == 400 and again.json()["title"] == "Invalid link"
    assert (
        auth.post("/auth/login", json={"email": "reset@example.com", "password": STRONG_PASSWORD}).status_code
        == 401
    )
    assert (
        auth.post("/auth/login", json={"email": "reset@example.com", "password": NEW_PASSWORD}).status_code
        == 200
    )


def test_an_expired_or_forged_link_does_nothing(client_for, register, mailbox, engine):
    register("late@example.com")
    auth = client_for("auth")
    auth.post("/auth/password-reset", json={"email": "late@example.com"})
    mailbox.deliver()
    token = token_in(mailbox.messages("late@example.com")[0])
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE expires_at IS NOT NULL"
            )
        )
    for forged in (token, token[:-1] + ("A" if token[-1] != "A" else "B"), "x" * 200, "\x00"):
        answer = auth.post("/auth/password-reset/confirm", json={"token": forged, "password": NEW_PASSWORD})
        assert answer.status_code in (400, 422), forged
        assert answer.headers["content-type"] == "application/problem+json"
    assert (
        auth.post("/auth/login", json={"email": "late@example.com", "password": STRONG_PASSWORD}).status_code
        == 200
    )


def test_an_event_delivered_twice_or_at_once_sends_one_message(client_for, mailbox):
    _register(client_for, "twice@example.com")
    [event] = [e for e in mailbox.events() if e["detail-type"] == "VerificationRequested"]
    # EventBridge redelivers with another envelope id: the outbox event's own id decides.
    copies = [{**event, "id": str(uuid.uuid4())} for _ in range(4)]
    barrier = threading.Barrier(len(copies))
    sent: list[int] = []

    def deliver(copy):
        barrier.wait()
        sent.append(mailbox.deliver(copy))

    threads = [threading.Thread(target=deliver, args=(copy,)) for copy in copies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(sent) == [0, 0, 0, 1]
    assert mailbox.deliver(event) == 0
    assert len(mailbox.messages("twice@example.com")) == 1


def test_nobody_can_flood_an_inbox(client_for, register, mailbox):
    for _ in range(6):
        _register(client_for, "flooded@example.com")
    register("owner@example.com")
    for _ in range(6):
        _register(client_for, "owner@example.com")
        client_for("auth").post("/auth/password-reset", json={"email": "owner@example.com"})
    mailbox.deliver()
    assert len(mailbox.messages("flooded@example.com")) == 3
    kinds = [m["Subject"] for m in mailbox.messages("owner@example.com")]
    assert len([s for s in kinds if "tried to register" in s]) == 3
    assert len([s for s in kinds if "new password" in s]) == 3


def test_a_message_ses_refuses_is_sent_when_delivered_again(client_for, mailbox, monkeypatch):
    _register(client_for, "retry@example.com")
    [event] = [e for e in mailbox.events() if e["detail-type"] == "VerificationRequested"]
    monkeypatch.setenv("RESERVAS_MAIL_FROM", "unverified-sender@example.net")  # SES rejects it
    reset_caches()
    with pytest.raises(Exception, match=r"not verified|MessageRejected"):
        mailbox.deliver(event)
    monkeypatch.setenv("RESERVAS_MAIL_FROM", SENDER)
    reset_caches()
    assert mailbox.deliver(event) == 1  # EventBridge's retry
    [link] = mailbox.messages("retry@example.com")
    verified = client_for("auth").post(
        "/auth/verify", json={"token": token_in(link), "password": STRONG_PASSWORD}
    )
    assert verified.status_code == 200


def test_messages_speak_the_persons_language(client_for, mailbox):
    _register(client_for, "lucia@example.com", name="Lucía", locale="es")
    mailbox.deliver()
    [link] = mailbox.messages("lucia@example.com")
    assert link["Subject"] == "Verifica tu dirección en Reservas"
    assert "Hola, Lucía" in link.get_payload(decode=True).decode()
    assert _register(client_for, "x@example.com", locale="fr").status_code == 422


def test_the_notifier_rule_in_the_template_routes_the_account_events(mailbox):
    from samcli.yamlhelper import yaml_parse

    from devtools.local_events import matches

    rule = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]["NotifierFunction"]["Properties"][
        "Events"
    ]["MailCalledFor"]["Properties"]["Pattern"]
    for event_type in ("VerificationRequested", "AddressAlreadyRegistered", "PasswordResetRequested"):
        assert matches(rule, {"source": "reservas", "detail-type": event_type, "detail": {}})
    assert not matches(rule, {"source": "reservas", "detail-type": "ReservationCheckedIn", "detail": {}})
    assert json.dumps(rule)
