"""The daily clean-up deletes only what no request will read again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from devtools.apigw import ROOT, LambdaContext, load_function_module
from reservas.maintenance import purge
from reservas.tables import (
    audit_log,
    idempotency_keys,
    outbox,
    refresh_tokens,
    sessions,
    users,
    webhook_deliveries,
    webhooks,
)


def count(engine, table) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def test_old_rows_go_and_live_ones_stay(engine):
    now = datetime.now(UTC)
    with engine.begin() as connection:
        user_id = connection.execute(
            insert(users).values(email="old@example.com", password_hash="x", name="Old").returning(users.c.id)
        ).scalar_one()
        live, ended, stale = (
            connection.execute(
                insert(sessions).values(user_id=user_id, **values).returning(sessions.c.id)
            ).scalar_one()
            for values in (
                {"expires_at": now + timedelta(days=10)},
                {
                    "expires_at": now + timedelta(days=10),
                    "revoked_at": now - timedelta(days=1),
                    "revoked_reason": "logout",
                },
                {"expires_at": now - timedelta(days=31)},
            )
        )
        for session_id in (live, ended, stale):
            connection.execute(
                insert(refresh_tokens).values(session_id=session_id, token_hash=uuid.uuid4().bytes)
            )
        for key, expires in (("fresh", now + timedelta(hours=1)), ("expired", now - timedelta(seconds=1))):
            connection.execute(
                insert(idempotency_keys).values(
                    user_id=user_id,
                    key=key,
                    request_hash="0" * 64,
                    status_code=201,
                    response_body={},
                    expires_at=expires,
                )
            )
        for published in (None, now - timedelta(days=1), now - timedelta(days=8)):
            connection.execute(
                insert(outbox).values(
                    event_type="ReservationCreated",
                    aggregate_id=uuid.uuid4(),
                    payload={},
                    published_at=published,
                )
            )
        for age in (timedelta(days=366), timedelta(days=364)):  # kept 365 days by default
            connection.execute(
                insert(audit_log).values(
                    occurred_at=now - age, action="space.created", entity="space", after={"name": "Room"}
                )
            )

    handler = load_function_module(ROOT / "functions" / "maintenance").handler
    assert handler({}, LambdaContext("MaintenanceFunction")) == {
        "idempotency_keys": 1,
        "outbox": 1,
        "sessions": 1,
        "webhook_deliveries": 0,
        "audit_log": 1,
    }

    with engine.connect() as connection:
        assert set(connection.execute(select(sessions.c.id)).scalars()) == {live, ended}
        assert connection.execute(select(idempotency_keys.c.key)).scalars().all() == ["fresh"]
    assert count(engine, refresh_tokens) == 2
    assert count(engine, outbox) == 2
    assert count(engine, audit_log) == 1


def test_webhook_deliveries_go_a_month_after_their_last_attempt_once_delivered_or_dead(engine):
    now = datetime.now(UTC)
    with engine.begin() as connection:
        webhook_id = connection.execute(
            insert(webhooks)
            .values(url="https://hooks.example.org/", event_types=["ReservationCreated"], secret="whsec_x")
            .returning(webhooks.c.id)
        ).scalar_one()
        for name, state, age in (
            ("old delivered", "delivered", 31),
            ("old dead", "dead", 31),
            ("recent dead", "dead", 29),
            ("recent delivered", "delivered", 1),
            ("pending", "pending", 31),
        ):
            connection.execute(
                insert(webhook_deliveries).values(
                    webhook_id=webhook_id,
                    message_id=f"msg_{name}",
                    event_type="ReservationCreated",
                    payload={},
                    state=state,
                    attempts=8,
                    created_at=now - timedelta(days=age + 1),
                    last_attempt_at=now - timedelta(days=age),
                    next_attempt_at=now if state == "pending" else None,
                )
            )

    with engine.connect() as connection:
        assert purge(connection)["webhook_deliveries"] == 2
        left = set(connection.execute(select(webhook_deliveries.c.message_id)).scalars())
    assert left == {"msg_recent dead", "msg_recent delivered", "msg_pending"}
