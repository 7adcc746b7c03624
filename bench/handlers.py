"""Warm latency of every route's Lambda handler, in process, with API Gateway payload-v2 events.

    .venv/bin/python bench/handlers.py [--runs 100] [--slow-runs 10] [--repeats 3] [--json out]

It starts its own PostgreSQL and Redis (or uses DATABASE_URL / REDIS_URL), applies the migrations,
then calls each function's `handler` as Lambda would after the cold start: one event at a time, with a
LambdaContext, and checks every answer's status. Rate limits are off (measured: the handler, not the
limiter); bcrypt keeps its production cost (12 rounds), so register and login are mostly bcrypt and get
fewer runs (--slow-runs).

Each route needs a request that succeeds every time, so some calls are prepared before the clock
starts (never inside the timed call): register uses a new email each time; refresh presents the refresh
token the previous call handed out (they rotate); logout and DELETE /users/me get a session (and an
account) of their own, made directly in the database; DELETE /spaces/{id} gets a space of its own;
DELETE /reservations/{id} cancels one of the bookings POST /reservations made; the "uncached"
availability invalidates the space's cached availability first, as a booking does.

In each repeat every route gets its warm-up calls, then one call whose round trips to PostgreSQL and
Redis are counted (devtools.round_trips, as the budgets' test counts them; untimed), then its timed
runs; a route's p50 and p95 are the medians over the repeats of each repeat's p50 and p95. Rate limits
being off here, a route's Redis round trips in production are one more (the limiter's script).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common")]

from bench.common import Result, Row, fmt_ms, summarise  # noqa: E402
from devtools import devservices  # noqa: E402
from devtools.apigw import v2_event  # noqa: E402
from devtools.round_trips import counting  # noqa: E402

ZONE = ZoneInfo("Europe/Madrid")
PASSWORD = "Bench-Horse-2718"  # noqa: S105 (the benchmark accounts' password)
EVERY_DAY = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
SECTION = "Warm handler"
SERIES_OCCURRENCES = 52


def event(
    method: str, path: str, token: str | None = None, body: dict | None = None, query: dict | None = None
) -> dict:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return v2_event(
        method, path, body=body, headers=headers, query=urlencode(query or {}), source_ip="203.0.113.1"
    )


@dataclass
class Route:
    name: str  # as in template.yaml: "GET /spaces/{space_id}"
    group: str  # auth, users, spaces, reservations
    prepare: Callable[[int], dict]  # call number -> event; untimed
    expect: int
    slow: bool = False  # bcrypt: fewer runs
    after: Callable[[dict], None] | None = None  # untimed: reads what the answer handed out
    p50s: list[float] = field(default_factory=list)
    p95s: list[float] = field(default_factory=list)
    samples: list[float] = field(default_factory=list)  # every repeat's, in seconds
    calls: int = 0
    statements: int = 0  # SQL statements the last call sent
    trips: tuple[int, int] = (0, 0)  # PostgreSQL and Redis round trips of the last call


class Bench:
    """Handlers, the accounts and the objects the routes act on."""

    def __init__(self) -> None:
        from devtools.apigw import LambdaContext, load_function_module

        self.context = LambdaContext
        self.handlers = {
            group: load_function_module(ROOT / "functions" / group).handler
            for group in ("auth", "users", "spaces", "reservations")
        }
        self.counter = 0
        self.statements = 0

    def count_statements(self, *_: object) -> None:
        self.statements += 1

    def call(self, group: str, request: dict) -> tuple[int, Any]:
        response = self.handlers[group](request, self.context(f"{group.title()}Function"))
        body = response.get("body")
        return response["statusCode"], json.loads(body) if body else None

    def must(self, group: str, request: dict, status: int) -> Any:
        got, body = self.call(group, request)
        if got != status:
            raise RuntimeError(f"{request['routeKey']}: expected {status}, got {got}: {body}")
        return body

    def unique(self) -> int:
        self.counter += 1
        return self.counter

    def register(self, email: str) -> dict:
        """A new account, its address verified (by the database: the mail path is not what is measured),
        signed in: the sign-in's answer."""
        from sqlalchemy import update

        from reservas.database import get_engine
        from reservas.tables import users

        self.must(
            "auth",
            event("POST", "/auth/register", body={"email": email, "password": PASSWORD, "name": "Bench"}),
            202,
        )
        with get_engine().begin() as connection:
            connection.execute(
                update(users).where(users.c.email == email).values(email_verified_at=datetime.now(UTC))
            )
        return self.must(
            "auth", event("POST", "/auth/login", body={"email": email, "password": PASSWORD}), 200
        )

    def feed_changing(self, request: dict) -> dict:
        """A request that rotates or revokes the feed: the next feed read makes a new one."""
        self._feed_path = None
        return request

    def feed_path(self) -> str:
        """The bench user's feed, made once (its bookings grow as the bench books)."""
        if not getattr(self, "_feed_path", None):
            feed = self.must("users", event("POST", "/users/me/calendar-token", self.token), 201)
            self._feed_path = feed["path"]
        return self._feed_path

    def link(self, purpose: str) -> str:
        """The token of a fresh link of a new account (`verify`: not verified yet; `reset`: verified), as
        the notifier makes it and sends it."""
        from sqlalchemy import insert

        from reservas.accounts import repository, verification
        from reservas.database import get_engine
        from reservas.tables import account_tokens

        email = f"bench-link-{self.unique()}@example.com"
        with get_engine().connect() as db:
            user = repository.insert_user(
                db, email=email, password_hash=self.password_hash, name="Bench", verified=purpose == "reset"
            )
            assert user is not None
            token_id = db.execute(
                insert(account_tokens)
                .values(user_id=user["id"], purpose=purpose, email=email)
                .returning(account_tokens.c.id)
            ).scalar_one()
            issued = verification.issue(db, token_id)
            assert issued is not None
            db.commit()
        return issued[1]

    def setup(self) -> None:
        from sqlalchemy import event as sql_event

        from reservas.database import get_engine
        from reservas.passwords import hash_password
        from scripts.create_admin import make_admin as promote

        sql_event.listen(get_engine(), "before_cursor_execute", self.count_statements)
        self.user = self.register("bench-user@example.com")
        self.token = self.user["access_token"]
        self.refresh_token = self.user["refresh_token"]
        self.role_account = self.register("bench-role@example.com")["user"]["id"]  # its role flips
        self.register("bench-admin@example.com")
        with get_engine().connect() as connection:
            promote(connection, "bench-admin@example.com", "Bench admin", None)
        admin = self.must(
            "auth",
            event("POST", "/auth/login", body={"email": "bench-admin@example.com", "password": PASSWORD}),
            200,
        )
        self.admin_token = admin["access_token"]
        self.space = self.must(
            "spaces", event("POST", "/spaces", self.admin_token, self.space_body("Bench room")), 201
        )
        self.password_hash = hash_password(PASSWORD)  # for accounts made directly in the database
        self.first = datetime.now(UTC).astimezone(ZONE).replace(
            minute=0, second=0, microsecond=0
        ) + timedelta(days=2)
        self.day = self.first.date().isoformat()
        self.booked: list[str] = []
        # Series get a space of their own: each call books 52 weeks at its own half hour of the week.
        self.series_space = self.must(
            "spaces",
            event(
                "POST",
                "/spaces",
                self.admin_token,
                {**self.space_body("Bench series room"), "location": "Bench floor"},
            ),
            201,
        )
        self.series_booked: list[str] = []
        self.series_calls = 0
        self.closures: list[str] = []
        # Check-in: open from a day before each booking's start, so that every call finds it open.
        self.desk = self.must(
            "spaces",
            event(
                "POST",
                "/spaces",
                self.admin_token,
                {**self.space_body("Bench desk"), "check_in_required": True, "check_in_opens_minutes": 1440},
            ),
            201,
        )
        code = self.must(
            "spaces", event("GET", f"/spaces/{self.desk['id']}/check-in-code", self.admin_token), 200
        )
        self.desk_code = code["code"]
        self.desk_calls = 0
        # Approval: bookings and series that start pending, for the admin to decide.
        self.board = self.must(
            "spaces",
            event(
                "POST",
                "/spaces",
                self.admin_token,
                {**self.space_body("Bench board room"), "requires_approval": True},
            ),
            201,
        )
        self.board_calls = 0
        # Webhooks: a receiver of their own on 127.0.0.1 (RESERVAS_WEBHOOK_PRIVATE_NETWORKS allows it) to
        # register. The routes never call it: test sends and replays are the webhooks function's to make.
        self.receiver = webhook_receiver()
        self.webhook = self.must(
            "users",
            event("POST", "/webhooks", self.admin_token, self.webhook_body()),
            201,
        )

    @staticmethod
    def space_body(name: str) -> dict:
        return {
            "name": name,
            "capacity": 4,
            "timezone": "Europe/Madrid",
            "opening_hours": EVERY_DAY,
            "max_advance_days": 730,
            "price_per_hour": "12.50",
            "amenities": ["projector"],
        }

    # --- untimed preparation of calls that consume something -------------------------------------------

    def new_session(self, user_id: uuid.UUID | None = None) -> tuple[str, str, uuid.UUID]:
        """(access token, refresh token, user id) of a new session, made directly in the database (what
        a login does, minus bcrypt); a new account too when no user is given."""
        from sqlalchemy.orm import Session

        from reservas.accounts import repository
        from reservas.database import get_engine
        from reservas.settings import get_settings
        from reservas.tokens import issue_access_token, new_refresh_token

        with Session(get_engine()) as session:
            if user_id is None:
                row = repository.insert_user(
                    session,
                    email=f"bench-gone-{self.unique()}@example.com",
                    password_hash=self.password_hash,
                    name="Bench",
                )
            else:
                row = repository.find_user_by_id(session, user_id)
            expires_at = datetime.now(UTC) + timedelta(days=get_settings().refresh_token_days)
            session_id = repository.insert_session(session, user_id=row["id"], expires_at=expires_at)
            refresh_token, token_hash = new_refresh_token()
            repository.insert_refresh_token(session, session_id=session_id, token_hash=token_hash)
            access = issue_access_token(row["id"], row["email"], row["role"], session_id)
            session.commit()
            return access, refresh_token, row["id"]

    def new_space(self) -> str:
        from sqlalchemy.orm import Session

        from reservas import audit
        from reservas.database import get_engine
        from reservas.spaces import service
        from reservas.spaces.schemas import SpaceSettings

        settings = SpaceSettings(**self.space_body(f"Gone {self.unique()}"))
        with Session(get_engine()) as session:
            return str(service.create_space(session, settings, actor=audit.OPERATOR).id)

    def webhook_body(self) -> dict:
        return {
            "url": f"{self.receiver}/hooks",
            "event_types": ["ReservationCreated", "ReservationCancelled"],
        }

    def dead_delivery(self) -> str:
        """A delivery of the bench's webhook that failed for good, to replay (made directly, untimed)."""
        from sqlalchemy import update

        from reservas.database import get_engine
        from reservas.tables import webhook_deliveries
        from reservas.webhooks import delivery

        with get_engine().connect() as db:
            delivery_id = delivery.create_test(db, uuid.UUID(self.webhook["id"]))
            db.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id == delivery_id)
                .values(state="dead", attempts=delivery.MAX_ATTEMPTS, next_attempt_at=None)
            )
            db.commit()
        return str(delivery_id)

    def new_webhook(self) -> str:
        """A webhook of its own for DELETE /webhooks/{webhook_id}, made directly (untimed)."""
        from reservas import audit
        from reservas.database import get_engine
        from reservas.webhooks import registry
        from reservas.webhooks.schemas import WebhookCreate

        with get_engine().connect() as db:
            created = registry.create(db, WebhookCreate(**self.webhook_body()), audit.OPERATOR)
        return str(created.id)

    def invalidate_availability(self) -> None:
        from reservas.spaces import cache

        cache.bookings_changed(uuid.UUID(self.space["id"]))

    # --- the routes -----------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        user_id = self.user["user"]["id"]
        space_id = self.space["id"]
        slot = timedelta(minutes=30)

        def refresh_request(_: int) -> dict:
            return event("POST", "/auth/refresh", body={"refresh_token": self.refresh_token})

        def keep_refresh_token(body: dict) -> None:
            self.refresh_token = body["refresh_token"]

        def logout_request(_: int) -> dict:
            access, refresh_token, _ = self.new_session(uuid.UUID(user_id))
            return event("POST", "/auth/logout", access, {"refresh_token": refresh_token})

        def delete_me_request(_: int) -> dict:
            access, _, _ = self.new_session()
            return event("DELETE", "/users/me", access, {"current_password": PASSWORD})

        def deactivate_request(_: int) -> dict:
            return event("DELETE", f"/spaces/{self.new_space()}", self.admin_token)

        def uncached_availability(_: int) -> dict:
            self.invalidate_availability()
            return event("GET", f"/spaces/{space_id}/availability", self.token, query={"date": self.day})

        def book_request(_: int) -> dict:
            start = self.first + slot * self.unique()
            body = {
                "space_id": space_id,
                "start_time": start.isoformat(),
                "end_time": (start + slot).isoformat(),
            }
            return event("POST", "/reservations", self.token, body)

        def remember_booking(body: dict) -> None:
            self.booked.append(body["id"])

        def cancel_request(_: int) -> dict:
            return event("DELETE", f"/reservations/{self.booked.pop()}", self.token)

        def series_request(_: int) -> dict:
            self.series_calls += 1
            if self.series_calls >= 7 * 48:
                raise RuntimeError("the series route ran out of half hours in a week: fewer runs")
            start = self.first + slot * self.series_calls
            body = {
                "space_id": self.series_space["id"],
                "start_time": start.isoformat(),
                "end_time": (start + slot).isoformat(),
                "rule": f"FREQ=WEEKLY;COUNT={SERIES_OCCURRENCES}",
            }
            return event("POST", "/reservations/series", self.token, body)

        def closure_body(n: int) -> dict:
            # Far from every booking of the bench; an hour counted in UTC (a local hour that the clocks
            # skip in spring would make the end the start).
            start = (self.first + timedelta(days=400 + n)).astimezone(UTC)
            return {"start_time": start.isoformat(), "end_time": (start + timedelta(hours=1)).isoformat()}

        def remember_closure(body: dict) -> None:
            self.closures.append(body["id"])

        def desk_booking(_: int) -> str:
            """A booking of the bench user at the desk, starting tomorrow: its check-in is open."""
            self.desk_calls += 1
            now = datetime.now(UTC).astimezone(ZONE).replace(minute=0, second=0, microsecond=0)
            start = now + timedelta(hours=2) + slot * self.desk_calls
            body = {
                "space_id": self.desk["id"],
                "start_time": start.isoformat(),
                "end_time": (start + slot).isoformat(),
            }
            return self.must("reservations", event("POST", "/reservations", self.token, body), 201)["id"]

        def board_interval() -> dict:
            self.board_calls += 1
            start = self.first + slot * self.board_calls
            return {
                "space_id": self.board["id"],
                "start_time": start.isoformat(),
                "end_time": (start + slot).isoformat(),
            }

        def pending_booking() -> str:
            return self.must(
                "reservations", event("POST", "/reservations", self.token, board_interval()), 201
            )["id"]

        def pending_series() -> str:
            # Its second occurrence a year on, where no other booking of the board room ever lands.
            body = {**board_interval(), "rule": "FREQ=WEEKLY;INTERVAL=52;COUNT=2"}
            return self.must("reservations", event("POST", "/reservations/series", self.token, body), 201)[
                "id"
            ]

        waiting_for = {
            "space_id": space_id,
            "start_time": (self.first + timedelta(days=300)).isoformat(),
            "end_time": (self.first + timedelta(days=300) + slot).isoformat(),
        }
        # Worth waiting for: the admin holds that time.
        self.must("reservations", event("POST", "/reservations", self.admin_token, waiting_for), 201)
        period = {
            "from": (self.first - timedelta(days=1)).isoformat(),
            "to": (self.first + timedelta(days=30)).isoformat(),
        }
        role_account = self.role_account

        api_key_request = {
            "name": "Bench integration",
            "user_id": self.user["user"]["id"],
            "scopes": ["reservations:read", "reservations:write"],
        }

        def new_api_key() -> dict:
            return self.must("users", event("POST", "/api-keys", self.admin_token, api_key_request), 201)

        self.api_key = new_api_key()["key"]

        def waitlist_entry() -> str:
            return self.must("reservations", event("POST", "/waitlist", self.token, waiting_for), 201)["id"]

        def remember_series(body: dict) -> None:
            if len(body["occurrences"]) != SERIES_OCCURRENCES:
                raise RuntimeError(f"a series booked {len(body['occurrences'])} occurrences")
            self.series_booked.append(body["id"])

        interval = {
            "start_time": (self.first + timedelta(hours=1)).isoformat(),
            "end_time": (self.first + timedelta(hours=2)).isoformat(),
        }
        fixed = [
            ("GET /auth/health", "auth", lambda n: event("GET", "/auth/health"), 200),
            (
                "POST /auth/register",
                "auth",
                lambda n: event(
                    "POST",
                    "/auth/register",
                    body={
                        "email": f"bench-{self.unique()}@example.com",
                        "password": PASSWORD,
                        "name": "Bench",
                    },
                ),
                202,
            ),
            (
                "POST /auth/verify",
                "auth",
                lambda n: event(
                    "POST", "/auth/verify", body={"token": self.link("verify"), "password": PASSWORD}
                ),
                200,
            ),
            (
                "POST /auth/password-reset",
                "auth",
                lambda n: event("POST", "/auth/password-reset", body={"email": "bench-user@example.com"}),
                202,
            ),
            (
                "POST /auth/password-reset/confirm",
                "auth",
                lambda n: event(
                    "POST",
                    "/auth/password-reset/confirm",
                    body={"token": self.link("reset"), "password": PASSWORD},
                ),
                204,
            ),
            (
                "POST /auth/login",
                "auth",
                lambda n: event(
                    "POST", "/auth/login", body={"email": "bench-user@example.com", "password": PASSWORD}
                ),
                200,
            ),
            ("POST /auth/refresh", "auth", refresh_request, 200),
            (
                "POST /auth/validate",
                "auth",
                lambda n: event("POST", "/auth/validate", body={"token": self.token}),
                200,
            ),
            ("POST /auth/logout", "auth", logout_request, 204),
            ("GET /users/health", "users", lambda n: event("GET", "/users/health"), 200),
            ("GET /users/me", "users", lambda n: event("GET", "/users/me", self.token), 200),
            (
                "POST /users/me/calendar-token",
                "users",
                lambda n: self.feed_changing(event("POST", "/users/me/calendar-token", self.token)),
                201,
            ),
            (
                "DELETE /users/me/calendar-token",
                "users",
                lambda n: self.feed_changing(event("DELETE", "/users/me/calendar-token", self.token)),
                204,
            ),
            (
                "GET /calendar/{token}/bookings.ics",
                "reservations",
                lambda n: event("GET", self.feed_path()),
                200,
            ),
            (
                "PUT /users/me",
                "users",
                lambda n: event("PUT", "/users/me", self.token, {"name": f"Bench {n}"}),
                200,
            ),
            ("DELETE /users/me", "users", delete_me_request, 204),
            ("GET /users (admin)", "users", lambda n: event("GET", "/users", self.admin_token), 200),
            (
                "GET /users/{user_id} (admin)",
                "users",
                lambda n: event("GET", f"/users/{user_id}", self.admin_token),
                200,
            ),
            (
                "GET /spaces/{space_id}/busy.ics",
                "spaces",
                lambda n: event("GET", f"/spaces/{self.space['id']}/busy.ics"),
                200,
            ),
            ("GET /spaces/health", "spaces", lambda n: event("GET", "/spaces/health"), 200),
            ("GET /spaces", "spaces", lambda n: event("GET", "/spaces", self.token), 200),
            (
                "GET /spaces/available",
                "spaces",
                lambda n: event("GET", "/spaces/available", query=interval),
                200,
            ),
            (
                "POST /spaces (admin)",
                "spaces",
                lambda n: event(
                    "POST", "/spaces", self.admin_token, self.space_body(f"Room {self.unique()}")
                ),
                201,
            ),
            (
                "GET /spaces/{space_id}",
                "spaces",
                lambda n: event("GET", f"/spaces/{space_id}", self.token),
                200,
            ),
            (
                "PUT /spaces/{space_id} (admin)",
                "spaces",
                lambda n: event(
                    "PUT", f"/spaces/{space_id}", self.admin_token, {"description": f"Version {n}"}
                ),
                200,
            ),
            ("DELETE /spaces/{space_id} (admin)", "spaces", deactivate_request, 204),
            (
                "GET /spaces/{space_id}/availability (cached)",
                "spaces",
                lambda n: event(
                    "GET", f"/spaces/{space_id}/availability", self.token, query={"date": self.day}
                ),
                200,
            ),
            ("GET /spaces/{space_id}/availability (uncached)", "spaces", uncached_availability, 200),
            ("GET /reservations/health", "reservations", lambda n: event("GET", "/reservations/health"), 200),
            ("GET /reservations", "reservations", lambda n: event("GET", "/reservations", self.token), 200),
            (
                "GET /reservations/search",
                "reservations",
                lambda n: event(
                    "GET",
                    "/reservations/search",
                    self.token,
                    query={"space_id": space_id, "status": "active"},
                ),
                200,
            ),
        ]
        routes = [Route(name, group, prepare, expect) for name, group, prepare, expect in fixed]
        for route in routes:
            route.slow = route.name in (
                "POST /auth/register",
                "POST /auth/verify",
                "POST /auth/login",
                "POST /auth/password-reset/confirm",
            )
            if route.name == "POST /auth/refresh":
                route.after = keep_refresh_token
        # Booking first, so that reading and cancelling have bookings to act on.
        routes += [
            Route("POST /reservations", "reservations", book_request, 201, after=remember_booking),
            Route(
                "GET /reservations/{reservation_id}",
                "reservations",
                lambda n: event("GET", f"/reservations/{self.booked[-1 - n % len(self.booked)]}", self.token),
                200,
            ),
            Route(
                "PATCH /reservations/{reservation_id}",
                "reservations",
                lambda n: event(
                    "PATCH", f"/reservations/{self.booked[-1]}", self.token, {"notes": f"Note {n}"}
                ),
                200,
            ),
            Route("DELETE /reservations/{reservation_id}", "reservations", cancel_request, 200),
            Route(
                "POST /spaces/{space_id}/closures (admin)",
                "spaces",
                lambda n: event("POST", f"/spaces/{space_id}/closures", self.admin_token, closure_body(n)),
                201,
                after=remember_closure,
            ),
            Route(
                "POST /closures (admin, a location of 1 space)",
                "spaces",
                lambda n: event(
                    "POST",
                    "/closures",
                    self.admin_token,
                    {**closure_body(n + 1000), "location": "Bench floor"},
                ),
                201,
                after=remember_closure,
            ),
            Route(
                "GET /spaces/{space_id}/closures",
                "spaces",
                lambda n: event("GET", f"/spaces/{space_id}/closures", self.token),
                200,
            ),
            Route(
                "GET /closures (admin)",
                "spaces",
                lambda n: event("GET", "/closures", self.admin_token, query={"space_id": space_id}),
                200,
            ),
            Route(
                "DELETE /closures/{closure_id} (admin)",
                "spaces",
                lambda n: event("DELETE", f"/closures/{self.closures.pop()}", self.admin_token),
                204,
            ),
            Route(
                "POST /reservations/{reservation_id}/check-in",
                "reservations",
                lambda n: event("POST", f"/reservations/{desk_booking(n)}/check-in", self.token),
                200,
                slow=True,  # each call needs a booking whose check-in is open: within a day of its start
            ),
            Route(
                "POST /reservations/check-in (with the space's code)",
                "reservations",
                lambda n: event(
                    "POST",
                    "/reservations/check-in",
                    self.token,
                    {"space_id": self.desk["id"], "code": self.desk_code},
                ),
                200,
            ),
            Route(
                "GET /spaces/{space_id}/check-in-code (admin)",
                "spaces",
                lambda n: event("GET", f"/spaces/{self.desk['id']}/check-in-code", self.admin_token),
                200,
                slow=True,  # draws a QR code
            ),
            Route(
                "POST /spaces/{space_id}/check-in-code (admin, rotate)",
                "spaces",
                lambda n: event("POST", f"/spaces/{self.series_space['id']}/check-in-code", self.admin_token),
                200,
                slow=True,
            ),
            Route(
                "GET /spaces/{space_id}/usage (admin)",
                "spaces",
                lambda n: event("GET", f"/spaces/{space_id}/usage", self.admin_token, query=period),
                200,
            ),
            Route(
                "PUT /spaces/{space_id}/managers/{user_id} (admin)",
                "spaces",
                lambda n: event(
                    "PUT", f"/spaces/{self.board['id']}/managers/{role_account}", self.admin_token
                ),
                204,
            ),
            Route(
                "GET /spaces/{space_id}/managers (admin)",
                "spaces",
                lambda n: event("GET", f"/spaces/{self.board['id']}/managers", self.admin_token),
                200,
            ),
            Route(
                "DELETE /spaces/{space_id}/managers/{user_id} (admin)",
                "spaces",
                lambda n: event(
                    "DELETE", f"/spaces/{self.board['id']}/managers/{role_account}", self.admin_token
                ),
                204,
            ),
            Route(
                "POST /reservations/{reservation_id}/approve (admin)",
                "reservations",
                lambda n: event("POST", f"/reservations/{pending_booking()}/approve", self.admin_token),
                200,
            ),
            Route(
                "POST /reservations/{reservation_id}/decline (admin)",
                "reservations",
                lambda n: event(
                    "POST",
                    f"/reservations/{pending_booking()}/decline",
                    self.admin_token,
                    {"reason": "Bench"},
                ),
                200,
            ),
            Route(
                "GET /reservations/pending (admin)",
                "reservations",
                lambda n: event("GET", "/reservations/pending", self.admin_token),
                200,
            ),
            Route(
                "POST /reservations/series/{series_id}/approve (admin, 2 occurrences)",
                "reservations",
                lambda n: event("POST", f"/reservations/series/{pending_series()}/approve", self.admin_token),
                200,
                slow=True,
            ),
            Route(
                "POST /reservations/series/{series_id}/decline (admin, 2 occurrences)",
                "reservations",
                lambda n: event(
                    "POST",
                    f"/reservations/series/{pending_series()}/decline",
                    self.admin_token,
                    {"reason": "Bench"},
                ),
                200,
                slow=True,
            ),
            Route(
                "POST /waitlist (the same interval again)",
                "reservations",
                lambda n: event("POST", "/waitlist", self.token, waiting_for),
                201,
            ),
            Route("GET /waitlist", "reservations", lambda n: event("GET", "/waitlist", self.token), 200),
            Route(
                "DELETE /waitlist/{entry_id}",
                "reservations",
                lambda n: event("DELETE", f"/waitlist/{waitlist_entry()}", self.token),
                204,
            ),
            Route(
                f"POST /reservations/series ({SERIES_OCCURRENCES} weekly occurrences)",
                "reservations",
                series_request,
                201,
                slow=True,
                after=remember_series,
            ),
            Route(
                "GET /reservations/series/{series_id}",
                "reservations",
                lambda n: event("GET", f"/reservations/series/{self.series_booked[-1]}", self.token),
                200,
            ),
            Route(
                "DELETE /reservations/series/{series_id}",
                "reservations",
                lambda n: event("DELETE", f"/reservations/series/{self.series_booked.pop()}", self.token),
                200,
                slow=True,
            ),
            Route(
                "PUT /users/{user_id}/role (admin)",
                "users",
                lambda n: event(
                    "PUT",
                    f"/users/{self.role_account}/role",
                    self.admin_token,
                    {"role": "admin" if n % 2 == 0 else "user"},
                ),
                200,
            ),
            Route(
                "GET /audit (admin)",
                "users",
                lambda n: event("GET", "/audit", self.admin_token, query={"entity": "reservation"}),
                200,
            ),
            Route(
                "POST /api-keys (admin)",
                "users",
                lambda n: event("POST", "/api-keys", self.admin_token, api_key_request),
                201,
            ),
            Route(
                "GET /api-keys (admin)", "users", lambda n: event("GET", "/api-keys", self.admin_token), 200
            ),
            Route(
                "DELETE /api-keys/{key_id} (admin)",
                "users",
                lambda n: event("DELETE", f"/api-keys/{new_api_key()['id']}", self.admin_token),
                204,
            ),
            Route(
                "GET /reservations (with an API key)",
                "reservations",
                lambda n: event("GET", "/reservations", self.api_key),
                200,
            ),
            Route(
                "POST /webhooks (admin)",
                "users",
                lambda n: event("POST", "/webhooks", self.admin_token, self.webhook_body()),
                201,
            ),
            Route(
                "GET /webhooks (admin)", "users", lambda n: event("GET", "/webhooks", self.admin_token), 200
            ),
            Route(
                "GET /webhooks/{webhook_id} (admin)",
                "users",
                lambda n: event("GET", f"/webhooks/{self.webhook['id']}", self.admin_token),
                200,
            ),
            Route(
                "DELETE /webhooks/{webhook_id} (admin)",
                "users",
                lambda n: event("DELETE", f"/webhooks/{self.new_webhook()}", self.admin_token),
                204,
            ),
            Route(
                "POST /webhooks/{webhook_id}/secret (admin)",
                "users",
                lambda n: event("POST", f"/webhooks/{self.webhook['id']}/secret", self.admin_token),
                200,
            ),
            Route(
                "POST /webhooks/{webhook_id}/test (admin; the webhooks function sends it)",
                "users",
                lambda n: event("POST", f"/webhooks/{self.webhook['id']}/test", self.admin_token),
                202,
            ),
            Route(
                "GET /webhooks/{webhook_id}/deliveries (admin)",
                "users",
                lambda n: event("GET", f"/webhooks/{self.webhook['id']}/deliveries", self.admin_token),
                200,
            ),
            Route(
                "POST /webhooks/{webhook_id}/deliveries/{delivery_id}/replay (admin; of a dead one)",
                "users",
                lambda n: event(
                    "POST",
                    f"/webhooks/{self.webhook['id']}/deliveries/{self.dead_delivery()}/replay",
                    self.admin_token,
                ),
                202,
            ),
        ]
        return routes

    def sample(self, route: Route, warmup: int, runs: int) -> list[float]:
        samples = []
        for number in range(warmup + runs + 1):
            request = route.prepare(route.calls)
            route.calls += 1
            self.statements = 0
            handler, context = self.handlers[route.group], self.context(f"{route.group.title()}Function")
            if number == warmup:  # one call counted, untimed: the counter slows every round trip
                with counting() as trips:
                    response = handler(request, context)
                route.trips = (trips["postgresql"], trips["redis"])
                elapsed = None
            else:
                began = time.perf_counter()
                response = handler(request, context)
                elapsed = time.perf_counter() - began
            route.statements = self.statements
            if response["statusCode"] != route.expect:
                raise RuntimeError(
                    f"{route.name}: expected {route.expect}, got {response['statusCode']}: {response}"
                )
            if route.after is not None:
                route.after(json.loads(response["body"]))
            if number >= warmup and elapsed is not None:
                samples.append(elapsed)
        return samples


# The settings the handlers run with here: rate limits off (measured: the handler, not the limiter),
# room for every booking the runs make, and the benchmark's own webhook receiver on 127.0.0.1.
BENCH_SETTINGS = {
    "RESERVAS_RATE_LIMITS_ENABLED": "false",
    "RESERVAS_MAX_ACTIVE_RESERVATIONS": "10000",
    "RESERVAS_WEBHOOK_PRIVATE_NETWORKS": "127.0.0.0/8",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="timed calls per route and repeat")
    parser.add_argument("--slow-runs", type=int, default=10, help="the same for register and login (bcrypt)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed calls before each route's runs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write the result here (for bench/report.py)")
    args = parser.parse_args()

    return devservices.serving(lambda services: run(args, services), **BENCH_SETTINGS)


def webhook_receiver() -> str:
    """An HTTP endpoint on 127.0.0.1 that answers every POST with 204, in a thread; its base URL."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Receiver(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def template_routes() -> set[str]:
    """Every route of template.yaml, as "METHOD /path"."""
    from samcli.yamlhelper import yaml_parse

    template = yaml_parse((ROOT / "template.yaml").read_text())
    return {
        f"{event['Properties']['Method']} {event['Properties']['Path']}"
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in resource["Properties"].get("Events", {}).values()
        if event["Type"] == "HttpApi"
    }


def run(args: argparse.Namespace, services: devservices.Services) -> int:
    from sqlalchemy import text

    from reservas.database import get_engine
    from reservas.migrations import upgrade

    upgrade(get_engine())
    bench = Bench()
    bench.setup()
    routes = bench.routes()
    started = time.perf_counter()
    for repeat in range(args.repeats):
        for route in routes:
            runs = args.slow_runs if route.slow else args.runs
            samples = bench.sample(route, 2 if route.slow else args.warmup, runs)
            route.samples += samples
            p50, p95 = summarise(samples)
            route.p50s.append(p50)
            route.p95s.append(p95)
        print(
            f"  repeat {repeat + 1}/{args.repeats} done ({time.perf_counter() - started:.0f} s)", flush=True
        )

    result = Result()
    unmeasured = template_routes() - {route.name.split(" (")[0] for route in routes}
    if unmeasured:
        result.failures.append(f"Warm handler: routes of template.yaml not measured: {sorted(unmeasured)}")
    medians = {}
    for route in routes:
        p50, p95 = statistics.median(route.p50s), statistics.median(route.p95s)
        medians[route.name] = p50
        runs = args.slow_runs if route.slow else args.runs
        result.rows.append(
            Row(
                SECTION,
                f"{route.name} ({route.group})",
                fmt_ms(p50),
                fmt_ms(p95),
                f"{runs} runs x {args.repeats}; {route.statements} SQL statements; round trips: "
                f"PostgreSQL {route.trips[0]}, Redis {route.trips[1]}",
            )
        )
    with get_engine().connect() as connection:
        postgres = connection.execute(text("SELECT version()")).scalar_one().split(" on ")[0]
    ratio = medians["POST /reservations"] / medians["GET /spaces/{space_id}"]
    result.samples[SECTION] = {route.name: [s * 1000 for s in route.samples] for route in routes}
    result.notes += [
        f"Warm handler: in process, API Gateway v2 events, every route of template.yaml; each route "
        f"{args.warmup} warm-up calls (2 for bcrypt routes) then the runs, {args.repeats} repeats; p50 and "
        "p95 are medians of the repeats' own p50 and p95. Rate limits off; bcrypt at 12 rounds, so register "
        "and login are bcrypt-bound by design. POST /reservations p50 is "
        f"{ratio:.1f}x GET /spaces/{{space_id}} p50.",
        "Warm handler: logout and DELETE /users/me get a new session (and account) each, made in the "
        "database before the clock starts; GET /spaces and GET /spaces/{space_id} are Redis hits after the "
        "warm-up; the uncached availability invalidates the space's availability before each call.",
    ]
    result.meta["postgresql"] = postgres
    print(f"({platform.platform()}, {os.cpu_count()} CPUs, PostgreSQL: {services.database_origin})\n")
    result.print_markdown()
    result.save(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
