"""A request's events leave for EventBridge right after its answer, and the answer does not wait for them.

An internal Lambda extension (a thread of the function, registered with Lambda's Extensions API for
INVOKE events) publishes the events a request recorded once its handler has returned. Lambda sends the
answer as soon as the handler returns and keeps the environment running until every extension asks for
its next event, so the person who booked does not pay for the publishing. Outside Lambda, or without a
bus, nothing starts. Whatever this misses (EventBridge down, the environment reset) stays in the outbox
for the publisher's sweep every minute."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from reservas.observability import Handler, logger

if TYPE_CHECKING:
    import queue

NAME = "reservas-events"
EXTENSIONS_API = "/2020-01-01/extension"
# Between attempts to reach the Extensions API, which the extension must never stop asking.
RETRY_SECONDS = 0.5
# Done this long before the invocation's deadline, so that Lambda never times it out on our account.
MARGIN_SECONDS = 1.0
PUBLISH_SECONDS = 2.0  # at most, after an answer; the outbox publisher's sweep sends what is left


class Extension:
    """Registers at once (Lambda accepts registrations only while the function initialises) and waits in
    its own thread for each invocation; the handler hands it the ids of the events it recorded."""

    def __init__(self, runtime_api: str, publish: Any) -> None:
        import queue

        self.runtime_api = runtime_api
        self.publish = publish
        self.handed_over: queue.SimpleQueue[tuple[str, list[int]]] = queue.SimpleQueue()
        self.identifier = self._register()
        threading.Thread(target=self._run, name=NAME, daemon=True).start()

    def hand_over(self, request_id: str, event_ids: list[int]) -> None:
        self.handed_over.put((request_id, event_ids))

    def _register(self) -> str:
        status, headers, body = self._call(
            "POST", "/register", json.dumps({"events": ["INVOKE"]}), {"Lambda-Extension-Name": NAME}
        )
        identifier = headers.get("lambda-extension-identifier")
        if status != 200 or not identifier:
            raise RuntimeError(f"the Extensions API refused to register {NAME}: {status} {body[:200]!r}")
        return identifier

    def _run(self) -> None:
        """Never ends while the environment lives: an extension that stops asking for its next event
        holds every later invocation until it times out."""
        while True:
            invocation = self._next_invocation()
            if invocation.get("eventType") == "SHUTDOWN":
                return
            try:
                deadline = _deadline(invocation)
                event_ids = self._wait_for_handler(invocation.get("requestId"), deadline)
                if event_ids:
                    self.publish(event_ids, min(PUBLISH_SECONDS, deadline - time.time()))
            except Exception:
                logger.exception("the events of an invocation are left for the outbox publisher")

    def _next_invocation(self) -> dict[str, Any]:
        """Blocks until Lambda starts the next invocation (the environment is frozen meanwhile)."""
        while True:
            try:
                status, _, body = self._call(
                    "GET", "/event/next", headers={"Lambda-Extension-Identifier": self.identifier}
                )
                invocation = json.loads(body) if status == 200 else None
                if isinstance(invocation, dict):
                    return invocation
                logger.warning("the Extensions API answered next with an error", extra={"status": status})
            except Exception:
                logger.exception("the Extensions API did not answer next")
            time.sleep(RETRY_SECONDS)

    def _wait_for_handler(self, request_id: Any, deadline: float) -> list[int]:
        """The ids the handler of this invocation hands over, or none by `deadline` (a `time.time()`)."""
        import queue

        while (remaining := deadline - time.time()) > 0:
            try:
                handed_for, event_ids = self.handed_over.get(timeout=remaining)
            except queue.Empty:
                break
            if handed_for == request_id:
                return event_ids
        return []

    def _call(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection(self.runtime_api)
        try:
            connection.request(method, EXTENSIONS_API + path, body=body, headers=headers or {})
            response = connection.getresponse()
            answer = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, answer
        finally:
            connection.close()


def _deadline(invocation: dict[str, Any]) -> float:
    """When the extension must be done with this invocation (a `time.time()`): a margin before Lambda's
    deadline, never more than Lambda's longest timeout away, whatever the event says."""
    longest = time.time() + 900
    milliseconds = invocation.get("deadlineMs")
    if not isinstance(milliseconds, int | float) or not milliseconds > 0:
        return longest
    return min(milliseconds / 1000, longest) - MARGIN_SECONDS


def publishing_after_response(handler: Handler) -> Handler:
    """`handler`, whose recorded events the extension publishes once it has returned. Outside Lambda
    (no Extensions API), without a bus, or if Lambda refuses the extension: `handler` as it is."""
    runtime_api = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not runtime_api:
        return handler
    from reservas import events
    from reservas.database import get_engine
    from reservas.settings import get_settings

    if not get_settings().event_bus_name:
        return handler
    try:
        extension = Extension(runtime_api, lambda ids, within: events.publish_now(get_engine(), ids, within))
    except Exception:
        logger.exception("events will wait for the outbox publisher: no extension")
        return handler

    def handing_over(event: dict[str, Any], context: Any) -> dict[str, Any]:
        with events.collecting() as event_ids:
            try:
                return handler(event, context)
            finally:
                extension.hand_over(context.aws_request_id, event_ids)

    return handing_over
