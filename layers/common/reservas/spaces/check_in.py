"""A space's check-in code: printed where the space is, as the QR code of a URL that a signed-in person
opens to check in to their booking there (reservations.service.check_in_with_code).

The code is 128 random bits kept with the space (apart from its public row), not a signature over the
space's id: a printed code then stays valid until an admin rotates it, whatever happens to the keys
that sign tokens, and rotating it makes every printed copy stop working at once."""

from __future__ import annotations

import hmac
import io
import secrets
import uuid
from urllib.parse import urlencode

from sqlalchemy import Connection, select
from sqlalchemy.engine import RowMapping

from reservas import audit
from reservas.database import postgres_insert
from reservas.errors import NotFound
from reservas.settings import get_settings
from reservas.spaces import repository
from reservas.spaces.admin_schemas import CheckInCode
from reservas.tables import check_in_codes

CODE_BYTES = 16


def current(db: Connection, space_id: uuid.UUID) -> CheckInCode:
    """The space's code, made the first time it is asked for."""
    _exists(db, space_id)
    db.execute(
        postgres_insert(check_in_codes)
        .values(space_id=space_id, code=_new_code())
        .on_conflict_do_nothing(index_elements=["space_id"])
    )
    row = db.execute(select(check_in_codes).where(check_in_codes.c.space_id == space_id)).mappings().one()
    db.commit()
    return _view(row)


def rotate(db: Connection, space_id: uuid.UUID, *, actor: audit.Actor) -> CheckInCode:
    """A new code: the printed ones stop working."""
    _exists(db, space_id)
    insert = postgres_insert(check_in_codes).values(space_id=space_id, code=_new_code())
    upsert = insert.on_conflict_do_update(
        index_elements=["space_id"],
        set_={"code": insert.excluded.code, "rotated_at": insert.excluded.rotated_at},
    )
    row = db.execute(upsert.returning(check_in_codes)).mappings().one()
    rotated = {"check_in_code_rotated_at": row["rotated_at"].isoformat()}  # never the code itself
    audit.record(db, actor, "space.check_in_code_rotated", "space", space_id, after=rotated)
    db.commit()
    return _view(row)


def matches(db: Connection, space_id: uuid.UUID, code: str) -> bool:
    """Whether `code` is the space's current code (compared in constant time)."""
    stored = db.execute(select(check_in_codes.c.code).where(check_in_codes.c.space_id == space_id)).scalar()
    return stored is not None and hmac.compare_digest(stored.encode(), code.encode())


def _exists(db: Connection, space_id: uuid.UUID) -> None:
    if repository.find_space(db, space_id) is None:
        raise NotFound("No space has this id.")


def _new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def _view(row: RowMapping) -> CheckInCode:
    import segno  # on first use: only admins printing codes need it

    path = "/check-in?" + urlencode({"space": str(row["space_id"]), "code": row["code"]})
    url = (get_settings().public_url or "").rstrip("/") + path
    drawn = io.BytesIO()  # a document of its own (with its namespace): shown inline, as an image or a file
    segno.make(url, error="m", micro=False).save(
        drawn, kind="svg", scale=4, xmldecl=False, svgns=True, title="Check in", nl=False
    )
    svg = drawn.getvalue().decode()
    return CheckInCode(
        space_id=row["space_id"], code=row["code"], url=url, svg=svg, rotated_at=row["rotated_at"]
    )
