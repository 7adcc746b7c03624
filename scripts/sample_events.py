"""Writes events/: one API Gateway HTTP API (payload v2) event per route of template.yaml, for
`sam local invoke <Function> -e events/<file>.json` or `scripts/invoke <Function> -e events/<file>.json`.

    .venv/bin/python scripts/sample_events.py

Events of signed-in routes carry `Bearer PASTE-AN-ACCESS-TOKEN` (or use `scripts/invoke --token`), and
ids are the nil UUID: replace them with real ones."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from devtools.apigw import v2_event  # noqa: E402

TOKEN = "Bearer PASTE-AN-ACCESS-TOKEN"  # noqa: S105 (a placeholder)
NIL = "00000000-0000-0000-0000-000000000000"
SIGNED_IN = {"authorization": TOKEN}
CREDENTIALS = {"email": "sam@example.com", "password": "Sam-local-invoke-1"}
SPACE = {
    "name": "Sala Retiro",
    "capacity": 8,
    "timezone": "Europe/Madrid",
    "opening_hours": {day: [["08:00", "20:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    "price_per_hour": "25.00",
    "currency": "EUR",
}
BOOKING = {
    "space_id": NIL,
    "start_time": "2027-01-11T10:00:00+01:00",
    "end_time": "2027-01-11T11:00:00+01:00",
    "attendees": 4,
}
CLOSURE = {
    "start_time": "2027-12-24T00:00:00+01:00",
    "end_time": "2027-12-26T00:00:00+01:00",
    "reason": "Christmas",
}

# file name, method, route, and what the request carries
SAMPLES: list[tuple[str, str, str, dict]] = [
    ("auth-register", "POST", "/auth/register", {"body": {**CREDENTIALS, "name": "Sam"}}),
    (
        "auth-verify",
        "POST",
        "/auth/verify",
        {"body": {"token": "PASTE-THE-TOKEN-OF-THE-LINK", "password": CREDENTIALS["password"]}},
    ),
    ("auth-login", "POST", "/auth/login", {"body": CREDENTIALS}),
    ("auth-password-reset", "POST", "/auth/password-reset", {"body": {"email": CREDENTIALS["email"]}}),
    (
        "auth-password-reset-confirm",
        "POST",
        "/auth/password-reset/confirm",
        {"body": {"token": "PASTE-THE-TOKEN-OF-THE-LINK", "password": "Another-Horse-77"}},
    ),
    ("auth-refresh", "POST", "/auth/refresh", {"body": {"refresh_token": "PASTE-A-REFRESH-TOKEN"}}),
    (
        "auth-logout",
        "POST",
        "/auth/logout",
        {"body": {"refresh_token": "PASTE-A-REFRESH-TOKEN"}, "headers": SIGNED_IN},
    ),
    ("auth-validate", "POST", "/auth/validate", {"body": {"token": "PASTE-AN-ACCESS-TOKEN"}}),
    ("auth-health", "GET", "/auth/health", {}),
    ("users-me", "GET", "/users/me", {"headers": SIGNED_IN}),
    ("users-rotate-calendar-token", "POST", "/users/me/calendar-token", {"headers": SIGNED_IN}),
    ("users-revoke-calendar-token", "DELETE", "/users/me/calendar-token", {"headers": SIGNED_IN}),
    ("users-update-me", "PUT", "/users/me", {"body": {"name": "Sam Local"}, "headers": SIGNED_IN}),
    (
        "users-delete-me",
        "DELETE",
        "/users/me",
        {"body": {"current_password": "PASTE-YOUR-PASSWORD"}, "headers": SIGNED_IN},
    ),
    ("users-get", "GET", "/users/{user_id}", {"path": {"user_id": NIL}, "headers": SIGNED_IN}),
    ("users-list", "GET", "/users", {"query": "email=example.com&limit=20", "headers": SIGNED_IN}),
    ("users-health", "GET", "/users/health", {}),
    (
        "users-change-role",
        "PUT",
        "/users/{user_id}/role",
        {"path": {"user_id": NIL}, "body": {"role": "admin"}, "headers": SIGNED_IN},
    ),
    ("users-audit-log", "GET", "/audit", {"query": "entity=space&limit=20", "headers": SIGNED_IN}),
    (
        "users-create-api-key",
        "POST",
        "/api-keys",
        {
            "headers": SIGNED_IN,
            "body": {"name": "Room display", "user_id": NIL, "scopes": ["spaces:read"]},
        },
    ),
    ("users-list-api-keys", "GET", "/api-keys", {"query": "limit=20", "headers": SIGNED_IN}),
    ("users-revoke-api-key", "DELETE", "/api-keys/{key_id}", {"path": {"key_id": NIL}, "headers": SIGNED_IN}),
    (
        "users-webhooks-create",
        "POST",
        "/webhooks",
        {
            "body": {"url": "https://hooks.example.org/reservas", "event_types": ["ReservationCreated"]},
            "headers": SIGNED_IN,
        },
    ),
    ("users-webhooks-list", "GET", "/webhooks", {"query": "limit=20", "headers": SIGNED_IN}),
    (
        "users-webhooks-get",
        "GET",
        "/webhooks/{webhook_id}",
        {"path": {"webhook_id": NIL}, "headers": SIGNED_IN},
    ),
    (
        "users-webhooks-delete",
        "DELETE",
        "/webhooks/{webhook_id}",
        {"path": {"webhook_id": NIL}, "headers": SIGNED_IN},
    ),
    (
        "users-webhooks-rotate-secret",
        "POST",
        "/webhooks/{webhook_id}/secret",
        {"path": {"webhook_id": NIL}, "headers": SIGNED_IN},
    ),
    (
        "users-webhooks-test",
        "POST",
        "/webhooks/{webhook_id}/test",
        {"path": {"webhook_id": NIL}, "headers": SIGNED_IN},
    ),
    (
        "users-webhooks-deliveries",
        "GET",
        "/webhooks/{webhook_id}/deliveries",
        {"path": {"webhook_id": NIL}, "query": "state=dead&limit=20", "headers": SIGNED_IN},
    ),
    (
        "users-webhooks-replay",
        "POST",
        "/webhooks/{webhook_id}/deliveries/{delivery_id}/replay",
        {"path": {"webhook_id": NIL, "delivery_id": NIL}, "headers": SIGNED_IN},
    ),
    ("spaces-list", "GET", "/spaces", {"query": "capacity_min=2&amenities=projector"}),
    (
        "spaces-available",
        "GET",
        "/spaces/available",
        {"query": "start_time=2027-01-11T10:00:00%2B01:00&end_time=2027-01-11T11:00:00%2B01:00"},
    ),
    ("spaces-create", "POST", "/spaces", {"body": SPACE, "headers": SIGNED_IN}),
    ("spaces-get", "GET", "/spaces/{space_id}", {"path": {"space_id": NIL}}),
    ("spaces-busy-feed", "GET", "/spaces/{space_id}/busy.ics", {"path": {"space_id": NIL}}),
    (
        "spaces-update",
        "PUT",
        "/spaces/{space_id}",
        {"path": {"space_id": NIL}, "body": {"capacity": 10}, "headers": SIGNED_IN},
    ),
    ("spaces-deactivate", "DELETE", "/spaces/{space_id}", {"path": {"space_id": NIL}, "headers": SIGNED_IN}),
    (
        "spaces-availability",
        "GET",
        "/spaces/{space_id}/availability",
        {"path": {"space_id": NIL}, "query": "date=2027-01-11"},
    ),
    ("spaces-health", "GET", "/spaces/health", {}),
    (
        "spaces-managers",
        "GET",
        "/spaces/{space_id}/managers",
        {"path": {"space_id": NIL}, "headers": SIGNED_IN},
    ),
    (
        "spaces-add-manager",
        "PUT",
        "/spaces/{space_id}/managers/{user_id}",
        {"path": {"space_id": NIL, "user_id": NIL}, "headers": SIGNED_IN},
    ),
    (
        "spaces-remove-manager",
        "DELETE",
        "/spaces/{space_id}/managers/{user_id}",
        {"path": {"space_id": NIL, "user_id": NIL}, "headers": SIGNED_IN},
    ),
    (
        "spaces-usage",
        "GET",
        "/spaces/{space_id}/usage",
        {
            "path": {"space_id": NIL},
            "query": "from=2027-01-01T00:00:00Z&to=2027-02-01T00:00:00Z",
            "headers": SIGNED_IN,
        },
    ),
    (
        "spaces-check-in-code",
        "GET",
        "/spaces/{space_id}/check-in-code",
        {"path": {"space_id": NIL}, "headers": SIGNED_IN},
    ),
    (
        "spaces-rotate-check-in-code",
        "POST",
        "/spaces/{space_id}/check-in-code",
        {"path": {"space_id": NIL}, "headers": SIGNED_IN},
    ),
    (
        "spaces-close-one",
        "POST",
        "/spaces/{space_id}/closures",
        {"path": {"space_id": NIL}, "body": CLOSURE, "headers": SIGNED_IN},
    ),
    ("spaces-closures-of-one", "GET", "/spaces/{space_id}/closures", {"path": {"space_id": NIL}}),
    (
        "spaces-closures-create",
        "POST",
        "/closures",
        {"body": {**CLOSURE, "location": "Madrid, floor 3"}, "headers": SIGNED_IN},
    ),
    (
        "spaces-closures-list",
        "GET",
        "/closures",
        {"query": "location=Madrid%2C%20floor%203", "headers": SIGNED_IN},
    ),
    (
        "spaces-closures-delete",
        "DELETE",
        "/closures/{closure_id}",
        {"path": {"closure_id": NIL}, "headers": SIGNED_IN},
    ),
    (
        "reservations-book",
        "POST",
        "/reservations",
        {"body": BOOKING, "headers": {**SIGNED_IN, "idempotency-key": "sample-1"}},
    ),
    (
        "reservations-calendar-feed",
        "GET",
        "/calendar/{token}/bookings.ics",
        {"path": {"token": "PASTE-THE-TOKEN-OF-YOUR-FEED"}},
    ),
    ("reservations-list", "GET", "/reservations", {"query": "status=active", "headers": SIGNED_IN}),
    ("reservations-search", "GET", "/reservations/search", {"query": "q=review", "headers": SIGNED_IN}),
    (
        "reservations-get",
        "GET",
        "/reservations/{reservation_id}",
        {"path": {"reservation_id": NIL}, "headers": SIGNED_IN},
    ),
    (
        "reservations-change",
        "PATCH",
        "/reservations/{reservation_id}",
        {"path": {"reservation_id": NIL}, "body": {"notes": "Moved to the morning"}, "headers": SIGNED_IN},
    ),
    (
        "reservations-cancel",
        "DELETE",
        "/reservations/{reservation_id}",
        {"path": {"reservation_id": NIL}, "headers": SIGNED_IN},
    ),
    ("reservations-pending", "GET", "/reservations/pending", {"headers": SIGNED_IN}),
    ("reservations-waitlist-join", "POST", "/waitlist", {"body": BOOKING, "headers": SIGNED_IN}),
    ("reservations-waitlist-mine", "GET", "/waitlist", {"headers": SIGNED_IN}),
    (
        "reservations-waitlist-leave",
        "DELETE",
        "/waitlist/{entry_id}",
        {"path": {"entry_id": NIL}, "headers": SIGNED_IN},
    ),
    (
        "reservations-approve",
        "POST",
        "/reservations/{reservation_id}/approve",
        {"path": {"reservation_id": NIL}, "body": {"reason": "Enjoy"}, "headers": SIGNED_IN},
    ),
    (
        "reservations-decline",
        "POST",
        "/reservations/{reservation_id}/decline",
        {"path": {"reservation_id": NIL}, "body": {"reason": "Reserved for the board"}, "headers": SIGNED_IN},
    ),
    (
        "reservations-check-in-with-code",
        "POST",
        "/reservations/check-in",
        {"body": {"space_id": NIL, "code": "PASTE-THE-SPACES-CODE"}, "headers": SIGNED_IN},
    ),
    (
        "reservations-check-in",
        "POST",
        "/reservations/{reservation_id}/check-in",
        {"path": {"reservation_id": NIL}, "headers": SIGNED_IN},
    ),
    (
        "reservations-series-book",
        "POST",
        "/reservations/series",
        {
            "body": {**BOOKING, "rule": "FREQ=WEEKLY;BYDAY=MO;COUNT=52", "mode": "skip_conflicts"},
            "headers": {**SIGNED_IN, "idempotency-key": "sample-series-1"},
        },
    ),
    (
        "reservations-series-approve",
        "POST",
        "/reservations/series/{series_id}/approve",
        {"path": {"series_id": NIL}, "body": {"reason": "Every week, fine"}, "headers": SIGNED_IN},
    ),
    (
        "reservations-series-decline",
        "POST",
        "/reservations/series/{series_id}/decline",
        {"path": {"series_id": NIL}, "body": {"reason": "Not weekly"}, "headers": SIGNED_IN},
    ),
    (
        "reservations-series-get",
        "GET",
        "/reservations/series/{series_id}",
        {"path": {"series_id": NIL}, "headers": SIGNED_IN},
    ),
    (
        "reservations-series-cancel",
        "DELETE",
        "/reservations/series/{series_id}",
        {"path": {"series_id": NIL}, "query": "from=2027-03-01T00:00:00Z", "headers": SIGNED_IN},
    ),
    ("reservations-health", "GET", "/reservations/health", {}),
]


def sample_event(method: str, route: str, request: dict) -> dict:
    path = route
    for name, value in request.get("path", {}).items():
        path = path.replace("{" + name + "}", value)
    return v2_event(
        method,
        path,
        route=route,
        body=request.get("body"),
        headers=request.get("headers"),
        query=request.get("query", ""),
        path_parameters=request.get("path"),
        request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    )


def main() -> int:
    folder = ROOT / "events"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.json"):
        old.unlink()
    for name, method, route, request in SAMPLES:
        (folder / f"{name}.json").write_text(
            json.dumps(sample_event(method, route, request), indent=2) + "\n"
        )
    print(f"wrote {len(SAMPLES)} events in events/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
