"""Every tool a person runs by its path starts (its --help), wherever the shell stands."""

from __future__ import annotations

import subprocess
import sys

import pytest

from devtools.apigw import ROOT

TOOLS = [
    "bench/report.py",
    "bench/cold_start.py",
    "bench/handlers.py",
    "bench/availability.py",
    "bench/local_api_load.py",
    "devtools/local_api.py",
    "scripts/create_admin.py",
    "scripts/export_openapi.py",
]


@pytest.mark.parametrize("tool", TOOLS)
def test_the_tool_starts_from_its_path(tool, tmp_path):
    completed = subprocess.run(
        [sys.executable, str(ROOT / tool), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "usage" in completed.stdout.lower()
