"""Attacks on the after-the-answer hand-off (reservas/event_handoff.py, reservas/events.py): found by an
attacker, each failed before its fix."""

from __future__ import annotations

import socket
import time
import uuid
from datetime import timedelta

import pytest
from samcli.yamlhelper import yaml_parse

from devtools.apigw import ROOT, LambdaContext, load_function_module
from reservas import events
from reservas.event_handoff import Extension, publishing_after_response
from tests.conftest import reset_caches
from tests.integration.test_event_handoff import BUS, ExtensionsApi, _published

API_TIMEOUT = yaml_parse((ROOT / "template.yaml").read_text())["Globals"]["Function"]["Timeout"]  # 15 s


@pytest.fixture
def unanswering_eventbridge(monkeypatch):
    """An EventBridge endpoint that accepts connections and never answers (a brownout, a blackholed
    route): boto3's real client, with the timeouts and retries of reservas.events.client()."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)  # never accepted: the kernel completes the handshake, nothing ever answers
    monkeypatch.setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", f"http://127.0.0.1:{listener.getsockname()[1]}")
    yield
    listener.close()  # resets the connections still waiting, so the extension's thread ends quickly


def _recording(engine, count: int):
    """A handler standing for a request that records `count` events (an admin deactivating a space
    with `count` future bookings, a person leaving with `count` bookings, approval turned off with
    `count` pending ones: service.py records one event per booking)."""

    def handler(event, context):
        with engine.begin() as db:
            events.record_all(
                db,
                [(events.RESERVATION_CANCELLED, uuid.uuid4(), {"n": n}) for n in range(count)],
            )
        return {"statusCode": 200, "body": ""}

    return handler


def test_a_slow_eventbridge_never_holds_an_invocation_past_its_timeout(engine, monkeypatch):
    """The extension publishes with no regard for the invocation's deadline: one PutEvents call of 10
    after another, in one transaction committed at the end. EventBridge answering in 2 s (under the
    client's 3 s read timeout: every call succeeds) and a request that recorded 80 events (an admin
    deactivating a space with 80 future bookings; service.py records one event per booking): 16 s of
    publishing after the answer, past the function's 15 s timeout. Lambda reports a timeout, resets the
    environment (the next request is a cold start), and the 70 events EventBridge did accept are never
    marked published: the sweep sends them all again."""

    class SlowBridge:
        def put_events(self, **kwargs):
            time.sleep(2)
            return {"Entries": [{"EventId": "e"} for _ in kwargs["Entries"]]}

    api = ExtensionsApi()
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", api.address)
    monkeypatch.setenv("RESERVAS_EVENT_BUS_NAME", BUS)
    reset_caches()
    monkeypatch.setattr("reservas.events.client", lambda patient=True: SlowBridge())
    try:
        handler = publishing_after_response(_recording(engine, 80))
        assert api.wait_until_asked(1)
        context = LambdaContext("ReservationsFunction")
        api.invoke(context, seconds=API_TIMEOUT)
        answered_at = time.monotonic()
        assert handler({}, context)["statusCode"] == 200
        # Lambda kills the environment at the deadline: the extension must be done before it.
        assert api.wait_until_asked(2, timeout=API_TIMEOUT - 0.5), (
            f"still publishing {time.monotonic() - answered_at:.1f} s after the answer"
        )
        # What EventBridge took is marked at once; the rest is the sweep's.
        published = _published(engine, events.RESERVATION_CANCELLED)
        assert 0 < published.count(True) < 80 and published.count(False) == 80 - published.count(True)
    finally:
        api.wait_until_asked(2, timeout=10)  # let the thread finish before the next test truncates
        api.stop()
        monkeypatch.undo()
        reset_caches()


def test_one_event_with_eventbridge_not_answering_keeps_the_environment_busy_for_seconds(
    engine, monkeypatch, unanswering_eventbridge
):
    """Even one event: ~10 s of post-answer time per request during an EventBridge brownout, so every
    booking occupies an environment ~100x longer than its work; at a few bookings a second the
    account's concurrency is exhausted and every function of the stack (auth, reads) is throttled.
    The sweep already covers a failed publish: the hand-off should give up within about a second."""
    monkeypatch.setenv("RESERVAS_EVENT_BUS_NAME", BUS)
    reset_caches()
    try:
        with events.collecting() as recorded:
            _recording(engine, 1)({}, None)
        started = time.monotonic()
        events.publish_now(engine, recorded)
        spent = time.monotonic() - started
        assert _published(engine, events.RESERVATION_CANCELLED) == [False]
        assert spent < 2, f"the hand-off spent {spent:.1f} s on one event EventBridge never answered"
        # EventBridge just failed: for a while, nobody waits on it again; the sweep has the events.
        started = time.monotonic()
        events.publish_now(engine, recorded)
        assert time.monotonic() - started < 0.5
        assert _published(engine, events.RESERVATION_CANCELLED) == [False]
    finally:
        monkeypatch.undo()
        reset_caches()


def test_the_extension_survives_an_unexpected_error_in_its_work(engine):
    """Anything the thread does not expect (here: the publisher raising) ends the thread for good:
    it never asks for its next event, so the invocation runs to its timeout and the environment is
    reset. The loop should log and move on."""
    api = ExtensionsApi()
    calls = []

    def publish(ids, within):
        calls.append(ids)
        raise RuntimeError("boom")

    try:
        extension = Extension(api.address, publish)
        assert api.wait_until_asked(1)
        for _ in range(2):
            context = LambdaContext("ReservationsFunction")
            api.invoke(context)
            extension.hand_over(context.aws_request_id, [1])
        assert api.wait_until_asked(3, timeout=5), f"thread gone after {len(calls)} publish(es)"
    finally:
        api.stop()


def test_each_event_of_one_booking_carries_an_id_of_its_own_to_deduplicate_on():
    """Consumers deduplicate on the outbox event's own id. It once rode in `detail.id`, where the
    payload's own `id` (the reservation's) overrode it: every event of one booking carried the same id,
    and a consumer deduplicating on it dropped all but the first. It is `detail.event_id`."""
    from types import SimpleNamespace

    reservation = str(uuid.uuid4())
    rows = [
        SimpleNamespace(id=1, event_type=events.RESERVATION_CREATED, payload={"id": reservation}),
        SimpleNamespace(id=2, event_type=events.RESERVATION_CANCELLED, payload={"id": reservation}),
    ]
    [(_, entries)] = events._batches(rows, BUS)
    import json

    assert [json.loads(entry["Detail"])["event_id"] for entry in entries] == [1, 2]
    assert [json.loads(entry["Detail"])["id"] for entry in entries] == [reservation, reservation]


def test_the_release_function_refreshes_availability_before_it_waits_for_eventbridge(
    checked, engine, monkeypatch
):
    """The release function now publishes (up to 100 PutEvents calls of ~9-10 s each when EventBridge
    is slow) before it drops the availability cache of the spaces it freed; a run that reaches its
    60 s timeout while publishing never drops it, and the freed time reads as taken until the cache
    expires (RESERVAS_CACHE_TTL_SECONDS, 55 s)."""
    order = []

    class Bridge:
        def put_events(self, **kwargs):
            order.append("published")
            return {"Entries": [{"EventId": "x"} for _ in kwargs["Entries"]]}

    monkeypatch.setenv("RESERVAS_EVENT_BUS_NAME", BUS)
    reset_caches()
    monkeypatch.setattr("reservas.events.client", lambda patient=True: Bridge())
    release = load_function_module(ROOT / "functions" / "release")
    monkeypatch.setattr(release.cache, "bookings_changed", lambda space_id: order.append("cache"))
    try:
        checked.booked(timedelta(minutes=-20))
        assert release.handler({}, LambdaContext("ReleaseFunction", timeout_seconds=60)) == {"released": 1}
        assert order == ["cache", "published"]
    finally:
        monkeypatch.undo()
        reset_caches()
