"""/auth: register and verify an address, log in, refresh, log out, reset a password, validate."""

from fastapi import APIRouter, Request, Response

from reservas.accounts import refresh_cookie, service, verification
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
from reservas.app_factory import DeferredRoute, create_app, lambda_handler
from reservas.dependencies import CallerDep, ClientAddress, DbDep
from reservas.errors import problem_doc

# Answers carrying tokens are never cached (RFC 6749, section 5.1): every answer is `no-store`.
router = APIRouter(prefix="/auth", tags=["auth"], route_class=DeferredRoute)


REGISTERED = Accepted(
    detail="Check your inbox: we sent a link to verify the address. Open it and confirm with your password."
)
RESET_ASKED = Accepted(detail="If the address has an account, a link to choose a new password is on its way.")
INVALID_LINK = problem_doc("The link is not valid, was already used or has expired")


@router.post("/register", status_code=202)
async def register(body: RegisterRequest, db: DbDep) -> Accepted:
    """The same answer for every address, taken or not: a link to verify it is sent to a new address,
    and the owner of a verified one is told someone tried. Registering an address nobody has verified
    again sends a new link (at most `RESERVAS_ACCOUNT_MAILS_PER_HOUR` an hour)."""
    verification.register(db, body)
    return REGISTERED


@router.post(
    "/verify",
    openapi_extra=refresh_cookie.OPENAPI,
    responses={
        400: INVALID_LINK,
        401: problem_doc("The password is not the account's"),
        409: problem_doc("Email taken"),
    },
)
async def verify_address(
    body: VerifyRequest,
    db: DbDep,
    address: ClientAddress,
    response: Response,
    x_refresh_cookie: refresh_cookie.WantsCookie,
) -> TokenPair:
    """Confirm the link sent to an address with the account's password: the address is verified and you
    are signed in."""
    pair = verification.verify(db, body, address)
    return refresh_cookie.into_cookie(pair, response) if x_refresh_cookie else pair


@router.post(
    "/login",
    openapi_extra=refresh_cookie.OPENAPI,
    responses={401: problem_doc("Wrong email or password, or an address not verified yet")},
)
async def login(
    body: LoginRequest,
    db: DbDep,
    address: ClientAddress,
    response: Response,
    x_refresh_cookie: refresh_cookie.WantsCookie,
) -> TokenPair:
    """With `X-Refresh-Cookie: 1` (browsers) the refresh token is set in an HttpOnly cookie, not
    answered."""
    pair = service.login(db, body, address)
    return refresh_cookie.into_cookie(pair, response) if x_refresh_cookie else pair


@router.post("/password-reset", status_code=202)
async def request_password_reset(body: PasswordResetRequest, db: DbDep) -> Accepted:
    """The same answer whether the address has an account or not; if it has, a link is sent to it."""
    verification.request_password_reset(db, body)
    return RESET_ASKED


@router.post("/password-reset/confirm", status_code=204, responses={400: INVALID_LINK})
async def reset_password(body: PasswordReset, db: DbDep) -> Response:
    """Choose a new password with the link: every session of the account ends."""
    verification.reset_password(db, body)
    return Response(status_code=204)


@router.post(
    "/refresh",
    openapi_extra=refresh_cookie.OPENAPI,
    responses={401: problem_doc("Invalid, expired or reused refresh token (with the cookie: it is cleared)")},
)
async def refresh_tokens(
    request: Request,
    db: DbDep,
    response: Response,
    x_refresh_cookie: refresh_cookie.WantsCookie,
    body: RefreshRequest | None = None,
) -> TokenPair:
    """The refresh token comes in the body, or, with `X-Refresh-Cookie: 1`, from the cookie (then the
    body is empty or `{}`, and the new refresh token goes back into the cookie). The cookie is never
    read without that header."""
    given = body.refresh_token if body is not None else None
    if not x_refresh_cookie:
        if given is None:
            raise refresh_cookie.field_required()
        return service.refresh(db, given)
    if given is not None:
        raise refresh_cookie.not_both()
    with refresh_cookie.cleared_on_refusal():
        pair = service.refresh(db, refresh_cookie.presented(request))
    return refresh_cookie.into_cookie(pair, response)


@router.post(
    "/logout",
    status_code=204,
    openapi_extra=refresh_cookie.OPENAPI,
    responses={401: problem_doc("Not authenticated")},
)
async def logout(
    request: Request,
    db: DbDep,
    who: CallerDep,
    x_refresh_cookie: refresh_cookie.WantsCookie,
    body: LogoutRequest | None = None,
) -> Response:
    """Ends the session of the access token and that of the refresh token (the body's, or with
    `X-Refresh-Cookie: 1` the cookie's, which the answer clears)."""
    tokens = [body.refresh_token] if body is not None and body.refresh_token is not None else []
    if x_refresh_cookie:
        tokens += filter(None, [refresh_cookie.found(request)])
    elif not tokens:
        raise refresh_cookie.field_required()
    service.logout(db, who.user, who.session_id, tokens)
    answer = Response(status_code=204)
    if x_refresh_cookie:
        answer.headers.append("set-cookie", refresh_cookie.CLEARING)
    return answer


@router.post("/validate", responses={401: problem_doc("Invalid token")})
async def validate_token(body: ValidateRequest, db: DbDep) -> TokenValidation:
    return service.validate(db, body.token)


app = create_app("auth", router)
handler = lambda_handler(app)
