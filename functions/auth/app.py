"""/auth: register, log in, refresh, log out, validate."""

from fastapi import APIRouter, Response

from reservas.accounts import service
from reservas.accounts.schemas import (
    LoginRequest,
    LogoutRequest,
    RefreshRequest,
    RegisterRequest,
    TokenPair,
    TokenValidation,
    ValidateRequest,
)
from reservas.app_factory import create_app, lambda_handler
from reservas.dependencies import CallerDep, ClientAddress, DbDep
from reservas.errors import problem_doc

# Answers carrying tokens are never cached (RFC 6749, section 5.1): every answer is `no-store`.
router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", status_code=201, responses={409: problem_doc("Email taken")})
def register(body: RegisterRequest, db: DbDep) -> TokenPair:
    return service.register(db, body)


@router.post("/login", responses={401: problem_doc("Wrong email or password")})
def login(body: LoginRequest, db: DbDep, address: ClientAddress) -> TokenPair:
    return service.login(db, body, address)


@router.post("/refresh", responses={401: problem_doc("Invalid, expired or reused refresh token")})
def refresh_tokens(body: RefreshRequest, db: DbDep) -> TokenPair:
    return service.refresh(db, body.refresh_token)


@router.post("/logout", status_code=204, responses={401: problem_doc("Not authenticated")})
def logout(body: LogoutRequest, db: DbDep, who: CallerDep) -> Response:
    service.logout(db, who.user, who.claims.session_id, body.refresh_token)
    return Response(status_code=204)


@router.post("/validate", responses={401: problem_doc("Invalid token")})
def validate_token(body: ValidateRequest, db: DbDep) -> TokenValidation:
    return service.validate(db, body.token)


app = create_app("auth", router)
handler = lambda_handler(app)
