"""Powertools Logger and Metrics, one of each per container, and opt-in X-Ray subsegments.

The service name comes from POWERTOOLS_SERVICE_NAME (set per function in template.yaml)."""

import os
import warnings
from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools import Logger, Metrics

# Every invocation flushes metrics; most have only the cold-start one, which is fine, not a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger()
metrics = Metrics(namespace="Reservas")


# A Lambda handler: the event, the context, the answer.
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def traced(handler: Handler) -> Handler:
    """Powertools Tracer around the handler when RESERVAS_XRAY_SDK=true. Off by default: the X-Ray SDK
    (and the botocore it loads) adds about a third of a second to every cold start, while Lambda's
    active tracing (template.yaml) records every invocation without it."""
    if os.environ.get("RESERVAS_XRAY_SDK", "").lower() != "true":
        return handler
    from aws_lambda_powertools import Tracer

    return cast(Handler, Tracer().capture_lambda_handler(capture_response=False)(handler))
