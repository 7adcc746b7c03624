"""/users: the signed-in user's profile."""

from fastapi import APIRouter

from reservas.accounts.schemas import User
from reservas.app_factory import create_app, lambda_handler
from reservas.dependencies import CurrentUser
from reservas.errors import PROBLEM_JSON

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me", responses={401: {"description": "Not authenticated", "content": {PROBLEM_JSON: {}}}})
def me(user: CurrentUser) -> User:
    return user


app = create_app("users", router)
handler = lambda_handler(app)
