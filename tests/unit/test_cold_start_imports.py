"""What a function imports at cold start: what only some requests need waits for them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from devtools.apigw import ROOT

# (function, modules its cold start leaves for the requests that need them)
LEFT_FOR_LATER = [
    # webhooks: their service (the signing library, the address checks) loads with their routes; leaving
    # (and the booking rules it cancels with) with DELETE /users/me
    (
        "users",
        [
            "reservas.leaving",
            "reservas.reservations.service",
            "standardwebhooks",
            "reservas.webhooks.addresses",
            "reservas.webhooks.delivery",
            "reservas.webhooks.registry",
        ],
    ),
    # only a series expands a rule (dateutil, about 13 ms); series and the waitlist load with their routes;
    # the free-time search only for the suggestions of a 409
    (
        "reservations",
        [
            "dateutil.rrule",
            "reservas.reservations.series",
            "reservas.reservations.waitlist",
            "reservas.spaces.service",
        ],
    ),
    # only a closure over bookings needs the booking rules; closures, check-in codes, managers, usage: their routes
    (
        "spaces",
        [
            "dateutil.rrule",
            "reservas.reservations.service",
            "reservas.spaces.closures",
            "reservas.spaces.check_in",
        ],
    ),
]


@pytest.mark.parametrize(("group", "modules"), LEFT_FOR_LATER)
def test_a_cold_start_leaves_what_few_requests_need(group, modules):
    script = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'layers' / 'common')!r}]\n"
        "from devtools.apigw import load_function_module\n"
        f"load_function_module(__import__('pathlib').Path({str(ROOT / 'functions' / group)!r}))\n"
        f"print(json.dumps([m for m in {modules!r} if m in sys.modules]))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(loaded.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize("group", ["auth", "users", "spaces", "reservations"])
def test_a_cold_start_builds_no_route_and_almost_no_model(group):
    """Routes are built by the request that needs them (app_factory.DeferredRoute), models by their
    first use (models.Model), or both by SnapStart's before-snapshot hook. At most one model is built at
    init: one made at import (auth's fixed answers), or the generic Page."""
    script = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'layers' / 'common')!r}]\n"
        "from devtools.apigw import load_function_module\n"
        f"module = load_function_module(__import__('pathlib').Path({str(ROOT / 'functions' / group)!r}))\n"
        "from reservas.app_factory import DeferredRoute\n"
        "from reservas.models import every_model\n"
        "routes = [r for r in module.app.routes if isinstance(r, DeferredRoute)]\n"
        "models = every_model()\n"
        "print(json.dumps([len(routes) == len(module.app.routes), [r.path for r in routes if r.built],\n"
        "                  len(models), [m.__name__ for m in models if m.__pydantic_complete__]]))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    every_route_deferred, built_routes, models, built_models = json.loads(
        loaded.stdout.strip().splitlines()[-1]
    )
    assert every_route_deferred
    assert built_routes == []
    assert models >= 15
    assert len(built_models) <= 1, built_models


def test_a_route_s_first_body_is_read_without_a_warning():
    """A route's body is validated by a TypeAdapter that FastAPI makes with pydantic's warning about its
    alias silenced; a deferred model (models.Model) builds it later, at its first request, where that
    warning would reach the logs of every cold start."""
    script = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'layers' / 'common')!r}]\n"
        "from devtools.apigw import LambdaContext, load_function_module, v2_event\n"
        f"module = load_function_module(__import__('pathlib').Path({str(ROOT / 'functions' / 'auth')!r}))\n"
        "answer = module.handler(v2_event('POST', '/auth/login', body={}), LambdaContext('AuthFunction'))\n"
        "print(json.dumps(answer['statusCode']))\n"
    )
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "RESERVAS_STAGE": "local",
        "RESERVAS_RATE_LIMITS_ENABLED": "false",
    }
    answered = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    assert json.loads(answered.stdout.strip().splitlines()[-1]) == 422
    assert "UnsupportedFieldAttributeWarning" not in answered.stderr, answered.stderr[-2000:]
