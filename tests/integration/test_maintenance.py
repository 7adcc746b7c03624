"""The daily clean-up deletes only what no request will read again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from devtools.apigw import ROOT, LambdaContext, load_function_module
from reservas.tables import audit_log, idempotency_keys, outbox, refresh_tokens, sessions, users


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
        "audit_log": 1,
    }

    with engine.connect() as connection:
        assert set(connection.execute(select(sessions.c.id)).scalars()) == {live, ended}
        assert connection.execute(select(idempotency_keys.c.key)).scalars().all() == ["fresh"]
    assert count(engine, refresh_tokens) == 2
    assert count(engine, outbox) == 2
    assert count(engine, audit_log) == 1
