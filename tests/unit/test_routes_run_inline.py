"""Every route of the four API functions, and everything it depends on, runs on the request's event loop:
a `def` would run in FastAPI's threadpool, hand-offs a Lambda instance serving one request at a time
pays for nothing (see reservas.app_factory)."""

from __future__ import annotations

import inspect

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from tests.support import GROUPS, function_module


def _sync_calls(dependant: Dependant) -> list[str]:
    found = []
    call = dependant.call
    if call is not None and not (
        inspect.iscoroutinefunction(call)
        or inspect.isasyncgenfunction(call)
        or inspect.iscoroutinefunction(getattr(call, "__call__", None))  # noqa: B004 (classes like HTTPBearer)
    ):
        found.append(getattr(call, "__qualname__", repr(call)))
    for sub in dependant.dependencies:
        found += _sync_calls(sub)
    return found


@pytest.mark.parametrize("group", GROUPS)
def test_no_route_of_the_function_runs_in_a_thread(group):
    app = function_module(group).app
    routes = [route for route in app.routes if isinstance(route, APIRoute)]
    assert routes
    in_threads = {route.path: calls for route in routes if (calls := _sync_calls(route.dependant))}
    assert in_threads == {}
