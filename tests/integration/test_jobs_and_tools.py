"""The API's time limits are the API's: scheduled jobs and operators' tools, whose work rightly takes
longer than a request, run within limits of their own, and the API's limits reach no other database."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from devtools.apigw import ROOT, LambdaContext, load_function_module


def _owner_engine():
    from reservas.database import pg8000_url

    url, connect_args = pg8000_url(os.environ["DATABASE_URL"])
    return create_engine(url, connect_args=connect_args, poolclass=NullPool, isolation_level="AUTOCOMMIT")


def test_the_daily_purge_may_take_longer_than_a_request(own_postgres):
    owner = _owner_engine()
    with owner.connect() as connection:
        user = connection.execute(
            text(
                "INSERT INTO users (email, password_hash, name) VALUES ('x@example.com', 'x', 'X') RETURNING id"
            )
        ).scalar_one()
        connection.execute(
            text("INSERT INTO sessions (user_id, expires_at) SELECT :user, now() - interval '40 days'"),
            {"user": user},
        )
        # A backlog that takes its time to delete (as a year of ended sessions would).
        connection.execute(
            text(
                "CREATE FUNCTION slow_purge() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER slow_purge AFTER DELETE ON sessions FOR EACH STATEMENT EXECUTE FUNCTION slow_purge()"
            )
        )
    handler = load_function_module(ROOT / "functions" / "maintenance").handler
    counts = handler({}, LambdaContext("MaintenanceFunction", timeout_seconds=120))
    assert counts["sessions"] == 1
    with owner.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM sessions")).scalar_one() == 0


def test_the_outbox_keeps_its_marks_when_eventbridge_is_slow(own_postgres, monkeypatch):
    owner = _owner_engine()
    with owner.connect() as connection:
        connection.execute(
            text(
                "INSERT INTO outbox (event_type, aggregate_id, payload) "
                "SELECT 'ReservationCreated', gen_random_uuid(), '{}' FROM generate_series(1, 12)"
            )
        )

    class SlowEventBridge:
        calls = 0

        def put_events(self, Entries):
            SlowEventBridge.calls += 1
            if SlowEventBridge.calls == 2:
                time.sleep(11)  # throttled and retried, longer than the API's idle-in-transaction limit
            return {"Entries": [{"EventId": f"{SlowEventBridge.calls}-{n}"} for n in range(len(Entries))]}

    module = load_function_module(ROOT / "functions" / "outbox")
    monkeypatch.setenv("RESERVAS_EVENT_BUS_NAME", "bus")
    from tests.conftest import reset_caches

    reset_caches()
    monkeypatch.setattr("reservas.events.client", SlowEventBridge)
    result = module.handler({}, LambdaContext("OutboxPublisherFunction", timeout_seconds=60))
    assert result["published"] == 12
    with owner.connect() as connection:
        assert (
            connection.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL")).scalar_one()
            == 0
        )


def test_a_second_migrator_waits_for_the_first(own_postgres):
    from reservas.database import build_engine
    from reservas.migrations import _ADVISORY_LOCK_ID, upgrade

    held = threading.Event()

    def first_migrator_busy_for_3_seconds():
        with _owner_engine().connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
            held.set()
            time.sleep(3)
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _ADVISORY_LOCK_ID})

    first = threading.Thread(target=first_migrator_busy_for_3_seconds)
    first.start()
    held.wait()
    second = build_engine(os.environ["DATABASE_URL"])  # as the MigrateFunction builds it
    try:
        upgrade(second)
    finally:
        first.join()
        second.dispose()


def test_the_admin_script_keeps_no_transaction_open_while_it_asks_for_a_password(own_postgres):
    env = {**os.environ, "RESERVAS_STAGE": "local"}
    env.pop("RESERVAS_ADMIN_PASSWORD", None)
    script = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "create_admin.py"), "ops@example.com"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,  # no terminal: getpass reads standard input
    )
    try:
        owner = _owner_engine()
        # Until the script has looked the email up and asks for the password (its prompt, on the
        # pipe): sampling the server at a fixed moment caught a slow script mid-lookup once in CI.
        output = script.stdout.fileno()
        os.set_blocking(output, False)
        prompt, deadline = "", time.monotonic() + 30
        while "Password for the new admin" not in prompt and time.monotonic() < deadline:
            try:
                prompt += os.read(output, 4096).decode()
            except BlockingIOError:
                time.sleep(0.05)
        assert "Password for the new admin" in prompt, prompt
        os.set_blocking(output, True)
        with owner.connect() as connection:
            idle_in_transaction = connection.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'")
            ).scalar_one()
        assert idle_in_transaction == 0  # a person may take their time: nothing is held meanwhile
        output, _ = script.communicate("Correct-Horse-9\n", timeout=60)
    finally:
        script.kill()
    assert script.returncode == 0, output
    assert "ops@example.com: created as admin" in output


def test_the_apis_limits_reach_no_other_database_of_the_server(own_postgres):
    owner = _owner_engine()
    with owner.connect() as connection:
        connection.execute(text("CREATE DATABASE another_project"))
    other = create_engine(
        owner.url.set(database="another_project"), connect_args=_owner_connect_args(), poolclass=NullPool
    )
    with other.connect() as connection:
        assert connection.execute(text("SHOW statement_timeout")).scalar_one() == "0"
        assert connection.execute(text("SHOW idle_in_transaction_session_timeout")).scalar_one() == "0"
    other.dispose()


def _owner_connect_args() -> dict:
    from reservas.database import pg8000_url

    return pg8000_url(os.environ["DATABASE_URL"])[1]
