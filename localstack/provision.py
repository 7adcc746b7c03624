"""Creates what template.yaml expects to find outside itself, on any AWS endpoint: LocalStack's,
moto_server's, or real AWS (no --endpoint-url). Safe to run again: it updates what exists.

    python localstack/provision.py --endpoint-url http://localhost:4566 \\
        --database-url postgresql://reservas:reservas-local@postgres:5432/reservas \\
        --redis-url redis://redis:6379/0

It creates (or updates) the two secrets the stack reads, in the shapes it reads them:
  reservas/<stage>/database  {username, password, host, port, dbname}   -> DatabaseSecretArn
  reservas/<stage>/jwt       a random 384-bit key (kept if it exists)   -> JwtSecretArn
and SSM parameters /reservas/<stage>/DatabaseSecretArn, /JwtSecretArn and /RedisUrl (a SecureString)
for deploy scripts. The event bus is part of the stack (template.yaml), so nothing is made for it here.
It prints the `sam deploy --parameter-overrides` line to use."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from urllib.parse import unquote, urlsplit


def database_secret(url: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme not in {"postgresql", "postgres"} or not parts.hostname:
        raise ValueError("--database-url must look like postgresql://user:password@host:5432/dbname")
    return {
        "engine": "postgres",
        "username": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "host": parts.hostname,
        "port": parts.port or 5432,
        "dbname": parts.path.lstrip("/") or "postgres",
        "sslmode": "disable" if parts.hostname in {"localhost", "127.0.0.1", "postgres"} else "require",
    }


def put_secret(client, name: str, value: str, *, keep_existing: bool = False) -> str:
    try:
        existing = client.describe_secret(SecretId=name)
    except client.exceptions.ResourceNotFoundException:
        return client.create_secret(Name=name, SecretString=value)["ARN"]
    if not keep_existing:
        client.put_secret_value(SecretId=name, SecretString=value)
    return existing["ARN"]


def provision(session, *, stage: str, database_url: str, redis_url: str, endpoint_url: str | None) -> dict:
    secretsmanager = session.client("secretsmanager", endpoint_url=endpoint_url)
    ssm = session.client("ssm", endpoint_url=endpoint_url)
    outputs = {
        "DatabaseSecretArn": put_secret(
            secretsmanager, f"reservas/{stage}/database", json.dumps(database_secret(database_url))
        ),
        "JwtSecretArn": put_secret(
            secretsmanager, f"reservas/{stage}/jwt", secrets.token_urlsafe(48), keep_existing=True
        ),
    }
    for name, value in outputs.items():
        ssm.put_parameter(Name=f"/reservas/{stage}/{name}", Value=value, Type="String", Overwrite=True)
    ssm.put_parameter(
        Name=f"/reservas/{stage}/RedisUrl", Value=redis_url or "-", Type="SecureString", Overwrite=True
    )
    return {**outputs, "RedisUrl": redis_url}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", help="LocalStack or moto_server URL; omit for real AWS")
    parser.add_argument("--region", default="eu-west-1")
    parser.add_argument("--stage", default="dev", choices=["dev", "staging", "prod"])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", default="")
    args = parser.parse_args(argv)

    import boto3  # a dev dependency; the functions never import this script

    session = boto3.session.Session(region_name=args.region)
    try:
        outputs = provision(
            session,
            stage=args.stage,
            database_url=args.database_url,
            redis_url=args.redis_url,
            endpoint_url=args.endpoint_url,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    overrides = " ".join(f"{k}={v}" for k, v in outputs.items() if v) + f" Stage={args.stage}"
    print(json.dumps(outputs, indent=2))
    print(f"\nsam deploy --parameter-overrides {overrides}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
