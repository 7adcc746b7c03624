"""The credentials the functions use, from the settings or, in AWS, from Secrets Manager: the JWT keys
and the database URL. Settings read the environment only; this module resolves secrets (aws_secrets,
imported only when a secret is read)."""

from __future__ import annotations

from typing import Any

from reservas.settings import LOCAL_DEVELOPMENT_JWT_KEY, check_jwt_key_strength, get_settings


def get_jwt_keys() -> list[str]:
    """The signing key first, then the previous one while a rotation settles. In AWS both come from
    Secrets Manager (the AWSCURRENT and AWSPREVIOUS versions), cached for `secrets_max_age_seconds`."""
    settings = get_settings()
    if settings.jwt_secret is not None:
        keys = [settings.jwt_secret.get_secret_value()]
        if settings.jwt_previous_secret is not None:
            keys.append(settings.jwt_previous_secret.get_secret_value())
        return keys
    if settings.jwt_secret_arn:
        from reservas import aws_secrets

        keys = [_key_from_secret(aws_secrets.read_secret(settings.jwt_secret_arn))]
        previous = aws_secrets.read_previous_secret(settings.jwt_secret_arn)
        if previous is not None:
            keys.append(_key_from_secret(previous))
        if not settings.is_local:
            check_jwt_key_strength(keys[0])
        return keys
    return [LOCAL_DEVELOPMENT_JWT_KEY]


def get_jwt_key() -> str:
    """The key new tokens are signed with."""
    return get_jwt_keys()[0]


def _key_from_secret(secret: str | dict[str, Any]) -> str:
    return secret["key"] if isinstance(secret, dict) else secret


def get_database_url() -> str:
    settings = get_settings()
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    if settings.database_secret_arn:
        from reservas import aws_secrets

        secret = aws_secrets.read_secret(settings.database_secret_arn)
        if not isinstance(secret, dict):
            raise DatabaseNotSetUp("the database secret is not a JSON object")
        if settings.database_host:  # through RDS Proxy: the secret names the database itself
            secret = {**secret, "host": settings.database_host}
        return database_url_from_secret(secret)
    raise RuntimeError("no database configured: set DATABASE_URL or RESERVAS_DATABASE_SECRET_ARN")


class DatabaseNotSetUp(ConnectionError):
    """The functions' database secret has no address yet: MigrateFunction completes it."""


class SecretsUnreachable(ConnectionError):
    """Secrets Manager could not be read (unreachable, slow, or refusing): what needed the secret cannot
    be done now, and a request answers 503."""


def database_url_from_secret(secret: dict[str, Any]) -> str:
    """An RDS-shaped secret ({username, password, host, port, dbname}) as a connection URL."""
    from sqlalchemy.engine import URL

    missing = [key for key in ("host", "username", "password") if not isinstance(secret.get(key), str)]
    if missing:
        raise DatabaseNotSetUp(f"the database secret has no {', '.join(missing)} (is MigrateFunction run?)")
    try:
        port = int(secret.get("port", 5432))
    except (TypeError, ValueError):
        raise DatabaseNotSetUp("the database secret's port is not a number") from None
    url = URL.create(
        "postgresql",
        username=secret["username"],
        password=secret["password"],
        host=secret["host"],
        port=port,
        database=secret.get("dbname", "postgres"),
        query={"sslmode": secret.get("sslmode", "require")},
    )
    return url.render_as_string(hide_password=False)
