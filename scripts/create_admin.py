"""Make an administrator: `make admin EMAIL=ops@example.com` (or run this file).

Promotes an existing account, or creates one with the password from RESERVAS_ADMIN_PASSWORD or, when
that is not set, asked for at the prompt. This is how the first administrator is made; after that,
administrators may also change roles through `PUT /users/{id}/role`. The audit log records the change
as made by an operator (no one, no address)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common")]

from sqlalchemy import Connection, func  # noqa: E402

from reservas import audit  # noqa: E402
from reservas.accounts import profile, repository  # noqa: E402
from reservas.accounts.requests import RegisterRequest  # noqa: E402
from reservas.credentials import get_database_url  # noqa: E402
from reservas.database import build_engine  # noqa: E402
from reservas.passwords import hash_password  # noqa: E402
from reservas.tables import users  # noqa: E402


def make_admin(db: Connection, email: str, name: str, password: str | None) -> str:
    """'promoted' or 'created'. Raises ValueError when a new account's details break the rules."""
    email = email.strip().lower()
    existing = repository.find_user_with_hash(db, email=email)
    if existing is not None:
        # The operator vouches for the address: an account not verified yet may sign in from now on.
        repository.update_user(
            db, existing["id"], {"email_verified_at": func.coalesce(users.c.email_verified_at, func.now())}
        )
        profile.change_role(db, existing["id"], "admin", actor=audit.OPERATOR)
        return "promoted"
    if password is None:
        raise ValueError("no such account: a password is needed to create it")
    request = RegisterRequest(email=email, password=password, name=name)  # the same rules as /auth/register
    created = repository.insert_user(
        db,
        email=request.email,
        password_hash=hash_password(request.password),
        name=request.name,
        verified=True,
    )
    if created is None:
        raise ValueError("an account with this email was created meanwhile: run this again to promote it")
    profile.change_role(db, created["id"], "admin", actor=audit.OPERATOR)  # commits both
    return "created"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("email")
    parser.add_argument("--name", default="Administrator")
    args = parser.parse_args()
    engine = build_engine(get_database_url())
    with engine.connect() as db:
        exists = repository.find_user_with_hash(db, email=args.email.strip().lower()) is not None
    password = None
    if not exists:  # asked with no transaction open: a person may take their time
        password = os.environ.get("RESERVAS_ADMIN_PASSWORD") or getpass.getpass(
            "Password for the new admin: "
        )
    with engine.connect() as db:
        try:
            outcome = make_admin(db, args.email, args.name, password)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    print(f"{args.email}: {outcome} as admin")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
