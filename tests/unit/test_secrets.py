"""In AWS the keys come from Secrets Manager (here: moto), read through Powertools and cached."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from reservas import settings as settings_module
from reservas.aws_secrets import forget as forget_secrets
from reservas.credentials import get_database_url, get_jwt_key

STRONG_KEY = "Zm9vYmFyYmF6cXV4LXN0cm9uZy1lbm91Z2gtZm9yLXByb2R1Y3Rpb24"


@pytest.fixture
def aws(monkeypatch):
    for name in ("RESERVAS_JWT_SECRET", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        forget_secrets()
        settings_module.get_settings.cache_clear()
        yield boto3.client("secretsmanager", region_name="eu-west-1"), monkeypatch
        forget_secrets()
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


def test_behind_rds_proxy_the_functions_connect_to_the_proxy_with_the_secret_s_login(aws):
    """The data tier's secret names the database cluster (the attachment writes its address); the
    functions connect through RDS Proxy's endpoint, over TLS, with the same login."""
    client, monkeypatch = aws
    db_arn = client.create_secret(
        Name="reservas/db",
        SecretString=json.dumps(
            {"username": "app", "password": "pw", "host": "cluster.rds", "port": 5432, "dbname": "reservas"}
        ),
    )["ARN"]
    _deploy(
        monkeypatch,
        RESERVAS_DATABASE_SECRET_ARN=db_arn,
        RESERVAS_DATABASE_HOST="proxy.rds",
        RESERVAS_JWT_SECRET=STRONG_KEY,
    )
    assert get_database_url() == "postgresql://app:pw@proxy.rds:5432/reservas?sslmode=require"


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


def test_a_secrets_manager_that_hangs_fails_the_read_within_seconds(monkeypatch):
    """A secret is read on the request path: a Secrets Manager that accepts and never answers must not
    hold a request for boto3's minute and its retries."""
    import socket
    import time

    from reservas.aws_secrets import read_secret

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections, never answers
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", f"http://127.0.0.1:{silent.getsockname()[1]}")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    forget_secrets()
    started = time.monotonic()
    try:
        with pytest.raises(Exception):  # noqa: B017 (whatever boto3 raises: it must raise)
            read_secret("arn:aws:secretsmanager:eu-west-1:123456789012:secret:hung")
    finally:
        silent.close()
        forget_secrets()
    assert time.monotonic() - started < 10


def test_a_secrets_manager_out_of_reach_is_not_taken_for_a_secret_never_rotated(monkeypatch):
    """Both reads fail as SecretsUnreachable (a 503 on the request path); before, the previous version's
    read took the failure for "never rotated" and remembered that, so tokens signed with the previous
    key were refused for minutes during a rotation."""
    from reservas.aws_secrets import read_previous_secret, read_secret
    from reservas.credentials import SecretsUnreachable

    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    forget_secrets()
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt"
    try:
        with pytest.raises(SecretsUnreachable):
            read_secret(arn)
        with pytest.raises(SecretsUnreachable):
            read_previous_secret(arn)
    finally:
        forget_secrets()


def test_a_secret_never_rotated_has_no_previous_version(aws):
    from reservas.aws_secrets import read_previous_secret

    client, _ = aws
    arn = client.create_secret(Name="reservas-jwt", SecretString=STRONG_KEY)["ARN"]
    assert read_previous_secret(arn) is None
