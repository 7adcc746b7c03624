"""The waitlist: people turned away wait for exactly their interval, and when time frees up the first
waiting entry whose whole interval is free is booked for them, driven by the events EventBridge delivers."""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from datetime import datetime

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import select

from devtools.apigw import ROOT, LambdaContext, load_function_module
from reservas import events
from reservas.tables import outbox, reservations
from tests.integration.conftest import bearer
from tests.support import at_once


def promote_function():
    return load_function_module(ROOT / "functions" / "promote").handler


def deliver(event_type: str, payload: dict) -> dict:
    """An event as EventBridge hands it to the function."""
    event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": event_type, "source": "reservas"}
    return promote_function()(
        {**event, "detail": payload}, LambdaContext("PromoteFunction", timeout_seconds=30)
    )


def wait_for(booking, start: str, end: str, token: str):
    body = {"space_id": booking.space["id"], "start_time": booking.at(start), "end_time": booking.at(end)}
    return booking.api.post("/waitlist", json=body, headers=bearer(token))


def announced(engine, event_type: str) -> list[uuid.UUID]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(outbox.c.aggregate_id).where(outbox.c.event_type == event_type).order_by(outbox.c.id)
        )
        return list(rows.scalars())


def test_a_cancellation_books_the_first_person_waiting(booking, register, engine):
    taken = booking.post("10:00", "11:00").json()
    waiting = register("waiting@example.com", name="Waiting")
    assert booking.post("10:00", "11:00", token=waiting["access_token"]).status_code == 409
    entry = wait_for(booking, "10:00", "11:00", waiting["access_token"])
    assert entry.status_code == 201, entry.text
    assert entry.json()["status"] == "waiting"
    assert wait_for(booking, "10:00", "11:00", waiting["access_token"]).json()["id"] == entry.json()["id"]
    cancelled = booking.api.delete(
        f"/reservations/{taken['id']}", headers=bearer(booking.user["access_token"])
    )
    assert deliver("ReservationCancelled", cancelled.json()) == {"promoted": 1}
    assert deliver("ReservationCancelled", cancelled.json()) == {"promoted": 0}  # delivered twice
    mine = booking.api.get("/waitlist", headers=bearer(waiting["access_token"])).json()
    assert [(e["status"], e["id"]) for e in mine] == [("promoted", entry.json()["id"])]
    reservation = booking.api.get(
        f"/reservations/{mine[0]['reservation_id']}", headers=bearer(waiting["access_token"])
    ).json()
    assert (reservation["start_time"], reservation["status"]) == (booking.at("10:00"), "active")
    assert announced(engine, "WaitlistPromoted") == [uuid.UUID(entry.json()["id"])]


def test_first_come_first_served_where_intervals_allow(booking, register, engine):
    taken = booking.post("10:00", "12:00").json()
    first, second, third = (register(f"w{n}@example.com", name=f"W{n}") for n in range(3))
    assert wait_for(booking, "10:30", "11:30", first["access_token"]).status_code == 201
    assert wait_for(booking, "10:00", "11:00", second["access_token"]).status_code == 201  # overlaps first's
    assert wait_for(booking, "11:30", "12:00", third["access_token"]).status_code == 201  # fits after it
    cancelled = booking.api.delete(
        f"/reservations/{taken['id']}", headers=bearer(booking.user["access_token"])
    )
    assert deliver("ReservationCancelled", cancelled.json()) == {"promoted": 2}
    statuses = [
        booking.api.get("/waitlist", headers=bearer(person["access_token"])).json()[0]["status"]
        for person in (first, second, third)
    ]
    assert statuses == ["promoted", "waiting", "promoted"]


def test_promotions_racing_manual_bookings_never_overlap_and_announce_once(booking, register, engine):
    people = [register(f"r{n}@example.com", name=f"R{n}") for n in range(6)]
    taken = booking.post("09:00", "13:00").json()
    for person, (start, end) in zip(
        people[:4],
        [("09:00", "10:00"), ("09:30", "10:30"), ("10:00", "11:00"), ("12:00", "13:00")],
        strict=True,
    ):
        assert wait_for(booking, start, end, person["access_token"]).status_code == 201
    cancelled = booking.api.delete(
        f"/reservations/{taken['id']}", headers=bearer(booking.user["access_token"])
    )
    answers = at_once(
        lambda: deliver("ReservationCancelled", cancelled.json()),
        lambda: deliver("ReservationCancelled", cancelled.json()),
        lambda: booking.post("10:00", "11:00", token=people[4]["access_token"]),
        lambda: booking.post("12:00", "12:30", token=people[5]["access_token"]),
    )
    assert all(not isinstance(a, Exception) for a in answers)
    with engine.connect() as connection:
        rows = connection.execute(
            select(reservations.c.start_time, reservations.c.end_time)
            .where(reservations.c.status == "active")
            .order_by(reservations.c.start_time)
        ).all()
    assert all(a.end_time <= b.start_time for a, b in itertools.pairwise(rows)), rows
    promoted = announced(engine, "WaitlistPromoted")
    assert len(promoted) == len(set(promoted)) >= 1


def test_the_event_path_from_the_outbox_through_the_templates_rule(booking, register, engine, monkeypatch):
    """The outbox publishes to EventBridge (moto); the rule's pattern, as in template.yaml, routes the
    cancellation to the promotion function (here through an SQS target that stands for it)."""
    from samcli.yamlhelper import yaml_parse

    template = yaml_parse((ROOT / "template.yaml").read_text())
    pattern = template["Resources"]["PromoteFunction"]["Properties"]["Events"]["TimeFreed"]["Properties"][
        "Pattern"
    ]
    taken = booking.post("10:00", "11:00").json()
    waiting = register("waiting@example.com", name="Waiting")
    assert wait_for(booking, "10:00", "11:00", waiting["access_token"]).status_code == 201
    booking.api.delete(f"/reservations/{taken['id']}", headers=bearer(booking.user["access_token"]))
    with mock_aws():
        bridge = boto3.client("events", region_name="eu-west-1")
        queues = boto3.client("sqs", region_name="eu-west-1")
        bridge.create_event_bus(Name="reservas")
        queue = queues.create_queue(QueueName="promote")["QueueUrl"]
        arn = queues.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        bridge.put_rule(Name="time-freed", EventBusName="reservas", EventPattern=json.dumps(pattern))
        bridge.put_targets(
            Rule="time-freed", EventBusName="reservas", Targets=[{"Id": "promote", "Arn": arn}]
        )
        with engine.connect() as db:
            events.publish_pending(db, bridge, "reservas")
        delivered = queues.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    types = [json.loads(m["Body"])["detail-type"] for m in delivered]
    assert types == ["ReservationCancelled"]  # ReservationCreated frees nothing: not routed
    result = promote_function()(
        json.loads(delivered[0]["Body"]), LambdaContext("PromoteFunction", timeout_seconds=30)
    )
    assert result == {"promoted": 1}


def test_an_entry_follows_the_booking_rules_and_is_its_owners(booking, register):
    waiting = register("waiting@example.com", name="Waiting")
    assert wait_for(booking, "07:00", "08:00", waiting["access_token"]).status_code == 422  # closed then
    free = wait_for(booking, "10:00", "11:00", waiting["access_token"])
    assert free.status_code == 409 and free.json()["title"] == "Free"  # book it instead
    assert booking.post("10:00", "11:00").status_code == 201
    mine = wait_for(booking, "10:00", "11:00", booking.user["access_token"])
    assert mine.status_code == 409 and mine.json()["title"] == "Yours already"
    entry = wait_for(booking, "10:00", "11:00", waiting["access_token"]).json()
    assert (
        booking.api.delete(
            f"/waitlist/{entry['id']}", headers=bearer(booking.user["access_token"])
        ).status_code
        == 404
    )
    assert (
        booking.api.delete(f"/waitlist/{entry['id']}", headers=bearer(waiting["access_token"])).status_code
        == 204
    )
    assert booking.api.get("/waitlist", headers=bearer(waiting["access_token"])).json() == []


@pytest.mark.parametrize("concurrent", [1, 8])
def test_at_most_ten_entries_per_person(booking, register, book, concurrent):
    person = register("many@example.com", name="Many")
    hours = [f"{h:02d}:00" for h in range(8, 20)]
    slots = list(itertools.pairwise(hours))[:11]
    for start, end in slots:  # all taken: worth waiting for
        book(
            booking.space, datetime.fromisoformat(booking.at(start)), datetime.fromisoformat(booking.at(end))
        )
    lock = threading.Lock()
    codes: list[int] = []

    def join(start, end):
        code = wait_for(booking, start, end, person["access_token"]).status_code
        with lock:
            codes.append(code)

    for offset in range(0, len(slots), concurrent):
        at_once(*[lambda s=s: join(*s) for s in slots[offset : offset + concurrent]])
    assert sorted(codes) == [201] * 10 + [422]
