"""docs/openapi.json is the whole API's contract: generated from the apps, and never stale."""

import json

from scripts.export_openapi import OUTPUT, build, render


def test_the_committed_document_is_current():
    assert OUTPUT.read_text() == render(build()), "docs/openapi.json is stale: run `make openapi`"


def test_every_operation_documents_its_errors_and_security():
    document = json.loads(OUTPUT.read_text())
    public = {
        ("post", "/auth/register"),
        ("post", "/auth/verify"),
        ("post", "/auth/login"),
        ("post", "/auth/password-reset"),
        ("post", "/auth/password-reset/confirm"),
        ("post", "/auth/refresh"),
        ("post", "/auth/validate"),
        ("get", "/spaces/available"),
        ("get", "/calendar/{token}/bookings.ics"),  # the token in its path is the key
    }
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            problems = [
                status
                for status, response in operation["responses"].items()
                if "application/problem+json" in response.get("content", {})
            ]
            assert "422" in problems and "429" in problems, (method, path)
            if path.endswith("/health") or (method, path) in public:
                continue
            if "security" not in operation:
                assert method == "get" and path.startswith("/spaces"), (method, path)  # optional sign-in
            else:
                assert "401" in problems, (method, path)
