"""An attacker's look at verified addresses (registration, verification, reset, address change, the
notifier). Each test failed on the code before its fix."""

from __future__ import annotations

import threading

from sqlalchemy import select

from reservas.tables import users
from tests.integration.conftest import bearer
from tests.integration.test_verified_addresses import NEW_PASSWORD, _register, token_in
from tests.support import STRONG_PASSWORD, at_once, function_module, link_sent_to

PROBE = "Probe-Password-42"


def test_register_then_login_does_not_tell_whether_an_address_has_an_account(client_for, register, mailbox):
    """Registering sets the password of any address nobody verified; signing in with it then answered
    403 for an address without an account and 401 for one with an account: a perfect oracle."""
    register("taken@example.com")
    auth = client_for("auth")
    answers = {}
    for address in ("taken@example.com", "free@example.com"):
        assert _register(client_for, address, password=PROBE, name="Probe").status_code == 202
        answer = auth.post("/auth/login", json={"email": address, "password": PROBE})
        answers[address] = (answer.status_code, answer.json())
    assert answers["taken@example.com"] == answers["free@example.com"]


def test_a_reset_link_sent_to_the_old_address_dies_with_the_address_change(
    client_for, register, engine, mailbox
):
    """Someone moves their account away from an address (one they lose, or that was compromised): a
    reset link sent to the old address, asked for before the move, still reset the account's password."""
    ana = register("ana@example.com")
    auth = client_for("auth")
    # Anyone may ask; the link goes to the address of the time.
    assert auth.post("/auth/password-reset", json={"email": "ana@example.com"}).status_code == 202
    assert mailbox.deliver() == 1
    [old_link] = mailbox.messages("ana@example.com")
    # Ana moves to a new address and proves it.
    asked = client_for("users").put(
        "/users/me",
        json={"email": "ana@new.example.com", "current_password": STRONG_PASSWORD},
        headers=bearer(ana["access_token"]),
    )
    assert asked.status_code == 200
    token = link_sent_to(engine, "ana@new.example.com")
    moved = auth.post("/auth/verify", json={"token": token, "password": STRONG_PASSWORD})
    assert moved.status_code == 200 and moved.json()["user"]["email"] == "ana@new.example.com"
    # Whoever reads the old inbox now.
    taken = auth.post(
        "/auth/password-reset/confirm", json={"token": token_in(old_link), "password": NEW_PASSWORD}
    )
    assert taken.status_code == 400
    signed_in = auth.post("/auth/login", json={"email": "ana@new.example.com", "password": STRONG_PASSWORD})
    assert signed_in.status_code == 200


def test_a_reset_asked_before_an_address_change_is_not_sent_to_the_old_address(
    client_for, register, engine, mailbox
):
    """The notifier makes the link when it sends it: a reset asked for just before the move went out
    afterwards, to the address the account no longer has."""
    ana = register("ana@example.com")
    auth = client_for("auth")
    auth.post("/auth/password-reset", json={"email": "ana@example.com"})
    client_for("users").put(
        "/users/me",
        json={"email": "ana@new.example.com", "current_password": STRONG_PASSWORD},
        headers=bearer(ana["access_token"]),
    )
    token = link_sent_to(engine, "ana@new.example.com")
    assert auth.post("/auth/verify", json={"token": token, "password": STRONG_PASSWORD}).status_code == 200
    mailbox.deliver()  # the reset event, late
    for message in mailbox.messages("ana@example.com"):
        answer = auth.post(
            "/auth/password-reset/confirm", json={"token": token_in(message), "password": NEW_PASSWORD}
        )
        assert answer.status_code == 400


def _slow_ses(monkeypatch, seconds: float = 0.3) -> None:
    """SES answers in a few hundred milliseconds, as it does from a Lambda function."""
    import time

    from reservas import mail

    real = mail.send

    def send(message):
        real(message)
        time.sleep(seconds)

    monkeypatch.setattr(mail, "send", send)


def _deliver_at_once(events: list[dict]) -> list[int]:
    """The notifier handed each event at once, as Lambda scales out: each invocation in its own
    container, with its own connection (the tests' notifier module shares one pooled connection, which
    would make them take turns) built as the notifier builds it (its time limits, not the API's 1 s
    wait for a lock); how many each sent."""
    from reservas.database import job_engine
    from reservas.notifications.deliver import deliver

    seconds = function_module("notify").SECONDS
    engines = [job_engine.__wrapped__(seconds) for _ in events]
    barrier = threading.Barrier(len(events))
    sent = [0] * len(events)
    failures: list[BaseException] = []

    def run(index, event):
        with engines[index].connect() as db:
            barrier.wait()
            try:
                sent[index] = deliver(db, event["detail-type"], event["detail"])
            except BaseException as error:
                failures.append(error)

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(events)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert not failures, failures
    return sent


def test_concurrent_deliveries_cannot_outrun_the_hourly_cap(client_for, mailbox, monkeypatch):
    """The cap counted the links already made, without taking turns per person: ten events delivered
    at once (as EventBridge does, Lambda scaling out) all sent."""
    _slow_ses(monkeypatch)
    for _ in range(10):
        _register(client_for, "flooded@example.com")
    events = [e for e in mailbox.events() if e["detail-type"] == "VerificationRequested"]
    assert len(events) == 10
    _deliver_at_once(events)
    assert len(mailbox.messages("flooded@example.com")) <= 3


def test_concurrent_notices_cannot_outrun_the_hourly_cap(client_for, register, mailbox, monkeypatch):
    _slow_ses(monkeypatch)
    register("owner@example.com")
    for _ in range(10):
        _register(client_for, "owner@example.com", password="Intruder-Pass-1")
    events = [e for e in mailbox.events() if e["detail-type"] == "AddressAlreadyRegistered"]
    _deliver_at_once(events)
    assert len(mailbox.messages("owner@example.com")) <= 3


def test_two_links_of_one_person_confirmed_at_once_is_no_server_error(client_for, mailbox):
    """Each verify locks its own link, then the person, then spends every link of the person: two
    links confirmed together deadlock (one of them a 500 or 503)."""
    auth = client_for("auth")
    outcomes = []
    for attempt in range(10):
        address = f"twolinks{attempt}@example.com"
        _register(client_for, address)
        _register(client_for, address)
        mailbox.deliver()
        first, second = mailbox.messages(address)
        answers = at_once(
            lambda first=first: auth.post(
                "/auth/verify", json={"token": token_in(first), "password": STRONG_PASSWORD}
            ),
            lambda second=second: auth.post(
                "/auth/verify", json={"token": token_in(second), "password": STRONG_PASSWORD}
            ),
        )
        outcomes.append(sorted(a.status_code for a in answers))
    assert all(codes == [200, 400] for codes in outcomes), outcomes


def test_re_registering_someone_elses_pending_address_cannot_stop_them_verifying(client_for, mailbox):
    """An address nobody verified 'belongs to no one': an intruder registering it again replaced the
    password after the owner registered, so the owner's own link refused the owner's own password, as
    often as the intruder repeats it (10 a minute per client address)."""
    _register(client_for, "victim@example.com", password=STRONG_PASSWORD, name="Victim")
    mailbox.deliver()
    [link] = mailbox.messages("victim@example.com")
    _register(client_for, "victim@example.com", password="Intruder-Pass-1", name="Intruder")
    verified = client_for("auth").post(
        "/auth/verify", json={"token": token_in(link), "password": STRONG_PASSWORD}
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["user"]["name"] == "Victim"


def test_a_registration_of_an_unverified_address_speaks_its_own_language(client_for, mailbox, engine):
    """Registering an unverified address again kept the intruder's preferences (the language of every
    mail the owner gets). Each registration's link now speaks its own name and language, and the account
    takes those of the registration whose link is confirmed."""
    _register(client_for, "vera@example.com", password="Intruder-Pass-1", name="Intruder", locale="es")
    _register(client_for, "vera@example.com", password=STRONG_PASSWORD, name="Vera")
    mailbox.deliver()
    intruders, owners = mailbox.messages("vera@example.com")
    assert intruders["Subject"] == "Verifica tu dirección en Reservas"
    assert owners["Subject"] == "Verify your address for Reservas" and "Hello Vera" in owners.get_content()
    verified = client_for("auth").post(
        "/auth/verify", json={"token": token_in(owners), "password": STRONG_PASSWORD}
    )
    assert verified.status_code == 200
    with engine.connect() as connection:
        preferences = connection.execute(
            select(users.c.preferences).where(users.c.email == "vera@example.com")
        ).scalar_one()
    assert preferences.get("locale") in (None, "en")


def test_an_international_domain_is_mailed_to_its_ascii_form(client_for, mailbox, monkeypatch):
    """SES takes only 7-bit addresses (Punycode domains); the address was stored and sent to as
    Unicode, and the To header carried RFC 2047 words inside the address."""
    from reservas import mail

    sent: list[dict] = []

    class FakeSes:
        cache_clear = staticmethod(lambda: None)

        def send_raw_email(self, **kwargs):
            sent.append(kwargs)

    fake = FakeSes()
    monkeypatch.setattr(mail, "_ses", lambda: fake)
    mail._ses.cache_clear = lambda: None
    assert _register(client_for, "vera@xn--bcher-kva.de").status_code == 202
    assert mailbox.deliver() == 1
    [call] = sent
    assert call["Destinations"] == ["vera@xn--bcher-kva.de"]
    assert b"=?utf-8?" not in call["RawMessage"]["Data"].split(b"\n\n")[0].split(b"To:")[1].split(b"\n")[0]


def test_the_notifier_on_a_person_who_left_meanwhile_sends_nothing_and_does_not_fail(
    client_for, register, mailbox
):
    """The claim (a row of `deliveries`, which references the user) was written before the user was
    looked up: an event of someone who left (or a squatter freed by the owner proving the address)
    failed with a foreign-key violation on every delivery, EventBridge retrying it for a day."""
    ana = register("leaving@example.com")
    auth = client_for("auth")
    assert auth.post("/auth/password-reset", json={"email": "leaving@example.com"}).status_code == 202
    left = client_for("users").request(
        "DELETE", "/users/me", json={"current_password": STRONG_PASSWORD}, headers=bearer(ana["access_token"])
    )
    assert left.status_code == 204
    assert mailbox.deliver() == 0
    assert mailbox.messages("leaving@example.com") == []
