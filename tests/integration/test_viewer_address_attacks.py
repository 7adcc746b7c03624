"""Attacks on the viewer address behind CloudFront (viewer_address.py): what Secrets Manager costs each
request, and what a caller straight to API Gateway can and cannot do with the two headers."""

from __future__ import annotations

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from tests.conftest import reset_caches
from tests.integration.test_viewer_address import PROOF, sign_in_attempt, through_cloudfront
from tests.support import http_event, invoke

BODY = {"email": "nobody@example.com", "password": "wrong-password-1"}


@pytest.fixture
def secrets_manager_calls(monkeypatch):
    """A never-rotated origin secret in (moto's) Secrets Manager, cached the default 300 s, as the stack
    deploys it (no rotation schedule: it has no AWSPREVIOUS version); the calls made to Secrets Manager."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    calls: list[dict] = []
    real_get = parameters.SecretsProvider._get

    def counted(self, name, **sdk_options):
        calls.append({"name": name, **sdk_options})
        return real_get(self, name, **sdk_options)

    monkeypatch.setattr(parameters.SecretsProvider, "_get", counted)
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="eu-west-1")
        arn = client.create_secret(Name="reservas-origin-attacks", SecretString=PROOF)["ARN"]
        monkeypatch.setenv("RESERVAS_ORIGIN_SECRET_ARN", arn)
        monkeypatch.delenv("RESERVAS_ORIGIN_SECRET", raising=False)
        reset_caches()
        yield calls
    monkeypatch.undo()
    reset_caches()


def test_requests_through_cloudfront_do_not_each_ask_secrets_manager(secrets_manager_calls, limits_on):
    """HOLE. The stack never rotates the origin secret, so it has no AWSPREVIOUS version; Powertools
    caches values, not failures, so every API request through the page asked Secrets Manager for the
    previous proof again (a round trip, billed, on every request): 12 calls for 11 requests."""
    limits_on(rate_limit_auth="100/minute")
    statuses = [
        sign_in_attempt(through_cloudfront("POST", "/auth/login", f"198.51.100.{n}", body=BODY))
        for n in range(1, 12)
    ]
    assert statuses == [401] * 11
    # The first request reads the current proof and finds no previous one; the others ask nothing.
    assert len(secrets_manager_calls) == 2, secrets_manager_calls


def test_the_proof_still_recognised_after_secrets_manager_calls_are_saved(secrets_manager_calls, limits_on):
    """The saved calls change nothing about who counts where: the viewer behind the proof has their own
    budget, a made-up proof still counts under CloudFront's address."""
    limits_on(rate_limit_auth="1/minute")
    assert sign_in_attempt(through_cloudfront("POST", "/auth/login", "198.51.100.40", body=BODY)) == 401
    assert sign_in_attempt(through_cloudfront("POST", "/auth/login", "198.51.100.41", body=BODY)) == 401
    wrong = [
        sign_in_attempt(
            through_cloudfront("POST", "/auth/login", f"198.51.100.{n}", proof="x" * 48, body=BODY)
        )
        for n in (42, 43)
    ]
    assert wrong == [401, 429]


def test_the_proof_never_comes_back_in_an_answer(behind_cloudfront):
    """A request that fails validation echoes what it was sent in places; never the distribution's proof."""
    event = through_cloudfront("POST", "/auth/login", "198.51.100.50", body={"email": PROOF})
    status, headers, body = invoke("auth", event)
    assert status == 422
    assert PROOF not in repr(headers) and PROOF not in repr(body)


def test_headers_in_capitals_without_proof_still_change_nothing(behind_cloudfront, limits_on):
    """API Gateway v2 lower-cases header names; a v1-style event in capitals is read the same way."""
    limits_on(rate_limit_auth="1/minute")
    caller = "203.0.113.77"
    statuses = [
        sign_in_attempt(
            http_event(
                "POST",
                "/auth/login",
                body=BODY,
                headers={"X-Reservas-Viewer-Address": f"192.0.2.{n}", "X-Reservas-Origin-Verify": "no"},
                source_ip=caller,
            )
        )
        for n in (1, 2)
    ]
    assert statuses == [401, 429]
