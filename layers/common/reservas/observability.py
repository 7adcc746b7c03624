"""Powertools Logger, Metrics and Tracer, one of each per container.

The service name comes from POWERTOOLS_SERVICE_NAME (set per function in template.yaml)."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
metrics = Metrics(namespace="Reservas")
tracer = Tracer()
