"""`make dev`'s event bus and scheduler read their wiring from template.yaml, as the stack does."""

from __future__ import annotations

import json
import threading

import pytest

from devtools.apigw import TEMPLATE
from devtools.local_events import LocalEvents, matches, rate_seconds


def _template() -> dict:
    from samcli.yamlhelper import yaml_parse

    return yaml_parse(TEMPLATE.read_text())


def test_the_template_rules_and_rate_schedules_are_wired_and_cron_ones_are_not():
    bus = LocalEvents(_template(), invoke=lambda name, event: None)
    assert sorted(name for name, _ in bus.rules) == [
        "NotifierFunction",
        "PromoteFunction",
        "WebhooksFunction",
    ]
    assert sorted(bus.schedules, key=str) == [
        ("NotifierFunction", 300, {"reminders": True}),
        (
            "OutboxPublisherFunction",
            60,
            {"version": "0", "detail-type": "Scheduled Event", "source": "aws.scheduler"},
        ),
        (
            "ReleaseFunction",
            60,
            {"version": "0", "detail-type": "Scheduled Event", "source": "aws.scheduler"},
        ),
        ("WebhooksFunction", 60, {"retry": True}),
    ]


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 hours)", 7200), ("rate(1 day)", 86400)],
)
def test_rates(expression, seconds):
    assert rate_seconds(expression) == seconds


@pytest.mark.parametrize("expression", ["cron(17 3 * * ? *)", "rate(0.5 minutes)", "rate(1 week)", ""])
def test_what_is_not_a_rate_does_not_run(expression):
    assert rate_seconds(expression) is None


def test_patterns_match_exact_values_and_nested_objects():
    pattern = {"source": ["reservas"], "detail-type": ["ReservationCancelled"], "detail": {"kind": ["a"]}}
    event = {"source": "reservas", "detail-type": "ReservationCancelled", "detail": {"kind": "a"}}
    assert matches(pattern, event)
    assert not matches(pattern, {**event, "detail-type": "ReservationCreated"})
    assert not matches(pattern, {**event, "detail": {"kind": "b"}})
    assert not matches(pattern, {**event, "detail": "not an object"})


def test_a_pattern_the_local_bus_cannot_match_stops_it_rather_than_matching_wrongly():
    template = {
        "Resources": {
            "F": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Events": {
                        "E": {"Type": "EventBridgeRule", "Properties": {"Pattern": {"account": ["1"]}}}
                    }
                },
            }
        }
    }
    with pytest.raises(ValueError, match="cannot match"):
        LocalEvents(template, invoke=lambda name, event: None)


def test_put_events_delivers_to_the_matching_function_in_the_background():
    delivered: list[tuple[str, dict]] = []
    done = threading.Event()

    def invoke(name, event):
        delivered.append((name, event))
        if len(delivered) == 5:
            done.set()

    bus = LocalEvents(_template(), invoke)
    bus.start()
    try:
        entries = [
            {"Source": "reservas", "DetailType": "ReservationCreated", "Detail": json.dumps({"id": 1})},
            {"Source": "reservas", "DetailType": "ReservationCancelled", "Detail": json.dumps({"id": 2})},
        ]
        answer = bus.put_events(Entries=entries)
        assert [bool(entry["EventId"]) for entry in answer["Entries"]] == [True, True]
        assert done.wait(5)
    finally:
        bus.stop()
    # A creation frees no time (the promotion function does not hear of it) but calls for a message;
    # webhooks hear of both.
    assert [(name, event["detail"]) for name, event in delivered] == [
        ("NotifierFunction", {"id": 1}),
        ("WebhooksFunction", {"id": 1}),
        ("PromoteFunction", {"id": 2}),
        ("NotifierFunction", {"id": 2}),
        ("WebhooksFunction", {"id": 2}),
    ]
