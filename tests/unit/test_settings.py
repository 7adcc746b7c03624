"""Settings: what a deployment must provide, and the keys it refuses."""

import pytest
from pydantic import ValidationError

from reservas.credentials import database_url_from_secret
from reservas.settings import LOCAL_DEVELOPMENT_JWT_KEY, Settings

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:reservas-jwt-AbCdEf"


@pytest.fixture
def clean_env(monkeypatch):
    for name in (
        "RESERVAS_JWT_SECRET",
        "RESERVAS_STAGE",
        "DATABASE_URL",
        "REDIS_URL",
        "RESERVAS_BCRYPT_ROUNDS",
        "RESERVAS_DB_POOL_SIZE",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_follow_the_design(clean_env):
    settings = Settings.from_environment()
    assert settings.stage == "local"
    assert settings.bcrypt_rounds == 12
    assert settings.access_token_minutes == 15
    assert settings.refresh_token_days == 30
    assert settings.db_pool_size == 1


@pytest.mark.parametrize(
    "key", [LOCAL_DEVELOPMENT_JWT_KEY, "secret", "changeme", "short-key-of-31-bytes-xxxxxxxxx"]
)
def test_weak_or_default_jwt_keys_are_refused_outside_local_runs(clean_env, key):
    clean_env.setenv("RESERVAS_STAGE", "prod")
    clean_env.setenv("RESERVAS_JWT_SECRET", key)
    clean_env.setenv("DATABASE_URL", "postgresql://u:p@db/reservas")
    with pytest.raises(ValidationError, match="JWT key"):
        Settings.from_environment()


def test_a_strong_key_is_accepted_in_production(clean_env):
    clean_env.setenv("RESERVAS_STAGE", "prod")
    clean_env.setenv("RESERVAS_JWT_SECRET", "k" * 32)
    clean_env.setenv("DATABASE_URL", "postgresql://u:p@db/reservas")
    assert Settings.from_environment().stage == "prod"


def test_production_needs_a_jwt_key_and_a_database(clean_env):
    clean_env.setenv("RESERVAS_STAGE", "prod")
    with pytest.raises(ValidationError, match="JWT_SECRET_ARN"):
        Settings.from_environment()
    clean_env.setenv("RESERVAS_JWT_SECRET_ARN", ARN)
    with pytest.raises(ValidationError, match="DATABASE_SECRET_ARN"):
        Settings.from_environment()
    clean_env.setenv("RESERVAS_DATABASE_SECRET_ARN", ARN)
    assert Settings.from_environment().jwt_secret_arn == ARN


def test_local_runs_may_use_the_development_key(clean_env):
    clean_env.setenv("RESERVAS_STAGE", "local")
    clean_env.setenv("RESERVAS_JWT_SECRET", LOCAL_DEVELOPMENT_JWT_KEY)
    assert Settings.from_environment().is_local


def test_secrets_are_not_shown_in_reprs(clean_env):
    clean_env.setenv("RESERVAS_JWT_SECRET", "k" * 40)
    clean_env.setenv("DATABASE_URL", "postgresql://u:hunter2@db/reservas")
    text = repr(Settings.from_environment())
    assert "k" * 40 not in text and "hunter2" not in text


def test_secrets_are_not_shown_in_the_error_of_settings_refused():
    """The error is logged (at init, and by every request that meets it): a check of the whole settings
    quoted them all, cut in the middle, so that whatever came last showed, here most of the key."""
    key = "Q7f9ZpL2xWm4Rt8KbN3vYc6HsJ1dGe0"  # 31 bytes: refused
    environment = {"RESERVAS_STAGE": "prod", "DATABASE_URL": "postgresql://u:hunter2@db/reservas"}
    with pytest.raises(ValidationError, match="at least 32 bytes") as refused:
        Settings.from_environment({**environment, "RESERVAS_JWT_SECRET": key})
    assert key[-8:] not in str(refused.value)
    with pytest.raises(ValidationError, match="JWT_SECRET_ARN") as refused:
        Settings.from_environment(environment)
    assert "hunter2" not in str(refused.value)


def test_an_rds_secret_becomes_a_url_with_tls():
    url = database_url_from_secret(
        {
            "username": "app",
            "password": "p@ss:word",
            "host": "db.example.com",
            "port": 5432,
            "dbname": "reservas",
        }
    )
    assert url == "postgresql://app:p%40ss%3Aword@db.example.com:5432/reservas?sslmode=require"
