"""`make dev`'s EventBridge and scheduler, without AWS: what template.yaml wires to events and schedules
runs here, in this process, as it runs in the stack.

- An event bus: events go to the functions whose `EventBridgeRule` pattern they match, one at a time,
  in a thread of their own (EventBridge delivers asynchronously too).
- After each request, the events it recorded are published, as the functions' extension does in Lambda.
- Each `rate(...)` schedule invokes its function at that rate (the outbox publisher's sweep included);
  `cron(...)` schedules (the nightly maintenance) do not run locally."""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("reservas.local_events")

BUS_NAME = "local"
RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
SUPPORTED_PATTERN_KEYS = {"source", "detail-type", "detail"}


def rate_seconds(expression: str) -> int | None:
    """Seconds between runs of a `rate(...)` schedule; None for anything else (cron)."""
    match = RATE.match(expression)
    if not match:
        return None
    return int(match.group(1)) * UNIT_SECONDS[match.group(2).rstrip("s")]


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether an event matches an EventBridge pattern of exact values (lists) and nested objects, the
    only forms the template's rules use."""
    for key, expected in pattern.items():
        value = event.get(key)
        if isinstance(expected, dict):
            if not isinstance(value, dict) or not matches(expected, value):
                return False
        elif value not in expected:
            return False
    return True


class LocalEvents:
    def __init__(self, template: dict[str, Any], invoke: Callable[[str, dict[str, Any]], Any]) -> None:
        """`invoke(function_name, event)` calls a function's handler as Lambda would."""
        self.invoke = invoke
        self.rules: list[tuple[str, dict[str, Any]]] = []
        self.schedules: list[tuple[str, int, dict[str, Any]]] = []
        for name, resource in template.get("Resources", {}).items():
            if resource.get("Type") != "AWS::Serverless::Function":
                continue
            for trigger in (resource.get("Properties", {}).get("Events") or {}).values():
                properties = trigger.get("Properties", {})
                if trigger.get("Type") == "EventBridgeRule":
                    pattern = properties["Pattern"]
                    if set(pattern) - SUPPORTED_PATTERN_KEYS:
                        raise ValueError(f"{name}: the local bus cannot match {sorted(pattern)}")
                    self.rules.append((name, pattern))
                elif trigger.get("Type") in ("Schedule", "ScheduleV2"):
                    seconds = rate_seconds(properties.get("ScheduleExpression", ""))
                    scheduled = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.scheduler"}
                    if "Input" in properties:  # what the schedule hands the function instead
                        scheduled = json.loads(properties["Input"])
                    if seconds:
                        self.schedules.append((name, seconds, scheduled))
        self.delivering: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self.stopped = threading.Event()

    # What `reservas.events` calls its EventBridge client: PutEvents.
    def put_events(self, Entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
        answers = []
        for entry in Entries:
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": entry["DetailType"],
                "source": entry["Source"],
                "account": "000000000000",
                "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": "local",
                "resources": entry.get("Resources", []),
                "detail": json.loads(entry["Detail"]),
            }
            self.delivering.put(event)
            answers.append({"EventId": event["id"]})
        return {"FailedEntryCount": 0, "Entries": answers}

    def start(self) -> None:
        threading.Thread(target=self._deliver, name="local-bus", daemon=True).start()
        for name, seconds, scheduled in self.schedules:
            threading.Thread(
                target=self._every, args=(name, seconds, scheduled), name=f"schedule-{name}", daemon=True
            ).start()

    def stop(self) -> None:
        self.stopped.set()
        self.delivering.put(None)

    def _deliver(self) -> None:
        while (event := self.delivering.get()) is not None:
            for name, pattern in self.rules:
                if matches(pattern, event):
                    self._run(name, event)

    def _every(self, name: str, seconds: int, scheduled: dict[str, Any]) -> None:
        while not self.stopped.wait(seconds):
            self._run(name, scheduled)

    def _run(self, name: str, event: dict[str, Any]) -> None:
        try:
            result = self.invoke(name, event)
            log.info("%s ran for %s: %s", name, event.get("detail-type"), result)
        except Exception:
            log.exception("%s failed for %s", name, event.get("detail-type"))


def published_after_each_request(engine_of: Callable[[], Any]) -> Callable[[list[int]], None]:
    """What the functions' extension does in Lambda: a request's events are published once it has
    answered, here by a thread of their own."""
    from reservas import events

    handed_over: queue.SimpleQueue[list[int]] = queue.SimpleQueue()

    def publish() -> None:
        while True:
            events.publish_now(engine_of(), handed_over.get())

    threading.Thread(target=publish, name="after-response", daemon=True).start()
    return handed_over.put
