"""MigrateFunction as a CloudFormation custom resource (template.yaml's `Migrations`): the migrations
run on every create and update of the stack, and CloudFormation is always answered, with success or
failure, so a deploy never waits for an answer that will not come.

- Create and Update run the migrations (upgrades only, and idempotent). A rollback sends an Update
  with the previous properties, which runs them again: the schema stays where the newer code took it,
  which is why migrations are written expand-then-contract (README, "Migrations on deploy").
- Delete does nothing: removing the stack never touches the database.
- The answer goes to the presigned S3 URL CloudFormation gives (in a VPC without NAT, only the S3
  gateway endpoint reaches it). It is sent before the function's own time runs out, even when the
  migrations have not finished by then, and its reason names what failed without any secret."""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from reservas.observability import logger

# Time kept back from the function's own limit to answer CloudFormation in.
ANSWER_MARGIN_SECONDS = 30  # covers SEND_ATTEMPTS at SEND_TIMEOUT_SECONDS, and the pauses
SEND_ATTEMPTS = 4
SEND_TIMEOUT_SECONDS = 4
REASON_LIMIT = 500


def is_request(event: object) -> bool:
    return isinstance(event, dict) and "RequestType" in event and "ResponseURL" in event


def answer(event: dict[str, Any], context: Any, migrate: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run `migrate` for a Create or Update (not a Delete) and tell CloudFormation how it went."""
    status, reason, data = "SUCCESS", "", {}
    if event["RequestType"] in ("Create", "Update"):
        budget = context.get_remaining_time_in_millis() / 1000 - ANSWER_MARGIN_SECONDS
        try:
            data = _within(migrate, max(budget, 1))
        # Every failure is an answer, SystemExit and KeyboardInterrupt too: CloudFormation must never wait.
        except BaseException as error:
            logger.exception("the migrations failed during a deploy")
            status, reason = "FAILED", _reason(error)
    body = {
        "Status": status,
        "Reason": reason or f"See the log stream {getattr(context, 'log_stream_name', '')}",
        "PhysicalResourceId": event.get("PhysicalResourceId") or f"{event['LogicalResourceId']}-migrations",
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": False,
        "Data": {key: str(value) for key, value in data.items()},
    }
    _send(event["ResponseURL"], body)
    return body


class _Unfinished(Exception):
    pass


def _within(work: Callable[[], dict[str, Any]], seconds: float) -> dict[str, Any]:
    """`work()`'s result, or _Unfinished when it takes longer than `seconds` (it runs on in its thread
    until the function is frozen; the migrations' own transactions keep the database consistent)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except BaseException as error:  # handed to the caller, who answers with it
            outcome["error"] = error

    worker = threading.Thread(target=run, name="migrations", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise _Unfinished(f"the migrations did not finish within {seconds:.0f} seconds")
    if "error" in outcome:
        raise outcome["error"]
    result: dict[str, Any] = outcome["result"]
    return result


# A password as a libpq DSN, an environment variable or a dict shows it (`password=x`, `PGPASSWORD=x`,
# `'password': 'x'`, quoted or not), and an address without a scheme (`user:x@host`).
_PASSWORD_VALUE = re.compile(
    r"""(?i)(pass(?:word|wd)?|pwd|secret|token)(["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s"',;&)}]+)"""
)
_LOGIN_IN_ADDRESS = re.compile(r"[^\s/@:'\"]+:[^\s/@'\"]+@")


def _reason(error: BaseException) -> str:
    """What failed, in one line: the error's kind and first line (SQLAlchemy puts the statement and its
    parameters on later lines), never a URL with its password, nor a password in any other shape."""
    first = (str(error).strip().splitlines() or [""])[0]
    text = f"{type(error).__name__}: {first}" if not isinstance(error, _Unfinished) else first
    if "://" in text:
        text = f"{type(error).__name__} (the message names an address; see the function's log)"
    text = _PASSWORD_VALUE.sub(r"\1\2***", text)
    text = _LOGIN_IN_ADDRESS.sub("***@", text)
    return text[:REASON_LIMIT]


def _send(url: str, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    for attempt in range(1, SEND_ATTEMPTS + 1):
        request = urllib.request.Request(  # noqa: S310 (CloudFormation's presigned https URL)
            url, data=payload, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(payload))}
        )
        try:
            with urllib.request.urlopen(request, timeout=SEND_TIMEOUT_SECONDS) as response:  # noqa: S310
                if 200 <= response.status < 300:
                    return
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:  # garbled too
            logger.warning("answering CloudFormation failed", extra={"attempt": attempt, "error": str(error)})
        if attempt < SEND_ATTEMPTS:
            time.sleep(attempt)
    logger.error("CloudFormation could not be answered; the stack waits for ServiceTimeout")
