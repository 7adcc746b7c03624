"""Fixtures for tests that call the apps in process."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support import STRONG_PASSWORD, function_module


@pytest.fixture
def client_for(engine):
    """`client_for("auth")`: a TestClient on that function's app."""
    clients = {}

    def make(group: str) -> TestClient:
        if group not in clients:
            clients[group] = TestClient(function_module(group).app, raise_server_exceptions=False)
        return clients[group]

    return make


@pytest.fixture
def register(client_for):
    """Register a user through the API; returns the 201 body."""

    def make(email: str = "ana@example.com", password: str = STRONG_PASSWORD, name: str = "Ana") -> dict:
        response = client_for("auth").post(
            "/auth/register", json={"email": email, "password": password, "name": name}
        )
        assert response.status_code == 201, response.text
        return response.json()

    return make
