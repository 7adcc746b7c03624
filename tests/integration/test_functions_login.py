"""The functions' own database login: made and kept by the migrations from the stack's secret, which
the migrate function completes; the other functions read only that secret."""

from __future__ import annotations

import json

import pytest
from moto import mock_aws
from sqlalchemy import exc, text
from sqlalchemy.engine import make_url

from devtools.apigw import ROOT, LambdaContext, load_function_module
from reservas.aws_secrets import forget as forget_secrets
from reservas.database import build_engine, sqlstate
from reservas.migrations import upgrade
from reservas.migrations.roles import FunctionsLogin
from tests.conftest import reset_caches
from tests.integration.conftest import FUNCTIONS_ROLE

FIRST_PASSWORD = "first-functions-password-0123"
SECOND_PASSWORD = "second-functions-password-4567"


def login_as_the_functions(server, password: str) -> str:
    """'ok', or the SQLSTATE the server refused the login with. (pg8000 sometimes reads the socket the
    server closed after a refusal before the refusal itself: a 'network error', so it asks again.)"""
    url = make_url(server["app"]).set(username=FUNCTIONS_ROLE, password=password)
    engine = build_engine(url.render_as_string(hide_password=False))
    try:
        for _ in range(30):  # on a busy machine the refusal is often lost that way several times in a row
            try:
                with engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
                return "ok"
            except exc.DBAPIError as error:
                if sqlstate(error) is not None:
                    return sqlstate(error)
        return "no answer"
    finally:
        engine.dispose()


def test_the_functions_login_takes_only_its_current_password(server_of_our_own):
    owner = build_engine(server_of_our_own["app"])
    upgrade(owner, functions_login=FunctionsLogin(FUNCTIONS_ROLE, FIRST_PASSWORD))
    assert login_as_the_functions(server_of_our_own, FIRST_PASSWORD) == "ok"
    assert login_as_the_functions(server_of_our_own, SECOND_PASSWORD) == "28P01"  # invalid password
    upgrade(owner, functions_login=FunctionsLogin(FUNCTIONS_ROLE, SECOND_PASSWORD))  # the secret changed
    owner.dispose()
    assert login_as_the_functions(server_of_our_own, SECOND_PASSWORD) == "ok"
    assert login_as_the_functions(server_of_our_own, FIRST_PASSWORD) == "28P01"


def test_the_password_never_reaches_the_server_in_clear(server_of_our_own):
    owner = build_engine(server_of_our_own["app"])
    upgrade(owner, functions_login=FunctionsLogin(FUNCTIONS_ROLE, FIRST_PASSWORD))
    owner.dispose()
    superuser = build_engine(server_of_our_own["superuser"])
    with superuser.connect() as connection:
        stored = connection.execute(
            text("SELECT rolpassword FROM pg_authid WHERE rolname = :name"), {"name": FUNCTIONS_ROLE}
        ).scalar_one()
    superuser.dispose()
    assert stored.startswith("SCRAM-SHA-256$4096:")
    assert FIRST_PASSWORD not in stored


@pytest.mark.parametrize(
    ("username", "password"),
    [("Robert'); DROP TABLE users;--", "x" * 40), ("reservas functions", "x" * 40), ("ok_name", "short")],
)
def test_a_login_the_migrations_would_not_take_is_refused_before_any_sql(username, password):
    with pytest.raises(ValueError):
        FunctionsLogin(username, password)


@pytest.fixture
def aws_secrets():
    with mock_aws():
        forget_secrets()
        import boto3

        yield boto3.client("secretsmanager", region_name="eu-west-1")
        forget_secrets()


def test_the_migrate_function_makes_the_login_and_completes_its_secret_once(
    engine, server_of_our_own, aws_secrets, monkeypatch
):
    generated = {"username": FUNCTIONS_ROLE, "password": FIRST_PASSWORD}  # as the stack generates it
    arn = aws_secrets.create_secret(Name="reservas/functions", SecretString=json.dumps(generated))["ARN"]
    monkeypatch.setenv("DATABASE_URL", server_of_our_own["app"])
    monkeypatch.setenv("RESERVAS_FUNCTIONS_DATABASE_SECRET_ARN", arn)
    reset_caches()
    migrate = load_function_module(ROOT / "functions" / "migrate").handler
    try:
        assert migrate({}, LambdaContext("MigrateFunction"))["to"] == "0015"
        forget_secrets()
        migrate({}, LambdaContext("MigrateFunction"))  # again: nothing new to write
    finally:
        monkeypatch.undo()
        reset_caches()
    completed = json.loads(aws_secrets.get_secret_value(SecretId=arn)["SecretString"])
    assert completed["username"] == FUNCTIONS_ROLE
    assert completed["password"] == FIRST_PASSWORD
    assert completed["dbname"] == "reservas"
    assert completed["engine"] == "postgres"
    versions = aws_secrets.list_secret_version_ids(SecretId=arn)["Versions"]
    assert len(versions) == 2  # the generated one and the completed one
    assert login_as_the_functions(server_of_our_own, FIRST_PASSWORD) == "ok"


@pytest.mark.parametrize(
    "stored",
    [
        json.dumps({"username": FUNCTIONS_ROLE, "password": FIRST_PASSWORD}),  # as generated, not completed
        '{"username": "reservas_functions", "password": "x", "host": "db.internal"',  # cut short
        json.dumps({"username": FUNCTIONS_ROLE, "password": FIRST_PASSWORD, "host": "db", "port": "x"}),
        json.dumps({"host": "db.internal"}),
        "not json at all",
    ],
)
def test_the_api_answers_503_while_the_functions_secret_is_not_complete(
    engine, aws_secrets, monkeypatch, stored
):
    arn = aws_secrets.create_secret(Name="reservas/functions-new", SecretString=stored)["ARN"]
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.setenv("RESERVAS_DATABASE_SECRET_ARN", arn)
    reset_caches()
    from fastapi.testclient import TestClient

    from tests.support import function_module

    try:
        response = TestClient(function_module("spaces").app, raise_server_exceptions=False).get("/spaces")
    finally:
        monkeypatch.undo()
        reset_caches()
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "Retry-After" in response.headers
    assert FIRST_PASSWORD not in response.text


@pytest.mark.parametrize("stored", ['{"username": "reservas_functions"}', "plain text", '{"password": 7}'])
def test_the_migrate_function_says_what_is_wrong_with_a_malformed_functions_secret(
    engine, aws_secrets, monkeypatch, stored
):
    arn = aws_secrets.create_secret(Name="reservas/functions-bad", SecretString=stored)["ARN"]
    monkeypatch.setenv("RESERVAS_FUNCTIONS_DATABASE_SECRET_ARN", arn)
    reset_caches()
    migrate = load_function_module(ROOT / "functions" / "migrate").handler
    try:
        with pytest.raises(ValueError, match="must be JSON with a username and a password"):
            migrate({}, LambdaContext("MigrateFunction"))
    finally:
        monkeypatch.undo()
        reset_caches()
