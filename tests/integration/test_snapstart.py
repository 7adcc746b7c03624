"""SnapStart, simulated: a function's init and a first request, the runtime's before-snapshot hooks, then
the snapshot copied into instances (here: forked processes), each running the after-restore hooks and
serving requests. What a copy must not share with the others: a database connection, Redis's, the
random numbers; and what it must not pay for again: the modules a request needs."""

from __future__ import annotations

import json
import os
import random
import sys
import uuid

import pytest
from sqlalchemy import text

from tests.support import STRONG_PASSWORD, http_event, invoke

snapshot_restore = pytest.importorskip("snapshot_restore_py")

HEAVY = {"boto3", "botocore", "redis", "zxcvbn", "segno", "icalendar"}


def backend_pid() -> int:
    from reservas.database import get_engine

    with get_engine().connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def run(hooks) -> None:
    for function, args, kwargs in hooks:
        function(*args, **kwargs)


def in_a_restored_copy(work) -> dict:
    """Fork (the snapshot copied into a new instance), run the after-restore hooks and `work` there;
    what it returns comes back as JSON. A fork reseeds `random` in the child (os.register_at_fork); a
    restored snapshot does not, so the copy takes the snapshot's state back first."""
    snapshot_state = random.getstate()
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the copy)
        os.close(reading)
        try:
            random.setstate(snapshot_state)
            run(snapshot_restore.get_after_restore())
            outcome = {"ok": True, **work()}
        except BaseException as error:
            outcome = {"ok": False, "error": repr(error)}
        os.write(writing, json.dumps(outcome).encode())
        os.close(writing)
        os._exit(0)
    os.close(writing)
    with os.fdopen(reading) as pipe:
        received = pipe.read()
    os.waitpid(child, 0)
    outcome = json.loads(received)
    assert outcome.pop("ok"), outcome
    return outcome


def serve_requests() -> dict:
    before = set(sys.modules)
    email = f"copy-{uuid.uuid4().hex[:8]}@example.com"
    registered = invoke(
        "auth",
        http_event(
            "POST", "/auth/register", body={"email": email, "password": STRONG_PASSWORD, "name": "Copy"}
        ),
    )[0]
    listed = invoke("spaces", http_event("GET", "/spaces"))[0]
    loaded = {name.split(".")[0] for name in set(sys.modules) - before}
    return {
        "statuses": [registered, listed],
        "backend": backend_pid(),
        "random": random.random(),
        "loaded_heavy": sorted(loaded & HEAVY),
    }


def test_restored_copies_serve_on_connections_and_random_numbers_of_their_own(engine, monkeypatch):
    from reservas import models, snapstart

    monkeypatch.setattr(snapshot_restore, "_before_snapshot_registry", [])
    monkeypatch.setattr(snapshot_restore, "_after_restore_registry", [])
    monkeypatch.setattr(snapstart, "_installed", False)
    monkeypatch.setattr(snapstart, "_apps", [])
    # Init, as Lambda runs it: a handler is built (which registers the hooks), a request is served.
    from reservas.app_factory import DeferredRoute, create_app, lambda_handler

    probe = create_app("probe")
    lambda_handler(probe)
    routes = [route for route in probe.routes if isinstance(route, DeferredRoute)]
    assert routes and not any(route.built for route in routes)  # built by the requests that need them
    assert len(snapshot_restore.get_before_snapshot()) == len(snapshot_restore.get_after_restore()) == 1
    assert invoke("spaces", http_event("GET", "/spaces"))[0] == 200
    snapshotted = backend_pid()

    run(snapshot_restore.get_before_snapshot())
    assert {name.split(".")[0] for name in sys.modules} >= HEAVY  # loaded into the snapshot
    assert all(route.built for route in routes)  # and the routes built
    assert all(model.__pydantic_complete__ for model in models.every_model())  # and the models (models.Model)

    first, second = in_a_restored_copy(serve_requests), in_a_restored_copy(serve_requests)
    assert first["statuses"] == second["statuses"] == [202, 200]
    assert len({snapshotted, first["backend"], second["backend"]}) == 3  # a connection each
    assert first["random"] != second["random"]
    assert first["loaded_heavy"] == second["loaded_heavy"] == []  # nothing heavy left to load


def test_a_copy_reads_the_proof_that_could_not_be_read_before_the_snapshot(engine, monkeypatch):
    """Init reads CloudFront's proof (init_phase). When Secrets Manager fails then, viewer_address waits
    a minute before it tries again, and a snapshot taken meanwhile carried that wait into every copy:
    for a minute after each restore, every viewer was counted under CloudFront's addresses (their rate
    limits and sign-in attempts lumped together), though Secrets Manager had long been back."""
    from reservas import aws_secrets, snapstart, viewer_address
    from reservas.credentials import SecretsUnreachable
    from tests.conftest import reset_caches

    monkeypatch.setattr(snapshot_restore, "_after_restore_registry", [])
    snapshot_restore.register_after_restore(snapstart.after_restore)
    monkeypatch.setattr(snapstart, "_apps", [])
    monkeypatch.setenv("RESERVAS_ORIGIN_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:o")
    reset_caches()

    def unreachable(arn: str) -> str:
        raise SecretsUnreachable(arn)

    monkeypatch.setattr(aws_secrets, "read_secret", unreachable)
    assert viewer_address.origin_secrets() == []  # at init
    snapstart.before_snapshot()
    monkeypatch.setattr(aws_secrets, "read_secret", lambda arn: "the-proof")
    monkeypatch.setattr(aws_secrets, "read_previous_secret", lambda arn: None)
    try:
        restored = in_a_restored_copy(
            lambda: {"proofs": [p.decode() for p in viewer_address.origin_secrets()]}
        )
    finally:
        monkeypatch.undo()
        reset_caches()
    assert restored == {"proofs": ["the-proof"]}
