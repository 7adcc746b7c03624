"""/auth: register and verify an address, log in, refresh, log out, reset a password, validate."""

from fastapi import APIRouter, Response

from reservas.accounts import service, verification
from reservas.accounts.requests import (
    Accepted,
    LoginRequest,
    LogoutRequest,
    PasswordReset,
    PasswordResetRequest,
    RefreshRequest,
    RegisterRequest,
    TokenPair,
    TokenValidation,
    ValidateRequest,
    VerifyRequest,
)
from reservas.app_factory import create_app, lambda_handler
from reservas.dependencies import CallerDep, ClientAddress, DbDep
from reservas.errors import problem_doc

# Answers carrying tokens are never cached (RFC 6749, section 5.1): every answer is `no-store`.
router = APIRouter(prefix="/auth", tags=["auth"])


REGISTERED = Accepted(
    detail="Check your inbox: we sent a link to verify the address. Open it and confirm with your password."
)
RESET_ASKED = Accepted(detail="If the address has an account, a link to choose a new password is on its way.")
INVALID_LINK = problem_doc("The link is not valid, was already used or has expired")


@router.post("/register", status_code=202)
def register(body: RegisterRequest, db: DbDep) -> Accepted:
    """The same answer for every address, taken or not: a link to verify it is sent to a new address,
    and the owner of a verified one is told someone tried. Registering an address nobody has verified
    again sends a new link (at most `RESERVAS_ACCOUNT_MAILS_PER_HOUR` an hour)."""
    verification.register(db, body)
    return REGISTERED


@router.post(
    "/verify",
    responses={
        400: INVALID_LINK,
        401: problem_doc("The password is not the account's"),
        409: problem_doc("Email taken"),
    },
)
def verify_address(body: VerifyRequest, db: DbDep, address: ClientAddress) -> TokenPair:
    """Confirm the link sent to an address with the account's password: the address is verified and you
    are signed in."""
    return verification.verify(db, body, address)


@router.post(
    "/login",
    responses={401: problem_doc("Wrong email or password, or an address not verified yet")},
)
def login(body: LoginRequest, db: DbDep, address: ClientAddress) -> TokenPair:
    return service.login(db, body, address)


@router.post("/password-reset", status_code=202)
def request_password_reset(body: PasswordResetRequest, db: DbDep) -> Accepted:
    """The same answer whether the address has an account or not; if it has, a link is sent to it."""
    verification.request_password_reset(db, body)
    return RESET_ASKED


@router.post("/password-reset/confirm", status_code=204, responses={400: INVALID_LINK})
def reset_password(body: PasswordReset, db: DbDep) -> Response:
    """Choose a new password with the link: every session of the account ends."""
    verification.reset_password(db, body)
    return Response(status_code=204)


@router.post("/refresh", responses={401: problem_doc("Invalid, expired or reused refresh token")})
def refresh_tokens(body: RefreshRequest, db: DbDep) -> TokenPair:
    return service.refresh(db, body.refresh_token)


@router.post("/logout", status_code=204, responses={401: problem_doc("Not authenticated")})
def logout(body: LogoutRequest, db: DbDep, who: CallerDep) -> Response:
    service.logout(db, who.user, who.session_id, body.refresh_token)
    return Response(status_code=204)


@router.post("/validate", responses={401: problem_doc("Invalid token")})
def validate_token(body: ValidateRequest, db: DbDep) -> TokenValidation:
    return service.validate(db, body.token)


app = create_app("auth", router)
handler = lambda_handler(app)
