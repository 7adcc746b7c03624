"""In AWS the keys come from Secrets Manager (here: moto), read through Powertools and cached."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from reservas import settings as settings_module
from reservas.credentials import get_database_url, get_jwt_key

STRONG_KEY = "Zm9vYmFyYmF6cXV4LXN0cm9uZy1lbm91Z2gtZm9yLXByb2R1Y3Rpb24"


@pytest.fixture
def aws(monkeypatch):
    for name in ("RESERVAS_JWT_SECRET", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        from aws_lambda_powertools.utilities import parameters

        parameters.clear_caches()
        settings_module.get_settings.cache_clear()
        yield boto3.client("secretsmanager", region_name="eu-west-1"), monkeypatch
        parameters.clear_caches()
    settings_module.get_settings.cache_clear()


def _deploy(monkeypatch, **variables):
    for name, value in {"RESERVAS_STAGE": "prod", **variables}.items():
        monkeypatch.setenv(name, value)
    settings_module.get_settings.cache_clear()


def test_the_jwt_key_and_database_come_from_secrets(aws):
    client, monkeypatch = aws
    jwt_arn = client.create_secret(Name="reservas/jwt", SecretString=STRONG_KEY)["ARN"]
    db_arn = client.create_secret(
        Name="reservas/db",
        SecretString=json.dumps(
            {"username": "app", "password": "pw", "host": "db.internal", "port": 5432, "dbname": "reservas"}
        ),
    )["ARN"]
    _deploy(monkeypatch, RESERVAS_JWT_SECRET_ARN=jwt_arn, RESERVAS_DATABASE_SECRET_ARN=db_arn)

    assert get_jwt_key() == STRONG_KEY
    assert get_database_url() == "postgresql://app:pw@db.internal:5432/reservas?sslmode=require"


def test_a_json_key_secret_is_accepted(aws):
    client, monkeypatch = aws
    arn = client.create_secret(Name="reservas/jwt", SecretString=json.dumps({"key": STRONG_KEY}))["ARN"]
    _deploy(monkeypatch, RESERVAS_JWT_SECRET_ARN=arn, RESERVAS_DATABASE_SECRET_ARN=arn)
    assert get_jwt_key() == STRONG_KEY


def test_a_weak_key_in_secrets_manager_is_refused(aws):
    client, monkeypatch = aws
    arn = client.create_secret(Name="reservas/jwt", SecretString="changeme")["ARN"]
    _deploy(monkeypatch, RESERVAS_JWT_SECRET_ARN=arn, RESERVAS_DATABASE_SECRET_ARN=arn)
    with pytest.raises(ValueError, match="known default"):
        get_jwt_key()


def test_secrets_are_cached_between_requests(aws):
    client, monkeypatch = aws
    arn = client.create_secret(Name="reservas/jwt", SecretString=STRONG_KEY)["ARN"]
    _deploy(monkeypatch, RESERVAS_JWT_SECRET_ARN=arn, RESERVAS_DATABASE_SECRET_ARN=arn)
    assert get_jwt_key() == STRONG_KEY
    client.put_secret_value(SecretId=arn, SecretString=STRONG_KEY + "-rotated")
    assert get_jwt_key() == STRONG_KEY  # within max_age, no second call to Secrets Manager
