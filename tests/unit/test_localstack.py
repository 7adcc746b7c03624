"""localstack/: the compose file is what it claims, and the provisioning script works on any endpoint
(here moto_server, as LocalStack needs Docker and an auth token)."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
import yaml

from devtools.apigw import ROOT
from localstack.provision import main as provision
from tests.unit.test_template import yaml_template

COMPOSE = ROOT / "localstack" / "docker-compose.yml"


def test_the_compose_file_runs_localstack_postgres_16_and_redis_7_with_health_checks():
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert set(services) == {"localstack", "postgres", "redis"}
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    assert services["localstack"]["image"].startswith("localstack/localstack")
    assert "LOCALSTACK_AUTH_TOKEN" in services["localstack"]["environment"]["LOCALSTACK_AUTH_TOKEN"]
    ports = {name: service["ports"] for name, service in services.items()}
    assert ports == {
        "localstack": ["127.0.0.1:4566:4566"],
        "postgres": ["127.0.0.1:5432:5432"],
        "redis": ["127.0.0.1:6379:6379"],
    }
    for name, service in services.items():
        assert service["healthcheck"]["test"], name


@pytest.fixture(scope="module")
def moto_server():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    executable = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
    process = subprocess.Popen(
        [executable, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("moto_server did not start (is moto[server] installed?)")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def test_provisioning_creates_what_the_template_reads(moto_server, capsys):
    arguments = [
        "--endpoint-url",
        moto_server,
        "--stage",
        "dev",
        "--database-url",
        "postgresql://reservas:s%40cret@db.example.com:5432/reservas",
        "--redis-url",
        "redis://cache.example.com:6379/0",
    ]
    assert provision(arguments) == 0
    first = json.loads(capsys.readouterr().out.split("\n\nsam deploy")[0])

    secrets = boto3.client("secretsmanager", endpoint_url=moto_server, region_name="eu-west-1")
    database = json.loads(secrets.get_secret_value(SecretId=first["DatabaseSecretArn"])["SecretString"])
    assert database == {
        "engine": "postgres",
        "username": "reservas",
        "password": "s@cret",
        "host": "db.example.com",
        "port": 5432,
        "dbname": "reservas",
        "sslmode": "require",
    }
    key = secrets.get_secret_value(SecretId=first["JwtSecretArn"])["SecretString"]
    assert len(key.encode()) >= 32

    pattern = yaml_template()["Parameters"]["DatabaseSecretArn"]["AllowedPattern"]
    assert re.match(pattern, first["DatabaseSecretArn"]) and re.match(pattern, first["JwtSecretArn"])

    ssm = boto3.client("ssm", endpoint_url=moto_server, region_name="eu-west-1")
    assert ssm.get_parameter(Name="/reservas/dev/JwtSecretArn")["Parameter"]["Value"] == first["JwtSecretArn"]
    redis = ssm.get_parameter(Name="/reservas/dev/RedisUrl", WithDecryption=True)["Parameter"]
    assert redis["Type"] == "SecureString" and redis["Value"] == "redis://cache.example.com:6379/0"

    # Again, with a new database password: the same secrets, the password updated, the JWT key kept.
    arguments[5] = "postgresql://reservas:rotated@db.example.com:5432/reservas"
    assert provision(arguments) == 0
    second = json.loads(capsys.readouterr().out.split("\n\nsam deploy")[0])
    assert second["DatabaseSecretArn"] == first["DatabaseSecretArn"]
    assert json.loads(secrets.get_secret_value(SecretId=first["DatabaseSecretArn"])["SecretString"])[
        "password"
    ] == ("rotated")
    assert secrets.get_secret_value(SecretId=first["JwtSecretArn"])["SecretString"] == key


def test_a_bad_database_url_is_refused(moto_server, capsys):
    assert provision(["--endpoint-url", moto_server, "--database-url", "mysql://x@y/z"]) == 2
    assert "postgresql://" in capsys.readouterr().err
