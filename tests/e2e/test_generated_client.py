"""A Python client generated from docs/openapi.json (openapi-python-client) books through the local API
as integrators would: sign up, look up free time, book, meet a 409 with suggestions, cancel."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.apigw import ROOT
from tests.support import STRONG_PASSWORD, local, mark_verified, next_day, space_body


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The client package, generated into a folder of its own and importable as `reservas_client`."""
    folder = tmp_path_factory.mktemp("client")
    config = folder / "config.yaml"
    config.write_text("package_name_override: reservas_client\nproject_name_override: reservas-client\n")
    bin_dir = str(Path(sys.executable).parent)  # its post-generation formatting calls ruff
    completed = subprocess.run(
        [
            str(Path(bin_dir) / "openapi-python-client"),
            "generate",
            "--path",
            str(ROOT / "docs" / "openapi.json"),
            "--config",
            str(config),
            "--meta",
            "none",
            "--output-path",
            str(folder / "reservas_client"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")},
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Warning" not in completed.stdout, completed.stdout  # every operation and schema understood
    sys.path.insert(0, str(folder))
    yield importlib.import_module("reservas_client")
    sys.path.remove(str(folder))


def test_every_operation_has_a_short_stable_name(generated):
    names = {path.stem for path in (Path(generated.__file__).parent / "api").rglob("*.py")} - {"__init__"}
    assert {"book_reservation", "cancel_reservation", "get_space_availability", "register", "login"} <= names
    assert not [name for name in names if name.endswith(("_get", "_post", "_put", "_delete"))]


def test_the_generated_client_books_meets_a_conflict_and_cancels(generated, local_api, admin_headers, engine):
    from reservas_client import AuthenticatedClient, Client
    from reservas_client.api.auth import login, register
    from reservas_client.api.reservations import book_reservation, cancel_reservation
    from reservas_client.api.spaces import get_space_availability
    from reservas_client.models import BookingRequest, LoginRequest, RegisterRequest

    with local_api.client() as http:
        space = http.post("/spaces", json=space_body(name="Generated"), headers=admin_headers).json()
    anonymous = Client(base_url=local_api.url)
    signed_up = register.sync(
        client=anonymous,
        body=RegisterRequest(email="client@example.com", password=STRONG_PASSWORD, name="Client"),
    )
    assert "verify" in signed_up.detail
    mark_verified(engine, "client@example.com")
    tokens = login.sync(
        client=anonymous, body=LoginRequest(email="client@example.com", password=STRONG_PASSWORD)
    )
    client = AuthenticatedClient(base_url=local_api.url, token=tokens.access_token)

    day = next_day("Europe/Madrid", weekday=0)
    free = get_space_availability.sync(space["id"], client=client, date=day)
    assert free.slots, "a weekday in opening hours has free slots"
    start, end = local("Europe/Madrid", day, "10:00"), local("Europe/Madrid", day, "11:00")
    request = BookingRequest(space_id=space["id"], start_time=start, end_time=end, attendees=2)
    booked = book_reservation.sync_detailed(client=client, body=request, idempotency_key="generated-1")
    assert booked.status_code == 201
    reservation = booked.parsed
    assert reservation.status == "active"

    clash = book_reservation.sync_detailed(
        client=client, body=BookingRequest(space_id=space["id"], start_time=start, end_time=end)
    )
    assert clash.status_code == 409
    assert clash.parsed.conflicts and clash.parsed.suggestions

    cancelled = cancel_reservation.sync(reservation.id, client=client)
    assert cancelled.status == "cancelled"
