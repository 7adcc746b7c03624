"""Helpers shared by the tests: function apps, API Gateway events, users."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from devtools.apigw import ROOT, LambdaContext, load_function_module, v2_event
from reservas.spaces.calendar import day_window

GROUPS = ("auth", "users", "spaces", "reservations")
STRONG_PASSWORD = "Correct-Horse-9"


def function_module(group: str):
    return load_function_module(ROOT / "functions" / group)


def http_event(method: str, path: str, **kwargs: Any) -> dict:
    """An API Gateway HTTP API payload-v2 event, as API Gateway sends it."""
    return v2_event(method, path, **kwargs)


def invoke(group: str, event: dict) -> tuple[int, dict[str, str], Any]:
    """Call a function's Lambda handler with an event; return status, headers and the decoded body."""
    status, headers, body, _ = invoke_with_cookies(group, event)
    return status, headers, body


def invoke_with_cookies(group: str, event: dict) -> tuple[int, dict[str, str], Any, list[str]]:
    """`invoke`, and the cookies the answer sets: payload v2's `cookies`, each a Set-Cookie value
    (`http_event(..., cookies=["name=value"])` sends cookies)."""
    response = function_module(group).handler(event, LambdaContext(f"{group.title()}Function"))
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    decoded = json.loads(body) if body else None
    return response["statusCode"], response.get("headers", {}), decoded, response.get("cookies", [])


def mark_verified(engine, email: str) -> None:
    """The address verified, as its owner does by the link sent to it (tests of their own cover that)."""
    from sqlalchemy import text

    with engine.begin() as connection:
        connection.execute(
            text("UPDATE users SET email_verified_at = now() WHERE email = lower(:email)"), {"email": email}
        )


def sign_up(client, engine, email: str, password: str = STRONG_PASSWORD, name: str = "Ana") -> dict:
    """Register through the API, verify the address, sign in: the sign-in's answer (user and tokens).
    `client` posts to /auth (a TestClient of the auth function, or an HTTP client of the local API)."""
    registered = client.post("/auth/register", json={"email": email, "password": password, "name": name})
    assert registered.status_code == 202, registered.text
    mark_verified(engine, email)
    signed_in = client.post("/auth/login", json={"email": email, "password": password})
    assert signed_in.status_code == 200, signed_in.text
    return signed_in.json()


def sign_up_through_handlers(engine, email: str, password: str = STRONG_PASSWORD, name: str = "Ana") -> dict:
    """`sign_up`, with API Gateway events through the auth function's Lambda handler."""
    credentials = {"email": email, "password": password}
    status, _, body = invoke("auth", http_event("POST", "/auth/register", body={**credentials, "name": name}))
    assert status == 202, body
    mark_verified(engine, email)
    status, _, tokens = invoke("auth", http_event("POST", "/auth/login", body=credentials))
    assert status == 200, tokens
    return tokens


def link_sent_to(engine, email: str, purpose: str = "verify") -> str:
    """The token of the latest link asked for this address, made as the notifier makes it when it sends
    the message (the notifier's own tests cover the sending)."""
    from sqlalchemy import select

    from reservas.accounts import verification
    from reservas.tables import account_tokens

    with engine.connect() as db:
        token_id = db.execute(
            select(account_tokens.c.id)
            .where(account_tokens.c.email == email, account_tokens.c.purpose == purpose)
            .order_by(account_tokens.c.created_at.desc())
            .limit(1)
        ).scalar_one()
        issued = verification.issue(db, token_id)
        assert issued is not None, "the link was made already, or too many were sent"
        db.commit()
    return issued[1]


def load_event(name: str) -> dict:
    return json.loads((Path(ROOT) / "events" / name).read_text())


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def space_body(**overrides) -> dict:
    return {
        "name": "Sala Retiro",
        "description": "Meeting room with a projector",
        "capacity": 8,
        "location": "Madrid, floor 3",
        "amenities": ["projector", "whiteboard"],
        "timezone": "Europe/Madrid",
        "opening_hours": {day: [["08:00", "20:00"]] for day in WEEKDAYS},
        "price_per_hour": "25.00",
        "currency": "EUR",
        "max_advance_days": 730,
        **overrides,
    }


def next_day(zone_name: str, *, hours: int = 24, weekday: int | None = None) -> date:
    """The first local day at least two days ahead that lasts `hours` (23 or 25 on DST days)."""
    zone = ZoneInfo(zone_name)
    day = date.today() + timedelta(days=2)
    for _ in range(800):
        window = day_window(day, day, zone)
        if window.minutes == hours * 60 and (weekday is None or day.weekday() == weekday):
            return day
        day += timedelta(days=1)
    raise AssertionError("no such day in the coming two years")


def local(zone_name: str, day: date, hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone_name))


def at_once(*requests):
    """Send the requests from threads released together; their answers, in order."""
    barrier = threading.Barrier(len(requests))
    answers = [None] * len(requests)

    def send(index, request):
        barrier.wait()
        answers[index] = request()

    threads = [threading.Thread(target=send, args=pair) for pair in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


EVERY_DAY = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def local_time(zone: str, day: date, hhmm: str) -> str:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone)).isoformat()


def active_count(engine, space_id: str) -> int:
    """How many active reservations the space has."""
    from sqlalchemy import func, select

    from reservas.tables import reservations

    with engine.connect() as connection:
        return connection.execute(
            select(func.count()).where(
                reservations.c.space_id == uuid.UUID(space_id), reservations.c.status == "active"
            )
        ).scalar_one()


def race_transactions(*transactions) -> list[str]:
    """Each transaction (a function of a connection) runs on its own connection, all released at once
    by a barrier, and holds its rows a moment before committing so that they truly overlap in time;
    how each ended: "committed", or the SQLSTATE it failed with.

    The connections have none of the API's timeouts (whose lock_timeout equals deadlock_timeout): a
    wait ends with the constraint's or the deadlock detector's verdict, however many rounds of
    detection the racers take."""
    import os

    from sqlalchemy import exc, text

    from reservas.database import build_engine, sqlstate

    racers = build_engine(
        os.environ["DATABASE_URL"],
        pool_size=len(transactions),
        session_settings={"lock_timeout": "0", "statement_timeout": "0"},
    )
    barrier = threading.Barrier(len(transactions))
    outcomes = [""] * len(transactions)

    def run(index, work):
        with racers.connect() as connection:
            try:
                barrier.wait()
                work(connection)
                connection.execute(text("SELECT pg_sleep(0.05)"))
                connection.commit()
                outcomes[index] = "committed"
            except exc.DBAPIError as error:
                connection.rollback()
                outcomes[index] = sqlstate(error) or repr(error)

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(transactions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    racers.dispose()
    assert all(outcomes), f"a racer never finished: {outcomes}"
    return outcomes


def bus_events(engine) -> list[dict]:
    """Every event in the outbox, as EventBridge hands it to a function."""
    from sqlalchemy import select

    from reservas.tables import outbox

    with engine.connect() as connection:
        rows = connection.execute(
            select(outbox.c.id, outbox.c.event_type, outbox.c.payload, outbox.c.created_at).order_by(
                outbox.c.id
            )
        ).all()
    return [
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "source": "reservas",
            "detail-type": row.event_type,
            "time": row.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "detail": {**row.payload, "event_id": row.id},
        }
        for row in rows
    ]
