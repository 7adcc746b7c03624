"""Behind the stack's CloudFront distribution (ServeWebPage=true) every request reaches API Gateway from
CloudFront's addresses. The API counts and records each person under their own address, which the
distribution vouches for; nobody calling API Gateway directly can choose the address they count under."""

from __future__ import annotations

import random

import boto3
import pytest
from moto import mock_aws

from tests.conftest import reset_caches
from tests.integration.conftest import ORIGIN_PROOF as PROOF
from tests.support import http_event, invoke, space_body

CLOUDFRONT = "130.176.12.34"  # one of CloudFront's origin-facing addresses


def an_address() -> str:
    return f"203.0.113.{random.randrange(1, 255)}"


def through_cloudfront(method: str, path: str, viewer: str, proof: str = PROOF, **kwargs) -> dict:
    headers = {
        **kwargs.pop("headers", {}),
        "x-reservas-viewer-address": viewer,
        "x-reservas-origin-verify": proof,
    }
    return http_event(method, path, headers=headers, source_ip=CLOUDFRONT, **kwargs)


def sign_in_attempt(event: dict) -> int:
    return invoke("auth", event)[0]


def test_people_behind_cloudfront_each_have_their_own_budget(behind_cloudfront, limits_on):
    limits_on(rate_limit_auth="3/minute")
    body = {"email": "nobody@example.com", "password": "wrong-password-1"}
    first, second = "198.51.100.10", "198.51.100.11"
    spent = [sign_in_attempt(through_cloudfront("POST", "/auth/login", first, body=body)) for _ in range(4)]
    assert spent == [401, 401, 401, 429]
    assert sign_in_attempt(through_cloudfront("POST", "/auth/login", second, body=body)) == 401


@pytest.mark.parametrize(
    "proof",
    [None, "", "wrong", PROOF[:-1], PROOF + "x", PROOF.upper()],
    ids=["none", "empty", "wrong", "short", "long", "case"],
)
def test_a_viewer_address_without_the_distribution_s_proof_changes_nothing(
    behind_cloudfront, limits_on, proof
):
    """Straight to API Gateway, a made-up viewer address per request still counts under the caller's own."""
    limits_on(rate_limit_auth="3/minute")
    caller = an_address()
    body = {"email": "nobody@example.com", "password": "wrong-password-1"}
    statuses = []
    for n in range(5):
        headers = {"x-reservas-viewer-address": f"192.0.2.{n + 1}"}
        if proof is not None:
            headers["x-reservas-origin-verify"] = proof
        statuses.append(
            sign_in_attempt(http_event("POST", "/auth/login", body=body, headers=headers, source_ip=caller))
        )
    assert statuses == [401, 401, 401, 429, 429]


@pytest.mark.parametrize(
    "viewer",
    ["", "not-an-address", "1.2.3.4\x00", "1.2.3.4, 5.6.7.8", "9" * 10_000, "999.1.1.1", "\u200b1.2.3.4"],
    ids=["empty", "word", "nul", "list", "10k", "out-of-range", "invisible"],
)
def test_a_viewer_address_that_is_not_one_counts_under_the_callers(behind_cloudfront, limits_on, viewer):
    limits_on(rate_limit_auth="2/minute")
    body = {"email": "nobody@example.com", "password": "wrong-password-1"}
    event = through_cloudfront("POST", "/auth/login", viewer, body=body)
    statuses = [sign_in_attempt(event) for _ in range(2)]
    other = through_cloudfront("POST", "/auth/login", "198.51.100.99", body=body)
    assert statuses == [401, 401]
    assert sign_in_attempt(event) == 429  # CloudFront's own address is spent...
    assert sign_in_attempt(other) == 401  # ...but not the budget of a viewer it vouches for


def test_the_audit_log_records_the_viewer_s_address(behind_cloudfront, admin):
    token = {"authorization": f"Bearer {admin['access_token']}"}
    viewer = "2001:db8::7"
    status, _, space = invoke(
        "spaces", through_cloudfront("POST", "/spaces", viewer, headers=token, body=space_body())
    )
    assert status == 201, space
    status, _, page = invoke(
        "users",
        http_event("GET", "/audit", headers=token, query=f"entity=space&entity_id={space['id']}"),
    )
    assert status == 200, page
    assert [entry["actor_address"] for entry in page["items"]] == [viewer]


@pytest.fixture
def origin_secret_in_secrets_manager(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="eu-west-1")
        arn = client.create_secret(Name="reservas-origin", SecretString="first-proof-" + "a" * 40)["ARN"]
        monkeypatch.setenv("RESERVAS_ORIGIN_SECRET_ARN", arn)
        monkeypatch.setenv("RESERVAS_SECRETS_MAX_AGE_SECONDS", "0")
        reset_caches()
        yield client, arn
    monkeypatch.undo()
    reset_caches()


def test_the_proof_is_read_from_secrets_manager_and_survives_a_rotation(
    origin_secret_in_secrets_manager, limits_on
):
    client, arn = origin_secret_in_secrets_manager
    limits_on(rate_limit_auth="1/minute")
    body = {"email": "nobody@example.com", "password": "wrong-password-1"}

    def attempt(viewer: str, proof: str) -> int:
        return sign_in_attempt(through_cloudfront("POST", "/auth/login", viewer, proof=proof, body=body))

    first = "first-proof-" + "a" * 40
    assert attempt("198.51.100.20", first) == 401
    assert attempt("198.51.100.21", first) == 401  # its own budget: the proof was recognised
    client.put_secret_value(SecretId=arn, SecretString="second-proof-" + "b" * 40)
    # The distribution still sends the old proof until the stack is deployed again: still recognised.
    assert attempt("198.51.100.22", first) == 401
    assert attempt("198.51.100.23", "second-proof-" + "b" * 40) == 401
    made_up = [attempt(f"198.51.100.{n}", "made-up") for n in (24, 25)]
    assert made_up == [401, 429]  # not recognised: both counted under CloudFront's one address


def test_an_unreadable_origin_secret_degrades_to_api_gateway_s_address(monkeypatch, limits_on):
    """Secrets Manager out of reach: requests still answer, counted under the address API Gateway saw."""
    monkeypatch.setenv(
        "RESERVAS_ORIGIN_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gone"
    )
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        reset_caches()
        limits_on(rate_limit_auth="1/minute")
        body = {"email": "nobody@example.com", "password": "wrong-password-1"}
        assert sign_in_attempt(through_cloudfront("POST", "/auth/login", "198.51.100.30", body=body)) == 401
        assert sign_in_attempt(through_cloudfront("POST", "/auth/login", "198.51.100.31", body=body)) == 429
    reset_caches()
