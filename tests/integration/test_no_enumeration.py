"""Login tells nobody which emails have accounts: same status, same body, and the same time."""

from __future__ import annotations

import statistics
import time

from tests.conftest import reset_caches
from tests.support import STRONG_PASSWORD


def test_unknown_email_and_wrong_password_take_the_same_time(client_for, register, monkeypatch):
    # A realistic cost (the suite runs at 4), so that a skipped hash would stand out from the noise.
    monkeypatch.setenv("RESERVAS_BCRYPT_ROUNDS", "10")
    reset_caches()
    try:
        register(password=STRONG_PASSWORD)
        auth = client_for("auth")

        def median_seconds(email: str) -> float:
            samples = []
            for _ in range(7):
                started = time.perf_counter()
                response = auth.post("/auth/login", json={"email": email, "password": "Wrong-pass-1"})
                samples.append(time.perf_counter() - started)
                assert response.status_code == 401
            return statistics.median(samples)

        median_seconds("nobody@example.com")  # warm up (the dummy hash is made on first use)
        known, unknown = median_seconds("ana@example.com"), median_seconds("nobody@example.com")
        assert 0.5 < unknown / known < 2, (known, unknown)
    finally:
        monkeypatch.undo()
        reset_caches()
