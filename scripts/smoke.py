#!/usr/bin/env python3
"""Smoke test of a live Reservas API: the local one (`make dev`) or a deployed stack's `ApiUrl`.

    SMOKE_EMAIL=... SMOKE_PASSWORD=... make smoke URL=https://abc123.execute-api.eu-west-1.amazonaws.com
    .venv/bin/python scripts/smoke.py --url http://127.0.0.1:3000 --mail-folder .local/mail

It checks, in order, and stops at the first failure (exit status 1):

1. the health of the four groups (auth, users, spaces, reservations);
2. registering (202): locally (`--mail-folder`) a new account, verified with the link the local API
   wrote there; against a deployed stack, the address of `--email` again, which creates nothing (its
   owner is sent an "already registered" notice);
3. signing in (with the new account, or `--email`/`--password` of a verified one);
4. a space's availability (`--space`, or the first active space), over the next two weeks;
5. a booking of its first free slot, the same request again (the same booking: Idempotency-Key), and
   the same time with another key (409 with what is in the way);
6. cancelling it;
7. a browser's preflight: refused for an origin nobody configured, and with `--origin`, allowed for it;

then cleans up whatever it made (the booking, and the account it registered), also after a failure.
Only the standard library: it runs with any Python 3.11 or newer."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

GROUPS = ("auth", "users", "spaces", "reservations")
FOREIGN_ORIGIN = "https://smoke-test.invalid"


class Failed(Exception):
    """A check that did not hold: what was expected, and what came instead."""


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise Failed(f"the answer is not JSON: {self.body[:200]!r}") from None

    def __str__(self) -> str:
        return f"{self.status} {self.body[:300].decode(errors='replace')}"


class Api:
    def __init__(self, base: str, timeout: float) -> None:
        if not base.startswith(("http://", "https://")):
            raise SystemExit(f"--url must be an http(s) URL, not {base!r}")
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.token: str | None = None

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Answer:
        sent = {"Accept": "application/json", "User-Agent": "reservas-smoke", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        if self.token and "Authorization" not in sent:
            sent["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.base + path, data=data, headers=sent, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (http(s) only)
                return Answer(response.status, _lower(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, _lower(error.headers), error.read())
        except (urllib.error.URLError, TimeoutError, OSError, http.client.HTTPException) as error:
            raise Failed(f"{method} {path}: no answer ({getattr(error, 'reason', error)})") from None


def _lower(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def expect(answer: Answer, *statuses: int) -> Answer:
    if answer.status not in statuses:
        raise Failed(f"expected {' or '.join(map(str, statuses))}, got {answer}")
    return answer


class Smoke:
    def __init__(self, args: argparse.Namespace, say: Callable[[str], None]) -> None:
        self.args = args
        self.say = say
        self.api = Api(args.url, args.timeout)
        self.created_password: str | None = None  # the account this run registered, to remove
        self.booking_id: str | None = None
        # The booking asked for, with its Idempotency-Key: when its answer is lost (a timeout, a dropped
        # connection, Ctrl-C), the same request again answers the booking the API may have made.
        self.booking_request: tuple[dict[str, str], dict[str, str]] | None = None

    def run(self) -> None:
        try:
            self.health()
            self.sign_in()
            space, slot = self.free_slot()
            self.book(space, slot)
            self.cancel()
            self.preflight()
        except Failed as failure:
            self.say(f"FAIL  {failure}")
            raise
        finally:
            clean = self.clean_up()
        if not clean:
            self.say("FAIL  the clean-up left what the smoke test made")
            raise Failed("the clean-up left what the smoke test made")

    def check(self, what: str, result: str = "") -> None:
        self.say(f"ok    {what}{f' ({result})' if result else ''}")

    def health(self) -> None:
        for group in GROUPS:
            answer = self.api.call("GET", f"/{group}/health")
            body = expect(answer, 200).json()
            if body.get("status") not in ("healthy", "degraded"):
                raise Failed(f"{group} is {body.get('status')}: {body.get('checks')}")
            self.check(f"health of {group}", f"{body['status']}, database {body['checks']['database']}")

    def sign_in(self) -> None:
        """Locally, a new account (verified with the link in the mail folder, removed at the end);
        against a deployed stack, registering the given account's address again answers as for any
        address (that account is sent a notice) and creates nothing, and the account signs in."""
        if self.args.mail_folder:
            address = f"smoke-{uuid.uuid4().hex[:12]}@{self.args.register_domain}"
            password = "Smoke-" + secrets.token_urlsafe(18)
        elif self.args.email and self.args.password:
            address, password = self.args.email, self.args.password
        else:
            raise Failed("to sign in, give --email and --password of a verified account (or --mail-folder)")
        body = {"email": address, "password": password, "name": "Smoke test"}
        expect(self.api.call("POST", "/auth/register", body), 202)
        self.check("register", address)
        if self.args.mail_folder:
            token = verification_token(Path(self.args.mail_folder), address, self.args.timeout)
            verified = self.api.call("POST", "/auth/verify", {"token": token, "password": password})
            expect(verified, 200)
            self.created_password = password
            self.check("verify the address with the emailed link")
        pair = expect(
            self.api.call("POST", "/auth/login", {"email": address, "password": password}), 200
        ).json()
        self.api.token = pair["access_token"]
        self.check("sign in", address)

    def free_slot(self) -> tuple[dict[str, Any], dict[str, str]]:
        if self.args.space:
            space = expect(self.api.call("GET", f"/spaces/{self.args.space}"), 200).json()
        else:
            page = expect(self.api.call("GET", "/spaces?limit=50"), 200).json()
            if not page["items"]:
                raise Failed("no space to book: create one (or give --space)")
            space = page["items"][0]
        soon = datetime.now(UTC) + timedelta(hours=1)
        today = datetime.now(ZoneInfo(space["timezone"])).date()
        for offset in range(15):
            day: date = today + timedelta(days=offset)
            path = f"/spaces/{space['id']}/availability?date={day.isoformat()}"
            slots = expect(self.api.call("GET", path), 200).json()["slots"]
            for slot in slots:
                if datetime.fromisoformat(slot["start_time"]) > soon:
                    self.check(f"availability of {space['name']}", f"free at {slot['start_time']}")
                    return space, slot
        raise Failed(f"{space['name']} has no free slot in the next two weeks")

    def book(self, space: dict[str, Any], slot: dict[str, str]) -> None:
        request = {"space_id": space["id"], "start_time": slot["start_time"], "end_time": slot["end_time"]}
        key = {"Idempotency-Key": str(uuid.uuid4())}
        self.booking_request = (request, key)
        booked = expect(self.api.call("POST", "/reservations", request, key), 201).json()
        self.booking_id = booked["id"]
        self.check("book it", booked["id"])
        again = expect(self.api.call("POST", "/reservations", request, key), 201, 200).json()
        if again["id"] != booked["id"]:
            raise Failed(f"the same request with the same Idempotency-Key booked again: {again['id']}")
        self.check("the same request again answers the same booking")
        other = {"Idempotency-Key": str(uuid.uuid4())}
        taken = expect(self.api.call("POST", "/reservations", request, other), 409)
        if not taken.headers.get("content-type", "").startswith("application/problem+json"):
            raise Failed(f"a 409 that is not problem+json: {taken.headers.get('content-type')}")
        if not taken.json().get("conflicts"):
            raise Failed(f"a 409 that says nothing of what is in the way: {taken}")
        self.check("the same time again is refused", "409 with what is in the way")

    def cancel(self) -> None:
        cancelled = expect(self.api.call("DELETE", f"/reservations/{self.booking_id}"), 200).json()
        if cancelled["status"] != "cancelled":
            raise Failed(f"cancelled, it reads as {cancelled['status']}")
        self.booking_id = None
        self.booking_request = None
        self.check("cancel it")

    def preflight(self) -> None:
        asking = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
        foreign = self.api.call("OPTIONS", "/reservations", headers={"Origin": FOREIGN_ORIGIN, **asking})
        if foreign.headers.get("access-control-allow-origin") in (FOREIGN_ORIGIN, "*"):
            raise Failed(f"a page at {FOREIGN_ORIGIN}, which nobody configured, may call the API")
        self.check("a browser preflight from an unknown origin is refused", str(foreign.status))
        if self.args.origin:
            answer = self.api.call("OPTIONS", "/reservations", headers={"Origin": self.args.origin, **asking})
            allowed = answer.headers.get("access-control-allow-origin")
            if answer.status not in (200, 204) or allowed != self.args.origin:
                raise Failed(
                    f"a browser preflight from {self.args.origin} is not allowed ({answer.status}, "
                    f"Access-Control-Allow-Origin: {allowed}): is it in the stack's CorsAllowOrigins?"
                )
            self.check(f"a browser preflight from {self.args.origin} is allowed")

    def clean_up(self) -> bool:
        """Cancel the booking (found again by its Idempotency-Key when its answer was lost) and remove
        the account this run registered; each step is tried even when another gets no answer. False
        when something is left."""
        clean = True
        try:
            if not self.booking_id and self.booking_request:
                request, key = self.booking_request
                again = self.api.call("POST", "/reservations", request, key)
                if again.status in (200, 201) and isinstance(booked := again.json(), dict):
                    self.booking_id = booked.get("id")
            if self.booking_id:
                answer = self.api.call("DELETE", f"/reservations/{self.booking_id}")
                clean = answer.status == 200
                self.say(f"clean {'cancelled the booking' if clean else f'booking left: {answer}'}")
        except Failed as failure:
            clean = False
            self.say(f"clean booking perhaps left ({self.booking_id or 'id unknown'}): {failure}")
        if self.created_password:
            try:
                answer = self.api.call("DELETE", "/users/me", {"current_password": self.created_password})
            except Failed as failure:
                clean = False
                self.say(f"clean account left: {failure}")
            else:
                done = answer.status == 204
                clean = clean and done
                self.say(f"clean {'removed the account' if done else f'account left: {answer}'}")
        return clean


def verification_token(folder: Path, address: str, timeout: float) -> str:
    """The token of the link the local API wrote to its mail folder for this address."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in folder.glob("*.eml"):
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            if message["To"] and address in str(message["To"]):
                text = message.get_body(("plain",))
                found = re.search(r"/verify\?token=([\w.~%-]+)", text.get_content() if text else "")
                if found:
                    return found.group(1)
        time.sleep(0.2)
    raise Failed(f"no verification link for {address} in {folder}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("SMOKE_URL", "http://127.0.0.1:3000"))
    parser.add_argument("--email", default=os.environ.get("SMOKE_EMAIL"), help="a verified account's")
    parser.add_argument("--password", default=os.environ.get("SMOKE_PASSWORD"))
    parser.add_argument("--mail-folder", help="the local API's mail folder (RESERVAS_MAIL_FOLDER)")
    parser.add_argument("--space", help="the id of the space to book (default: the first active one)")
    parser.add_argument("--origin", help="a web page's origin the API must allow (CorsAllowOrigins)")
    parser.add_argument("--register-domain", default="example.com", help="of the address registered")
    parser.add_argument("--timeout", type=float, default=15, help="seconds per request")
    args = parser.parse_args(argv)
    print(f"Smoke test of {args.url}")
    try:
        Smoke(args, say=lambda line: print(line, flush=True)).run()
    except Failed:
        return 1
    print("All checks passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
