"""Powertools Logger, Metrics and Tracer, one of each per container.

The service name comes from POWERTOOLS_SERVICE_NAME (set per function in template.yaml)."""

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

# Every invocation flushes metrics; most have only the cold-start one, which is fine, not a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger()
metrics = Metrics(namespace="Reservas")
tracer = Tracer()
