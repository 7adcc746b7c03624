"""/auth: register and log in."""

from fastapi import APIRouter, Response

from reservas.accounts import service
from reservas.accounts.schemas import LoginRequest, RegisterRequest, TokenPair
from reservas.app_factory import create_app, lambda_handler
from reservas.dependencies import SessionDep
from reservas.errors import PROBLEM_JSON

router = APIRouter(prefix="/auth", tags=["auth"])
_problem = {"content": {PROBLEM_JSON: {}}}


@router.post("/register", status_code=201, responses={409: {"description": "Email taken", **_problem}})
def register(body: RegisterRequest, session: SessionDep, response: Response) -> TokenPair:
    response.headers["Cache-Control"] = "no-store"
    return service.register(session, body)


@router.post("/login", responses={401: {"description": "Wrong email or password", **_problem}})
def login(body: LoginRequest, session: SessionDep, response: Response) -> TokenPair:
    response.headers["Cache-Control"] = "no-store"
    return service.login(session, body)


app = create_app("auth", router)
handler = lambda_handler(app)
