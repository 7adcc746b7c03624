"""MigrateFunction as CloudFormation's custom resource: the migrations run on create and update, never on
delete, and CloudFormation always gets an answer at its presigned URL (here a real HTTP server)."""

from __future__ import annotations

import http.server
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import inspect

from devtools.apigw import ROOT, LambdaContext, load_function_module
from reservas.database import build_engine
from reservas.migrations import on_deploy
from tests.conftest import reset_caches


@dataclass
class PresignedUrl:
    """What stands in for the S3 URL CloudFormation waits on: it keeps every answer PUT to it, and can
    refuse the first few."""

    url: str = ""
    answers: list[dict] = field(default_factory=list)
    headers: list[dict] = field(default_factory=list)
    refuse_first: int = 0


@pytest.fixture
def presigned() -> Iterator[PresignedUrl]:
    received = PresignedUrl()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if received.refuse_first > 0:
                received.refuse_first -= 1
                self.send_response(503)
            else:
                received.answers.append(json.loads(body))
                received.headers.append(dict(self.headers))
                self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    received.url = f"http://127.0.0.1:{server.server_port}/cfn-response?X-Amz-Signature=abc"
    yield received
    server.shutdown()


def request(kind: str, url: str, **extra) -> dict:
    return {
        "RequestType": kind,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/reservas/1",
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": "Migrations",
        "ResourceType": "Custom::Migrations",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:...", "CommonLayerVersion": "v1"},
        **extra,
    }


@pytest.fixture
def migrate_on(monkeypatch):
    """The migrate function's handler, on the database at `url`."""

    def handler(url: str):
        monkeypatch.setenv("DATABASE_URL", url)
        reset_caches()
        return load_function_module(ROOT / "functions" / "migrate").handler

    yield handler
    monkeypatch.undo()
    reset_caches()


@pytest.fixture
def fresh_database(server_of_our_own) -> str:
    """A database of its own on the server of our own, owned by its RDS-like owner, never migrated."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = f"deploy_{uuid.uuid4().hex[:10]}"
    superuser = build_engine(server_of_our_own["superuser"]).execution_options(isolation_level="AUTOCOMMIT")
    with superuser.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name} OWNER reservas_app"))
    superuser.engine.dispose()
    return make_url(server_of_our_own["app"]).set(database=name).render_as_string(hide_password=False)


def tables(url: str) -> set[str]:
    engine = build_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_creating_the_stack_migrates_the_database_and_says_so(presigned, fresh_database, migrate_on):
    handler = migrate_on(fresh_database)
    assert "reservations" not in tables(fresh_database)
    handler(request("Create", presigned.url), LambdaContext("MigrateFunction", timeout_seconds=300))
    [answer] = presigned.answers
    assert answer["Status"] == "SUCCESS", answer
    assert answer["Data"]["to"] == "0015" and answer["Data"]["from"] == "None"
    assert answer["PhysicalResourceId"] and answer["LogicalResourceId"] == "Migrations"
    assert presigned.headers[0]["Content-Type"] == ""  # what the presigned URL was signed for
    assert {"reservations", "spaces", "users"} <= tables(fresh_database)

    # An update (new migrations, or a rollback's old properties): run again, the same resource.
    update = request("Update", presigned.url, PhysicalResourceId=answer["PhysicalResourceId"])
    handler(update, LambdaContext("MigrateFunction", timeout_seconds=300))
    assert presigned.answers[1]["Status"] == "SUCCESS"
    assert presigned.answers[1]["Data"] == {"from": "0015", "to": "0015"}
    assert presigned.answers[1]["PhysicalResourceId"] == answer["PhysicalResourceId"]


def test_deleting_the_stack_leaves_the_database_alone(presigned, server_of_our_own, migrate_on):
    handler = migrate_on(server_of_our_own["app"])
    handler(request("Create", presigned.url), LambdaContext("MigrateFunction", timeout_seconds=300))
    before = tables(server_of_our_own["app"])
    delete = request("Delete", presigned.url, PhysicalResourceId=presigned.answers[0]["PhysicalResourceId"])
    handler(delete, LambdaContext("MigrateFunction", timeout_seconds=300))
    assert presigned.answers[1]["Status"] == "SUCCESS"
    assert tables(server_of_our_own["app"]) == before


def test_a_database_out_of_reach_fails_the_deploy_in_time_without_its_password(presigned, migrate_on):
    handler = migrate_on("postgresql+pg8000://owner:Sup3r-Secret-pw@127.0.0.1:9/reservas")
    started = time.monotonic()
    # A function of 95 s waits 5 s for the database (its time, less the minute for the migrations and
    # the margin to answer in), then answers.
    handler(request("Create", presigned.url), LambdaContext("MigrateFunction", timeout_seconds=95))
    [answer] = presigned.answers
    assert answer["Status"] == "FAILED"
    assert answer["Reason"] and "Sup3r-Secret-pw" not in json.dumps(answer)
    assert answer["PhysicalResourceId"]  # CloudFormation needs one even for a failed create
    assert time.monotonic() - started < 30


def test_migrations_that_run_past_the_function_s_time_are_answered_as_a_failure(presigned):
    """The answer goes out before Lambda would stop the function, whatever the migrations are doing."""
    context = LambdaContext("MigrateFunction", timeout_seconds=on_deploy.ANSWER_MARGIN_SECONDS + 1)
    started = time.monotonic()
    on_deploy.answer(request("Update", presigned.url), context, lambda: time.sleep(30) or {})
    [answer] = presigned.answers
    assert answer["Status"] == "FAILED" and "did not finish" in answer["Reason"]
    assert time.monotonic() - started < 5


def test_cloudformation_is_answered_even_when_its_url_refuses_at_first(presigned):
    presigned.refuse_first = 2
    on_deploy.answer(request("Delete", presigned.url), LambdaContext("MigrateFunction"), lambda: {})
    assert [answer["Status"] for answer in presigned.answers] == ["SUCCESS"]


def test_a_plain_invocation_still_migrates_and_answers_the_caller(server_of_our_own, migrate_on):
    handler = migrate_on(server_of_our_own["app"])
    assert handler({}, LambdaContext("MigrateFunction"))["to"] == "0015"


def test_a_database_that_starts_late_is_waited_for_during_a_deploy(presigned, fresh_database, migrate_on):
    """With CreateDataTier the database and its proxy are made by the same deploy, and may refuse
    connections for a while: the migrations wait for them, within the function's time."""
    import socket

    from sqlalchemy.engine import make_url

    real = make_url(fresh_database)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing answers there yet
    late = f"postgresql://reservas_app:app@127.0.0.1:{port}/{real.database}"
    socket_path = real.query["host"]

    def forward_later() -> None:  # the database "comes up" after a few seconds: a TCP door to its socket
        time.sleep(6)
        server = socket.create_server(("127.0.0.1", port))
        while True:
            client, _ = server.accept()
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(f"{socket_path}/.s.PGSQL.{real.port or 5432}")
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=pump, args=(source, target), daemon=True).start()

    threading.Thread(target=forward_later, daemon=True).start()
    handler = migrate_on(late)
    handler(request("Create", presigned.url), LambdaContext("MigrateFunction", timeout_seconds=300))
    [answer] = presigned.answers
    assert answer["Status"] == "SUCCESS", answer
    assert "reservations" in tables(fresh_database)


def pump(source, target) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        target.close()


def test_a_migration_that_exits_still_answers_cloudformation(presigned):
    """HOLE. A BaseException that is not an Exception (SystemExit from a library calling sys.exit,
    KeyboardInterrupt) in the migrations went past `except Exception`: CloudFormation got no answer and
    the deploy waited for ServiceTimeout (and Lambda's async retries ran the migrations twice more)."""
    for error in (SystemExit("alembic gave up"), KeyboardInterrupt()):

        def migrate(error: BaseException = error) -> dict:
            raise error

        on_deploy.answer(request("Update", presigned.url), LambdaContext("MigrateFunction"), migrate)
    assert [answer["Status"] for answer in presigned.answers] == ["FAILED", "FAILED"]
    assert "SystemExit" in presigned.answers[0]["Reason"]


@pytest.mark.parametrize(
    "message",
    [
        "invalid dsn: host=db.internal port=5432 user=owner password=Sup3r-Secret-pw dbname=reservas",
        "connection to owner:Sup3r-Secret-pw@db.internal:5432/reservas refused",
        "the secret is {'username': 'owner', 'password': 'Sup3r-Secret-pw'}",
        'the secret is {"username": "owner", "password": "Sup3r-Secret-pw"}',
        "invalid connection option: password = 'Sup3r-Secret-pw' sslmode=require",
        "PGPASSWORD=Sup3r-Secret-pw psql",
    ],
)
def test_a_password_in_any_shape_stays_out_of_the_reason(presigned, message):
    """HOLE. Only a URL with `://` was kept out of the reason: a libpq DSN (`password=...`), an address
    without a scheme (`user:password@host`) or a secret's dict in a message went to CloudFormation's
    events, which anyone who may describe the stack reads."""

    def migrate() -> dict:
        raise ValueError(message)

    on_deploy.answer(request("Create", presigned.url), LambdaContext("MigrateFunction"), migrate)
    [answer] = presigned.answers
    assert answer["Status"] == "FAILED" and answer["Reason"].startswith("ValueError")
    assert "Sup3r-Secret-pw" not in json.dumps(answer)


def test_a_reason_that_says_the_password_was_wrong_is_kept(presigned):
    """Held: what is not a secret still says what failed."""

    def migrate() -> dict:
        raise ValueError('password authentication failed for user "owner"')

    on_deploy.answer(request("Create", presigned.url), LambdaContext("MigrateFunction"), migrate)
    assert presigned.answers[0]["Reason"] == 'ValueError: password authentication failed for user "owner"'


def test_an_answer_garbled_on_the_way_is_sent_again():
    """HOLE. Only URLError and OSError were retried: an answer that was not HTTP (a proxy in the way, a
    connection cut inside the status line: http.client.BadStatusLine) raised out of the function, with
    no further attempt, and CloudFormation waited for ServiceTimeout."""
    import socket

    received: list[dict] = []
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        for attempt in range(2):
            client, _ = server.accept()
            with client:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += client.recv(65536)
                head, body = data.split(b"\r\n\r\n", 1)
                length = int(
                    next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(
                        b":"
                    )[1]
                )
                while len(body) < length:
                    body += client.recv(65536)
                if attempt == 0:
                    client.sendall(b"garbage\r\n\r\n")
                else:
                    received.append(json.loads(body))
                    client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}/cfn-response"
    on_deploy.answer(request("Delete", url), LambdaContext("MigrateFunction"), lambda: {})
    server.close()
    assert [answer["Status"] for answer in received] == ["SUCCESS"]
