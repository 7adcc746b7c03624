"""The rules of a user's own profile, and of admins looking users up."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection

from reservas import audit
from reservas.accounts import repository, service, verification
from reservas.accounts.requests import UpdateMeRequest
from reservas.accounts.schemas import Role, User
from reservas.database import present
from reservas.errors import Conflict, Forbidden, NotFound
from reservas.pagination import Page, keyset, page
from reservas.passwords import hash_password
from reservas.timestamps import parse_instant


def update_me(
    db: Connection, user: User, request: UpdateMeRequest, *, session_id: uuid.UUID, client_address: str
) -> User:
    """A new password ends every session. A new email counts once the link sent to it is confirmed
    (`verification.verify`), which ends every other session (their tokens name the old)."""
    changes = request.model_dump(exclude_none=True, exclude={"current_password"})  # null: no change
    sensitive = request.email is not None or request.password is not None
    if (
        sensitive
        and service.authenticate(db, user.email, request.current_password or "", client_address) is None
    ):
        raise Forbidden("The current password is incorrect.", title="Wrong password")
    new_email = changes.pop("email", user.email)
    if new_email != user.email:
        verification.ask_to_change_address(db, user.id, new_email, session_id)
    if "password" in changes:
        changes["password_hash"] = hash_password(changes.pop("password"))
        service.end_sessions(db, user.id, reason="password-changed")
    row = repository.update_user(db, user.id, changes) if changes else None
    db.commit()
    return user if row is None else User.model_validate(dict(present(row)))


def get_user(db: Connection, user_id: uuid.UUID) -> User:
    row = repository.find_user_by_id(db, user_id)
    if row is None:
        raise NotFound("No user has this id.")
    return User.model_validate(dict(row))


def change_role(db: Connection, user_id: uuid.UUID, role: Role, *, actor: audit.Actor) -> User:
    """Make someone an administrator or a user again; it takes effect with their next request."""
    admins = repository.lock_admins(db)
    if actor.user_id is not None and actor.user_id not in admins:  # demoted while this request waited
        raise Forbidden("This route is for administrators.")
    row = repository.find_user_by_id(db, user_id, lock=True)
    if row is None:
        raise NotFound("No user has this id.")
    if row["role"] == role:
        return User.model_validate(dict(row))
    if role != "admin":
        keep_an_administrator(admins, user_id, "make someone else an administrator first")
    changed = repository.update_user(db, user_id, {"role": role})
    audit.record(
        db,
        actor,
        "user.role_changed",
        "user",
        user_id,
        subject_id=user_id,
        before={"role": row["role"]},
        after={"role": role},
    )
    db.commit()
    return User.model_validate(dict(present(changed)))


def keep_an_administrator(admins: list[uuid.UUID], user_id: uuid.UUID, advice: str) -> None:
    """The last administrator stays one, so that the service is never left without anyone to run it."""
    if admins == [user_id]:
        raise Conflict(f"This is the last administrator: {advice}.", title="Last administrator")


def list_users(db: Connection, *, email: str | None, limit: int, cursor: str | None) -> Page[User]:
    after = keyset(cursor, lambda created_at, last_id: (parse_instant(created_at), uuid.UUID(last_id)))
    rows = repository.list_users(db, email_contains=email, after=after, limit=limit + 1)
    return page(
        rows,
        limit,
        lambda row: User.model_validate(dict(row)),
        lambda row: (row["created_at"].isoformat(), row["id"]),
    )
