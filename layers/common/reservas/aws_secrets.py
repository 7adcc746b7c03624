"""Secrets Manager through Powertools parameters, cached per container. Imported only where a secret
is read: it pulls in boto3, which local runs and most requests never need."""

from __future__ import annotations

import functools
import json
import time
from typing import Any

from aws_lambda_powertools.utilities import parameters

from reservas.credentials import SecretsUnreachable
from reservas.settings import get_settings


def read_secret(arn: str) -> str | dict[str, Any]:
    """The current version; JSON secrets come back as dicts. SecretsUnreachable when it cannot be read."""
    try:
        return _decode(_current_provider().get(arn, max_age=get_settings().secrets_max_age_seconds))
    except parameters.exceptions.GetParameterError as error:
        raise SecretsUnreachable(f"{arn}: {error}") from error


def read_previous_secret(arn: str) -> str | dict[str, Any] | None:
    """The version rotation replaced (AWSPREVIOUS), or None when the secret was never rotated. That
    answer is cached as long as a value would be: Powertools caches values only, and a secret never
    rotated would otherwise cost a call to Secrets Manager on every request."""
    max_age = get_settings().secrets_max_age_seconds
    if time.monotonic() < no_previous_until.get(arn, 0.0):
        return None
    try:
        value = _previous_provider().get(arn, max_age=max_age, VersionStage="AWSPREVIOUS")
    except parameters.exceptions.GetParameterError as error:
        if not _no_such_version(error):
            raise SecretsUnreachable(f"{arn} (AWSPREVIOUS): {error}") from error
        no_previous_until[arn] = time.monotonic() + max_age
        return None
    no_previous_until.pop(arn, None)
    return _decode(value)


no_previous_until: dict[str, float] = {}  # per secret, until when "no previous version" stands


def write_secret(arn: str, value: dict[str, Any]) -> None:
    """Store `value` as the secret's new current version."""
    import boto3

    boto3.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=json.dumps(value))


# Secrets are read on the request path (a cold start, a key or a secret's cache expiring): a Secrets
# Manager that hangs must fail such a request within seconds, not after boto3's minute and retries.
def _patient_enough() -> Any:
    from botocore.config import Config

    return Config(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 2})


@functools.cache
def _current_provider() -> parameters.SecretsProvider:
    return parameters.SecretsProvider(boto_config=_patient_enough())


@functools.cache
def _previous_provider() -> parameters.SecretsProvider:
    # Its own provider, so its cache never hands out the current version (the cache key ignores stages).
    return parameters.SecretsProvider(boto_config=_patient_enough())


def _no_such_version(error: Exception) -> bool:
    """Whether Secrets Manager answered that the version does not exist (Powertools keeps boto3's error
    only as the context of its own)."""
    answer = getattr(error.__context__, "response", None) or {}
    return bool(answer.get("Error", {}).get("Code") == "ResourceNotFoundException")


def forget() -> None:
    """Read every secret anew on its next use (after a SnapStart restore; between tests)."""
    _current_provider.cache_clear()
    _previous_provider.cache_clear()
    no_previous_until.clear()


def _decode(value: object) -> str | dict[str, Any]:
    """JSON objects as dicts; anything else (a plain key, or JSON too broken to read) as text."""
    if isinstance(value, dict):
        return value
    if isinstance(value, bytes):
        value = value.decode()
    value = str(value)
    if value.lstrip().startswith("{"):
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        return decoded if isinstance(decoded, dict) else value
    return value
