"""A function's init makes what nearly every request needs (init_phase): Lambda runs init on a full
vCPU and the first request on the memory's share of one. Each case starts a fresh interpreter, as a
cold start does."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devtools.apigw import ROOT

# What the first request used to load itself, each on every cold start.
MADE_AT_INIT = ["redis", "sqlalchemy.dialects.postgresql.pg8000", "pydantic.v1"]

COLD_START = """
import json, sys, time
sys.path[:0] = [{root!r}, {layer!r}]
from devtools.apigw import LambdaContext, load_function_module, v2_event
started = time.monotonic()
module = load_function_module(__import__("pathlib").Path({function!r}))
init_seconds = time.monotonic() - started
at_init = set(sys.modules)
from reservas import database
made = database.get_engine.cache_info().currsize
connections_at_init = made and database.get_engine().pool.checkedin() + database.get_engine().pool.checkedout()
answer = module.handler(v2_event("GET", "/spaces"), LambdaContext("SpacesFunction"))
print(json.dumps({{
    "made_at_init": [name for name in {made!r} if name in at_init],
    "loaded_by_the_first_request": sorted(set(sys.modules) - at_init),
    "connections_at_init": connections_at_init,
    "init_seconds": init_seconds,
    "status": answer["statusCode"],
}}))
"""


def cold_start(environment: dict[str, str | None]) -> dict:
    """Init and a first request (`GET /spaces`) in a fresh interpreter; None unsets a variable."""
    script = COLD_START.format(
        root=str(ROOT),
        layer=str(ROOT / "layers" / "common"),
        function=str(ROOT / "functions" / "spaces"),
        made=MADE_AT_INIT,
    )
    started = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={
            name: value
            for name, value in {**os.environ, "RESERVAS_STAGE": "local", **environment}.items()
            if value is not None
        },
        timeout=60,
    )
    assert started.returncode == 0, started.stderr[-3000:]
    return {**json.loads(started.stdout.strip().splitlines()[-1]), "logs": started.stdout + started.stderr}


def test_init_makes_the_clients_every_request_needs_without_connecting(services, engine):
    started = cold_start({"DATABASE_URL": services.database_url, "REDIS_URL": services.redis_url})
    assert started["made_at_init"] == MADE_AT_INIT
    assert started["connections_at_init"] == 0
    assert started["status"] == 200, started["logs"][-3000:]
    assert not set(MADE_AT_INIT) & set(started["loaded_by_the_first_request"])


@pytest.mark.usefixtures("services")
def test_an_unreachable_secrets_manager_at_init_leaves_the_work_to_the_first_request():
    """Init neither fails nor waits on it: the first request tries again and answers 503, as it would
    have without this preparation."""
    started = time.monotonic()
    result = cold_start(
        {
            "DATABASE_URL": None,
            "RESERVAS_DATABASE_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:9",  # nothing listens there
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "REDIS_URL": None,
        }
    )
    assert "init left a step to the first request" in result["logs"]
    assert result["init_seconds"] < 10  # Lambda's init phase ends at 10 s
    assert result["status"] == 503
    assert time.monotonic() - started < 30


def with_secrets_from(endpoint: str, **settings: str) -> dict[str, str | None]:
    """A function's environment as in AWS: its database, JWT key and CloudFront proof are secrets, read
    from the Secrets Manager at `endpoint`."""
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:{}"
    return {
        "DATABASE_URL": None,
        "REDIS_URL": None,
        "RESERVAS_JWT_SECRET": None,
        "RESERVAS_DATABASE_SECRET_ARN": arn.format("db"),
        "RESERVAS_JWT_SECRET_ARN": arn.format("jwt"),
        "RESERVAS_ORIGIN_SECRET_ARN": arn.format("origin"),
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint,
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        **settings,
    }


@pytest.mark.usefixtures("services")
def test_a_secrets_manager_that_hangs_at_init_is_waited_on_once():
    """Three steps read secrets (the database's, the JWT key, CloudFront's proof). Each read of a silent
    Secrets Manager takes seconds; init stops at the first, well within Lambda's 10 s for init."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections, never answers
    try:
        result = cold_start(with_secrets_from(f"http://127.0.0.1:{silent.getsockname()[1]}"))
    finally:
        silent.close()
    assert result["logs"].count("init left a step to the first request") == 1
    assert result["init_seconds"] < 8
    assert result["status"] == 503


class FlakySecretsManager(ThreadingHTTPServer):
    """Answers each secret's second request; the first gets no answer, so botocore's read times out
    and its retry asks again: every read succeeds, in a little over 2 s."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values, self.asked, self.released = values, set[str](), threading.Event()
        super().__init__(("127.0.0.1", 0), FlakySecretsManager.Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.released.set()
        self.shutdown()
        self.server_close()

    class Handler(BaseHTTPRequestHandler):
        server: FlakySecretsManager

        def do_POST(self) -> None:
            asked = json.loads(self.rfile.read(int(self.headers["content-length"])))
            arn, stage = asked["SecretId"], asked.get("VersionStage", "AWSCURRENT")
            if f"{arn} {stage}" not in self.server.asked:
                self.server.asked.add(f"{arn} {stage}")
                self.server.released.wait(10)
                return
            name = arn.split(":")[-1]
            if stage == "AWSCURRENT":
                status, answer = 200, {"ARN": arn, "Name": name, "SecretString": self.server.values[name]}
            else:
                status, answer = 400, {"__type": "ResourceNotFoundException", "message": "no AWSPREVIOUS"}
            body = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/x-amz-json-1.1")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass


@pytest.mark.usefixtures("services")
def test_a_slow_secrets_manager_holds_init_for_a_few_seconds_at_most():
    """Lambda ends an init at 10 s (and runs it again within the first request). A Secrets Manager whose
    every read answers, but each in 2 s, held init for five reads, past 10 s: init starts no step after
    its first seconds, and leaves the rest to the first request."""
    secrets_manager = FlakySecretsManager(
        {
            "db": json.dumps({"username": "u", "password": "p", "host": "127.0.0.1", "port": 9}),
            "jwt": "Zm9vYmFyYmF6cXV4LXN0cm9uZy1lbm91Z2gtZm9yLXByb2R1Y3Rpb24",
            "origin": "the-proof-cloudfront-sends",
        }
    )
    try:
        result = cold_start(
            with_secrets_from(f"http://127.0.0.1:{secrets_manager.server_port}", RESERVAS_STAGE="prod")
        )
    finally:
        secrets_manager.close()
    assert result["init_seconds"] < 6, result["logs"][-3000:]
    assert result["status"] == 503  # the database the secret names is out of reach


@pytest.mark.usefixtures("services")
def test_settings_that_cannot_be_read_are_an_error_at_init_naming_them():
    """Every step reads the settings: init says once, as an error, that they cannot be read and why,
    rather than leaving each step 'to the first request', which fails on them as well."""
    result = cold_start({"RESERVAS_RATE_LIMIT_DEFAULT": "100/fortnight"})
    at_init = [json.loads(line) for line in result["logs"].splitlines() if line.startswith('{"level"')]
    at_init = [entry for entry in at_init if entry.get("location", "").startswith("prepare")]
    assert [(entry["level"], "100/fortnight" in entry["error"]) for entry in at_init] == [("ERROR", True)]
    assert result["status"] == 500
