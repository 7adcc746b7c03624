"""Events leave within seconds, after the answer: in Lambda, an internal extension publishes what a request
recorded once its handler has returned. Lambda's Extensions API is played here by a small HTTP server
that speaks its protocol (register, then `event/next` blocking until an invocation starts); EventBridge
is moto's."""

from __future__ import annotations

import json
import queue
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import select

from devtools.apigw import ROOT, LambdaContext, load_function_module
from reservas.app_factory import lambda_handler
from reservas.tables import outbox
from tests.conftest import reset_caches
from tests.integration.conftest import bearer, waiting_behind
from tests.support import http_event

BUS = "reservas"


class ExtensionsApi:
    """Lambda's Extensions API as an extension sees it: one registration during init, then each call to
    `event/next` waits for the next invocation (the test starts one with `invoke`)."""

    def __init__(self, refuse: bool = False) -> None:
        self.registered: list[dict] = []
        self.next_calls = 0
        self.invocations: queue.Queue[dict] = queue.Queue()
        self.asked = threading.Condition()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if refuse or self.path != "/2020-01-01/extension/register":
                    self._answer(403, {"errorType": "Extension.RegistrationNotAllowed"})
                    return
                api.registered.append({"name": self.headers["Lambda-Extension-Name"], **body})
                self._answer(200, {}, {"Lambda-Extension-Identifier": "extension-1"})

            def do_GET(self) -> None:
                assert self.path == "/2020-01-01/extension/event/next"
                assert self.headers["Lambda-Extension-Identifier"] == "extension-1"
                with api.asked:
                    api.next_calls += 1
                    api.asked.notify_all()
                self._answer(200, api.invocations.get())

            def _answer(self, status: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, context: LambdaContext, seconds: float = 15) -> None:
        """Start an invocation, as Lambda does for the runtime and every extension at once."""
        deadline = int((time.time() + seconds) * 1000)
        self.invocations.put(
            {"eventType": "INVOKE", "requestId": context.aws_request_id, "deadlineMs": deadline}
        )

    def wait_until_asked(self, times: int, timeout: float = 10) -> bool:
        """Whether the extension has asked for its next event `times` times (its work for the invocations
        before is done)."""
        with self.asked:
            return self.asked.wait_for(lambda: self.next_calls >= times, timeout)

    def stop(self) -> None:
        self.invocations.put({"eventType": "SHUTDOWN"})
        self.server.shutdown()


class GatedEventBridge:
    """moto's EventBridge, whose PutEvents first waits for the test to open the gate: publishing inside
    the request would wait for a gate the test opens only once the answer is back."""

    def __init__(self, client) -> None:
        self.client = client
        self.gate = threading.Event()
        self.opened_before_publishing: list[bool] = []

    def put_events(self, **kwargs):
        self.opened_before_publishing.append(self.gate.wait(5))
        return self.client.put_events(**kwargs)


@pytest.fixture
def lambda_environment(monkeypatch, engine):
    """A Lambda environment with an Extensions API and a bus (moto), whose rule of the promotion
    function (as in template.yaml) sends what it matches to a queue that stands for the function."""
    from samcli.yamlhelper import yaml_parse

    pattern = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]["PromoteFunction"]["Properties"][
        "Events"
    ]["TimeFreed"]["Properties"]["Pattern"]
    extensions_api = ExtensionsApi()
    with mock_aws():
        bridge, queues = boto3.client("events"), boto3.client("sqs")
        bridge.create_event_bus(Name=BUS)
        queue_url = queues.create_queue(QueueName="promote")["QueueUrl"]
        queue_arn = queues.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        bridge.put_rule(Name="time-freed", EventBusName=BUS, EventPattern=json.dumps(pattern))
        bridge.put_targets(Rule="time-freed", EventBusName=BUS, Targets=[{"Id": "promote", "Arn": queue_arn}])
        gated = GatedEventBridge(bridge)
        monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", extensions_api.address)
        monkeypatch.setenv("RESERVAS_EVENT_BUS_NAME", BUS)
        reset_caches()
        monkeypatch.setattr("reservas.events.client", lambda patient=True: gated)

        def delivered() -> list[dict]:
            messages = queues.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            return [json.loads(message["Body"]) for message in messages]

        yield extensions_api, gated, delivered
        extensions_api.stop()
    monkeypatch.undo()
    reset_caches()


def _published(engine, event_type: str) -> list[bool]:
    with engine.connect() as connection:
        return [
            published_at is not None
            for (published_at,) in connection.execute(
                select(outbox.c.published_at).where(outbox.c.event_type == event_type).order_by(outbox.c.id)
            )
        ]


def test_a_cancellation_reaches_the_bus_after_its_answer_and_promotes_the_waitlist_within_seconds(
    booking, register, engine, lambda_environment
):
    extensions_api, bridge, delivered = lambda_environment
    taken, waiting = waiting_behind(booking, register)

    handler = lambda_handler(load_function_module(ROOT / "functions" / "reservations").app)
    assert extensions_api.registered == [{"name": "reservas-events", "events": ["INVOKE"]}]
    assert extensions_api.wait_until_asked(1)  # init is over only once the extension asks for its first event

    context = LambdaContext("ReservationsFunction")
    extensions_api.invoke(context)
    event = http_event(
        "DELETE",
        f"/reservations/{taken['id']}",
        route="/reservations/{reservation_id}",
        path_parameters={"reservation_id": taken["id"]},
        headers=bearer(booking.user["access_token"]),
    )
    answer = handler(event, context)
    assert answer["statusCode"] == 200
    assert _published(engine, "ReservationCancelled") == [False]  # the answer did not wait for EventBridge
    bridge.gate.set()

    assert extensions_api.wait_until_asked(2)  # done with this invocation
    assert bridge.opened_before_publishing == [True]
    assert _published(engine, "ReservationCancelled") == [True]
    [cancelled] = delivered()
    assert cancelled["detail-type"] == "ReservationCancelled" and cancelled["detail"]["id"] == taken["id"]

    # The rule invokes the promotion function with it: the person waiting has the time, and the
    # function announces that at once too, not at the next sweep.
    promote = load_function_module(ROOT / "functions" / "promote").handler
    assert promote(cancelled, LambdaContext("PromoteFunction", timeout_seconds=30)) == {"promoted": 1}
    mine = booking.api.get("/reservations", headers=bearer(waiting["access_token"])).json()["items"]
    assert [(r["start_time"], r["status"]) for r in mine] == [(booking.at("10:00"), "active")]
    assert _published(engine, "WaitlistPromoted") == [True]


def test_a_request_that_records_nothing_or_fails_never_holds_the_next_invocation(
    booking, engine, lambda_environment, monkeypatch
):
    extensions_api, bridge, _ = lambda_environment
    bridge.gate.set()
    module = load_function_module(ROOT / "functions" / "reservations")
    handler = lambda_handler(module.app)
    assert extensions_api.wait_until_asked(1)

    context = LambdaContext("ReservationsFunction")
    extensions_api.invoke(context)
    answer = handler(
        http_event("GET", "/reservations", headers=bearer(booking.user["access_token"])), context
    )
    assert answer["statusCode"] == 200
    assert extensions_api.wait_until_asked(2)
    assert bridge.opened_before_publishing == []  # nothing recorded, nothing sent

    # A handler that raises (Mangum, given an event it cannot read), in an environment Lambda reuses:
    # the extension still moves on, and the next request's events go out.
    context = LambdaContext("ReservationsFunction")
    extensions_api.invoke(context)
    with pytest.raises(RuntimeError):
        handler({"not": "an API Gateway event"}, context)
    assert extensions_api.wait_until_asked(3)

    context = LambdaContext("ReservationsFunction")
    extensions_api.invoke(context)
    body = {
        "space_id": booking.space["id"],
        "start_time": booking.at("12:00"),
        "end_time": booking.at("13:00"),
    }
    answer = handler(
        http_event("POST", "/reservations", body=body, headers=bearer(booking.user["access_token"])), context
    )
    assert answer["statusCode"] == 201, answer
    assert extensions_api.wait_until_asked(4)
    assert _published(engine, "ReservationCreated") == [True]


def test_without_an_extension_events_wait_for_the_sweep_and_the_api_still_answers(
    booking, engine, monkeypatch
):
    refusing = ExtensionsApi(refuse=True)
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", refusing.address)
    monkeypatch.setenv("RESERVAS_EVENT_BUS_NAME", BUS)
    reset_caches()
    try:
        handler = lambda_handler(load_function_module(ROOT / "functions" / "reservations").app)
        body = {
            "space_id": booking.space["id"],
            "start_time": booking.at("12:00"),
            "end_time": booking.at("13:00"),
        }
        answer = handler(
            http_event("POST", "/reservations", body=body, headers=bearer(booking.user["access_token"])),
            LambdaContext("ReservationsFunction"),
        )
        assert answer["statusCode"] == 201
        assert _published(engine, "ReservationCreated") == [False]  # left for the outbox publisher
        assert refusing.next_calls == 0
    finally:
        refusing.stop()
        monkeypatch.undo()
        reset_caches()


def test_the_release_function_announces_what_it_released_at_once(checked, engine, lambda_environment):
    """A no-show released by the minute's run reaches the bus in the same run, so the waitlist hears of
    the freed time within seconds, not at the next sweep."""
    _, bridge, delivered = lambda_environment
    bridge.gate.set()
    no_show = checked.booked(timedelta(minutes=-20))  # its grace is over
    release = load_function_module(ROOT / "functions" / "release").handler
    assert release({}, LambdaContext("ReleaseFunction", timeout_seconds=60)) == {"released": 1}
    assert _published(engine, "ReservationReleased") == [True]
    [released] = delivered()
    assert released["detail-type"] == "ReservationReleased" and released["detail"]["id"] == no_show
