"""The outbox reaches EventBridge (moto): a rule with an SQS target receives every event, once; a failed
publish loses nothing; and only committed bookings are ever announced."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import select

from devtools.apigw import ROOT, LambdaContext, load_function_module
from reservas.tables import outbox
from tests.conftest import reset_caches
from tests.integration.conftest import bearer

BUS = "reservas-test-events"


@pytest.fixture
def aws(monkeypatch, engine):
    with mock_aws():
        events, sqs = boto3.client("events"), boto3.client("sqs")
        events.create_event_bus(Name=BUS)
        queue_url = sqs.create_queue(QueueName="reservation-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(
            Name="all-reservations", EventBusName=BUS, EventPattern=json.dumps({"source": ["reservas"]})
        )
        events.put_targets(
            Rule="all-reservations", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": queue_arn}]
        )
        monkeypatch.setenv("RESERVAS_EVENT_BUS_NAME", BUS)
        reset_caches()
        publisher = load_function_module(ROOT / "functions" / "outbox")

        def received() -> list[dict]:
            messages = []
            while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
                for message in batch:
                    messages.append(json.loads(message["Body"]))
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            return messages

        def publish(*, with_backlog: bool = False) -> dict:
            result = publisher.handler({}, LambdaContext("OutboxPublisherFunction"))
            return result if with_backlog else {key: result[key] for key in ("published", "failed")}

        publish()  # what the setup wrote (the sign-ups' VerificationRequested) is out before the test acts
        received()
        yield publish, received
    monkeypatch.undo()
    reset_caches()


def test_created_and_cancelled_events_reach_a_rule_target(booking, aws):
    publish, received = aws
    created = booking.post("10:00", "11:00").json()
    booking.api.delete(f"/reservations/{created['id']}", headers=bearer(booking.user["access_token"]))

    assert publish() == {"published": 2, "failed": 0}

    messages = received()
    assert [m["detail-type"] for m in messages] == ["ReservationCreated", "ReservationCancelled"]
    assert all(m["source"] == "reservas" for m in messages)
    assert (
        messages[0]["detail"]["id"] == created["id"]
        and messages[0]["detail"]["space_id"] == booking.space["id"]
    )
    # Each event carries the outbox's own id, which consumers deduplicate on: one per change.
    event_ids = [m["detail"]["event_id"] for m in messages]
    assert all(isinstance(i, int) for i in event_ids) and len(set(event_ids)) == 2
    assert messages[1]["detail"]["status"] == "cancelled"
    assert publish() == {"published": 0, "failed": 0}  # nothing is sent twice
    assert received() == []


def test_a_failed_publish_loses_nothing(booking, aws, engine, monkeypatch):
    publish, received = aws
    booking.post("10:00", "11:00")
    monkeypatch.setenv("RESERVAS_EVENT_BUS_NAME", "no-such-bus")
    reset_caches()
    assert publish() == {"published": 0, "failed": 1}
    with engine.connect() as connection:
        row = connection.execute(
            select(outbox.c.published_at, outbox.c.attempts, outbox.c.last_error).where(
                outbox.c.event_type == "ReservationCreated"
            )
        ).one()
    assert row.published_at is None and row.attempts == 1 and row.last_error

    monkeypatch.setenv("RESERVAS_EVENT_BUS_NAME", BUS)
    reset_caches()
    assert publish() == {"published": 1, "failed": 0}
    assert [m["detail-type"] for m in received()] == ["ReservationCreated"]


def test_refused_bookings_are_never_announced(booking, aws):
    publish, received = aws
    booking.post("10:00", "10:10")  # 422
    assert publish() == {"published": 0, "failed": 0}
    assert received() == []


def test_an_event_too_large_for_eventbridge_never_holds_up_the_others(booking, aws, engine):
    """EventBridge refuses a whole PutEvents call over 256 KB: an event that could never be sent is kept
    for an operator (with its error) and the events around it are sent, in calls that fit."""
    publish, received = aws
    booking.post("10:00", "11:00")
    with engine.begin() as connection:
        connection.execute(
            outbox.insert().values(
                event_type="ReservationChanged", aggregate_id=uuid.uuid4(), payload={"notes": "x" * 300_000}
            )
        )
        for _ in range(11):  # 60 KB each: more than one call's worth together
            connection.execute(
                outbox.insert().values(
                    event_type="ReservationChanged",
                    aggregate_id=uuid.uuid4(),
                    payload={"notes": "y" * 60_000},
                )
            )
    assert publish() == {"published": 12, "failed": 1}
    assert len(received()) == 12
    with engine.connect() as connection:
        kept = connection.execute(
            select(outbox.c.last_error).where(outbox.c.published_at.is_(None))
        ).scalar_one()
    assert "too large" in kept


def test_the_publisher_reports_what_still_waits_for_the_backlog_alarm(booking, aws, engine):
    """OutboxPending and OutboxOldestSeconds, the metrics the optional alarm watches: what a run left."""
    from sqlalchemy import text

    from reservas import events

    publish, received = aws
    with engine.begin() as connection:  # an event recorded ten minutes ago, still waiting
        connection.execute(
            text(
                "INSERT INTO outbox (event_type, aggregate_id, payload, created_at) "
                "VALUES ('ReservationCreated', gen_random_uuid(), '{}'::jsonb, now() - interval '10 minutes')"
            )
        )
    booking.post("10:00", "11:00")  # and one just now
    with engine.connect() as connection:
        waiting = events.backlog(connection)
    assert waiting["pending"] == 2 and waiting["oldest_seconds"] >= 600
    after = publish(with_backlog=True)
    assert after["published"] == 2 and after["pending"] == 0 and after["oldest_seconds"] == 0
    received()
