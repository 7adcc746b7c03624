"""Addresses people prove are theirs: registering, verifying, resetting a password.

An account signs in only once its address is verified: a link sent to it, confirmed with the password,
proves both. Nothing here tells whether an address has an account: registering a taken address and
asking to reset an unknown one answer like any other; the owner of a taken address is told by email.
Links are single-use and expire; the notifier makes each token as it sends it and keeps only its hash
(`issue`), at most `account_mails_per_hour` of a kind per person, whoever asks."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from typing import Literal

from sqlalchemy import Connection, and_, delete, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from reservas import events
from reservas.accounts import repository, service
from reservas.accounts.requests import (
    PasswordReset,
    PasswordResetRequest,
    RegisterRequest,
    TokenPair,
    VerifyRequest,
)
from reservas.errors import Conflict, Problem, Unauthorized
from reservas.passwords import hash_password
from reservas.settings import get_settings
from reservas.tables import account_tokens, calendar_feeds, users
from reservas.tokens import hash_refresh_token as hash_token

Purpose = Literal["verify", "reset"]
LINK_FAILED = "This link is not valid, was already used or has expired; ask for a new one."
VERIFY_FAILED = "The link or the password is not right."


class InvalidLink(Problem):
    status = 400
    title = "Invalid link"


def register(db: Connection, request: RegisterRequest) -> None:
    """A new account waits for its address to be verified. An address nobody has verified yet belongs to
    no one: each registration of it gets a link of its own, carrying its password, name and language,
    which the account takes when that link is confirmed with that password. A verified address is not
    touched; its owner is told."""
    password_hash = hash_password(request.password)
    preferences = {"locale": request.locale} if request.locale else {}
    row = repository.insert_user(
        db, email=request.email, password_hash=password_hash, name=request.name, preferences=preferences
    )
    if row is None:
        row = repository.find_user_with_hash(db, request.email)
        if row is None:  # the account left in between: nothing to tell anyone
            db.commit()
            return
        if row["email_verified_at"] is not None:
            events.record(db, events.ADDRESS_ALREADY_REGISTERED, row["id"], {"user_id": str(row["id"])})
            db.commit()
            return
    registration = {"password_hash": password_hash, "name": request.name, "locale": request.locale}
    _ask(db, row["id"], "verify", request.email, events.VERIFICATION_REQUESTED, **registration)
    db.commit()


def verify(db: Connection, request: VerifyRequest, client_address: str) -> TokenPair:
    """Confirm the link with its password: the address is verified (or the account's address becomes
    the one the link was sent to) and the person is signed in."""
    user, token = _holder_and_link(db, request.token, "verify")
    password_hash = token["password_hash"]
    if service.authenticate(db, user["email"], request.password, client_address, password_hash) is None:
        raise Unauthorized(VERIFY_FAILED, title="Verification failed")
    _spend(db, user["id"], "verify")
    values: dict[str, object] = {"email_verified_at": func.now()}
    if password_hash is not None:  # a registration: the account is the one it asked for
        locale = token["locale"]
        values |= {
            "password_hash": password_hash,
            "name": token["name"],
            "preferences": {"locale": locale} if locale else {},
        }
    if token["email"] != user["email"]:  # an address change: what names the old address ends
        values["email"] = token["email"]
        _free(db, token["email"])
        _spend(db, user["id"], "reset")
        service.end_sessions(db, user["id"], reason="email-changed", keep=token["session_id"])
    try:
        with db.begin_nested():
            verified = repository.update_user(db, user["id"], values)
    except IntegrityError:
        raise Conflict("Another account has verified this address meanwhile.", title="Email taken") from None
    assert verified is not None
    pair = service.start_session(db, verified)
    db.commit()
    return pair


def request_password_reset(db: Connection, request: PasswordResetRequest) -> None:
    """Send a reset link if the address has a verified account (an address nobody verified receives
    nothing but its verification links); the same answer either way."""
    row = repository.find_user_with_hash(db, request.email)
    if row is not None and row["email_verified_at"] is not None:
        _ask(db, row["id"], "reset", row["email"], events.PASSWORD_RESET_REQUESTED)
    db.commit()


def reset_password(db: Connection, request: PasswordReset) -> None:
    """A new password from a reset link sent to the account's current address: every session ends, and
    the calendar feed's URL stops working (a reset is how someone takes their account back)."""
    user, token = _holder_and_link(db, request.token, "reset")
    if token["email"] != user["email"]:  # sent to an address the account has left
        raise InvalidLink(LINK_FAILED)
    _spend(db, user["id"], "reset")
    repository.update_user(
        db,
        user["id"],
        {
            "password_hash": hash_password(request.password),
            "email_verified_at": func.coalesce(users.c.email_verified_at, func.now()),
        },
    )
    service.end_sessions(db, user["id"], reason="password-reset")
    db.execute(
        delete(calendar_feeds).where(calendar_feeds.c.user_id == user["id"])
    )  # its URL may have leaked too
    db.commit()


def _holder_and_link(db: Connection, token: str, purpose: Purpose) -> tuple[RowMapping, RowMapping]:
    """The person a usable link is theirs, and the link, both locked: the person first, as every change
    of a person's links takes them, so that two of their links confirmed at once take turns."""
    found = _usable(db, token, purpose, lock=False)
    user = None if found is None else repository.find_user_by_id(db, found["user_id"], lock=True)
    link = None if user is None else _usable(db, token, purpose, lock=True)
    if user is None or link is None:
        raise InvalidLink(LINK_FAILED)
    return user, link


def ask_to_change_address(db: Connection, user_id: uuid.UUID, email: str, session_id: uuid.UUID) -> None:
    """A person's new address counts once the link sent to it is confirmed (`verify`). An address that
    is another person's verified one is not told apart: its owner gets a notice instead of a link."""
    holder = repository.find_user_with_hash(db, email)
    if holder is not None and holder["email_verified_at"] is not None:
        if holder["id"] != user_id:
            events.record(db, events.ADDRESS_ALREADY_REGISTERED, holder["id"], {"user_id": str(holder["id"])})
        return
    _ask(db, user_id, "verify", email, events.VERIFICATION_REQUESTED, session_id=session_id)


def issue(db: Connection, token_id: uuid.UUID) -> tuple[RowMapping, str] | None:
    """The notifier's part: make the token of a link it is about to send (the row and the token), once.
    None when it was made already (an event delivered twice), used, or when the person was sent
    `account_mails_per_hour` of its kind in the last hour (nobody may flood an inbox)."""
    settings = get_settings()
    row = (
        db.execute(select(account_tokens).where(account_tokens.c.id == token_id).with_for_update())
        .mappings()
        .first()
    )
    if row is None or row["token_hash"] is not None or row["used_at"] is not None:
        return None
    if row["purpose"] == "verify" and _verified(db, row["user_id"], row["email"]):
        return None  # verified meanwhile: nothing left to prove
    if row["purpose"] == "reset" and not _verified(db, row["user_id"], row["email"]):
        return None  # the account has left that address (or never proved it)
    sent_lately = db.execute(
        select(func.count()).where(
            account_tokens.c.user_id == row["user_id"],
            account_tokens.c.purpose == row["purpose"],
            account_tokens.c.issued_at > func.now() - timedelta(hours=1),
        )
    ).scalar_one()
    if sent_lately >= settings.account_mails_per_hour:
        return None
    lifetime = (
        timedelta(hours=settings.verification_hours)
        if row["purpose"] == "verify"
        else timedelta(minutes=settings.password_reset_minutes)
    )
    token = secrets.token_urlsafe(32)
    issued = (
        db.execute(
            update(account_tokens)
            .where(account_tokens.c.id == token_id)
            .values(token_hash=hash_token(token), issued_at=func.now(), expires_at=func.now() + lifetime)
            .returning(account_tokens)
        )
        .mappings()
        .one()
    )
    return issued, token


def _verified(db: Connection, user_id: uuid.UUID, email: str) -> bool:
    return (
        db.execute(
            select(users.c.id).where(
                users.c.id == user_id, users.c.email == email, users.c.email_verified_at.is_not(None)
            )
        ).first()
        is not None
    )


def _free(db: Connection, email: str) -> None:
    """An address being proven by someone is taken from whoever registered it without proving it."""
    db.execute(delete(users).where(users.c.email == email, users.c.email_verified_at.is_(None)))


def _ask(
    db: Connection, user_id: uuid.UUID, purpose: Purpose, email: str, event_type: str, **pending: object
) -> None:
    """A link to be sent to `email`; `pending`: what it carries (an address change's session, a
    registration's password, name and language)."""
    token_id = db.execute(
        insert(account_tokens)
        .values(user_id=user_id, purpose=purpose, email=email, **pending)
        .returning(account_tokens.c.id)
    ).scalar_one()
    events.record(db, event_type, user_id, {"user_id": str(user_id), "token_id": str(token_id)})


def _usable(db: Connection, token: str, purpose: Purpose, *, lock: bool) -> RowMapping | None:
    statement = select(account_tokens).where(
        account_tokens.c.token_hash == hash_token(token),
        account_tokens.c.purpose == purpose,
        account_tokens.c.used_at.is_(None),
        account_tokens.c.expires_at > func.now(),
    )
    if lock:
        statement = statement.with_for_update()
    return db.execute(statement).mappings().first()


def _spend(db: Connection, user_id: uuid.UUID, purpose: Purpose) -> None:
    """Every link of this kind the person holds is spent: one use, and older ones die with it."""
    db.execute(
        update(account_tokens)
        .where(
            and_(
                account_tokens.c.user_id == user_id,
                account_tokens.c.purpose == purpose,
                account_tokens.c.used_at.is_(None),
            )
        )
        .values(used_at=func.now())
    )
