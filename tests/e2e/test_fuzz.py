"""Schemathesis against the local API and docs/openapi.json, signed in as a user and as an admin:
examples, coverage, fuzzing and stateful phases, with the checks that matter to a client.

`make test` runs a bounded, seeded version; `make fuzz` runs it long (FUZZ_EXAMPLES, FUZZ_SEED)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.apigw import ROOT
from scripts.create_admin import make_admin
from tests.support import STRONG_PASSWORD, mark_verified, space_body

CHECKS = "not_a_server_error,response_schema_conformance,negative_data_rejection,ignored_auth"
# Operations that would end the fuzzing account's own session; they have their own tests.
SELF_DESTRUCTIVE = ("deleteMe", "logout")


def schemathesis_command(url: str, token: str, report: Path) -> list[str]:
    executable = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    command = [
        executable,
        "run",
        str(ROOT / "docs" / "openapi.json"),
        "--url",
        url,
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        os.environ.get("FUZZ_EXAMPLES", "12"),
        "--seed",
        os.environ.get("FUZZ_SEED", "20261128"),
        "--generation-with-security-parameters",
        "false",
        "--generation-database",
        "none",
        "--workers",
        "2",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
    ]
    for operation in SELF_DESTRUCTIVE:
        command += ["--exclude-operation-id", operation]
    return command


@pytest.fixture
def tokens(http, engine) -> dict[str, str]:
    """A user and an admin, and one space so that space routes have something to find."""
    for email in ("fuzz-user@example.com", "fuzz-admin@example.com"):
        http.post("/auth/register", json={"email": email, "password": STRONG_PASSWORD, "name": "Fuzz"})
    mark_verified(engine, "fuzz-user@example.com")
    with engine.connect() as connection:
        make_admin(connection, "fuzz-admin@example.com", "Fuzz", None)
    login = {
        role: http.post(
            "/auth/login", json={"email": f"fuzz-{role}@example.com", "password": STRONG_PASSWORD}
        ).json()
        for role in ("user", "admin")
    }
    http.post(
        "/spaces", json=space_body(), headers={"Authorization": f"Bearer {login['admin']['access_token']}"}
    )
    return {role: body["access_token"] for role, body in login.items()}


@pytest.mark.parametrize("role", ["user", "admin"])
def test_fuzzing_finds_no_failure(local_api, tokens, role, tmp_path):
    result = subprocess.run(
        schemathesis_command(local_api.url, tokens[role], tmp_path / "junit.xml"),
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
