"""The Standard Webhooks headers of a delivery (https://www.standardwebhooks.com): `webhook-id` (the same
on every retry), `webhook-timestamp` (when this attempt is sent) and `webhook-signature`, one `v1,...`
per secret: the current one and, while a rotation settles, the previous one, so that a receiver verifies
with either."""

from __future__ import annotations

import base64
import secrets as random
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

PREFIX = "whsec_"
SECRET_BYTES = 24


def new_secret() -> str:
    """A signing secret in the form receivers' libraries take: whsec_ + base64 of random bytes."""
    return PREFIX + base64.b64encode(random.token_bytes(SECRET_BYTES)).decode("ascii")


def headers(
    message_id: str, body: str, secrets: Sequence[str], sent_at: datetime | None = None
) -> dict[str, str]:
    """The headers that sign `body` as message `message_id`, sent at `sent_at` (now), with each secret."""
    # The library reads a naive or UTC datetime (it sets tzinfo to UTC): hand it UTC.
    timestamp = (sent_at or datetime.now(UTC)).astimezone(UTC)
    signatures = [Webhook(secret).sign(message_id, timestamp, body) for secret in secrets]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
