"""Sending email: through Amazon SES in AWS; into a folder where a developer reads it on a laptop
(`make dev` sends nothing out)."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from reservas.settings import get_settings


def send(message: EmailMessage) -> None:
    """Send a message whose `To` is set; `From` is the configured sender. Raises when it cannot be sent
    (the caller's work is then undone and retried)."""
    settings = get_settings()
    if not settings.mail_from:
        raise RuntimeError("RESERVAS_MAIL_FROM is not set")
    message["From"] = settings.mail_from
    message["Message-ID"] = f"<{uuid.uuid4()}@reservas>"
    if settings.mail_folder:
        folder = Path(settings.mail_folder)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
        (folder / name).write_bytes(message.as_bytes())
        return
    _ses().send_raw_email(
        Source=settings.mail_from, Destinations=[message["To"]], RawMessage={"Data": message.as_bytes()}
    )


@functools.cache
def _ses() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("ses", config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 3}))
