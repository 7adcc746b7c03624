"""Who an access token belongs to: the one check every signed-in request and /auth/validate make."""

from __future__ import annotations

from sqlalchemy import Connection

from reservas.accounts import repository
from reservas.accounts.schemas import User
from reservas.errors import Unauthorized
from reservas.tokens import AccessClaims, InvalidToken, verify_access_token


def signed_in(db: Connection, token: str) -> tuple[User, AccessClaims]:
    """The user of a genuine access token whose session still stands (not signed out, not revoked by
    a password change or a refresh-token reuse, account not deleted), as the account is now."""
    try:
        claims = verify_access_token(token)
    except InvalidToken:
        raise Unauthorized("The access token is invalid or has expired.") from None
    row = repository.find_user_in_live_session(db, claims.user_id, claims.session_id)
    if row is None:
        raise Unauthorized("The account of this access token no longer exists.")
    if not row["session_live"]:
        raise Unauthorized("This session has ended (signed out or revoked); sign in again.")
    return User.model_validate({k: v for k, v in row.items() if k != "session_live"}), claims
