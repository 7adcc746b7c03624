"""Leaving the service: the person's data goes, the spaces' history stays honest.

Above accounts and reservations, as it touches both, in one transaction: the current password is
checked (as for any sensitive change, with its attempts counted); upcoming bookings are cancelled,
each with its ReservationCancelled event, so the time is free again and everyone downstream knows;
past reservations stay for the spaces' history with nothing personal left (no notes, no booker);
the account, its sessions and its idempotency keys are deleted; the audit log keeps what happened,
the person's data erased from it; webhook deliveries about the person's bookings go."""

from __future__ import annotations

from sqlalchemy import Connection

from reservas import audit
from reservas.accounts import profile
from reservas.accounts import repository as accounts
from reservas.accounts import service as sign_in
from reservas.accounts.schemas import User
from reservas.errors import Forbidden
from reservas.reservations import repository as reservations_repository
from reservas.reservations import service as reservations
from reservas.spaces import cache


def leave(db: Connection, user: User, current_password: str, client_address: str) -> None:
    from reservas.webhooks import delivery as webhook_deliveries  # its signing library, only when needed

    if sign_in.authenticate(db, user.email, current_password, client_address) is None:
        raise Forbidden("The current password is incorrect.", title="Wrong password")
    _lock_for_leaving(db, user)
    freed = reservations.release_bookings_of(db, user.id, actor=audit.Actor(user.id, client_address))
    accounts.delete_user(db, user.id)  # its reservations keep their rows, naming no one
    audit.erase_person(db, user.id)
    webhook_deliveries.forget_person(db, user.id)
    db.commit()
    for space_id in freed:
        cache.bookings_changed(space_id)


def _lock_for_leaving(db: Connection, user: User) -> None:
    """The administrators' rows, then the person's reservations, then the person's row, always in
    that order, so that no booking, change, cancellation or role change of theirs is still on its
    way (each takes these rows in the same order, or only some of them)."""
    admins = accounts.lock_admins(db)
    reservations_repository.lock_all_of(db, user.id)
    accounts.find_user_by_id(db, user.id, lock=True)
    profile.keep_an_administrator(admins, user.id, "make someone else an administrator before you leave")
