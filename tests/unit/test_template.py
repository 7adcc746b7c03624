"""template.yaml and the apps agree: every route API Gateway sends has a handler, and no handler hides."""

from __future__ import annotations

import pytest
import yaml

from devtools.apigw import ROOT
from tests.support import GROUPS, function_module


class _Loader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !Sub...) as plain values."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def yaml_template() -> dict:
    return yaml.load((ROOT / "template.yaml").read_text(), Loader=_Loader)  # noqa: S506 (a SafeLoader)


@pytest.fixture(scope="module")
def template() -> dict:
    return yaml_template()


def template_routes(template: dict, function: str) -> set[tuple[str, str]]:
    events = template["Resources"][function]["Properties"].get("Events", {})
    return {
        (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
        for event in events.values()
        if event["Type"] == "HttpApi"
    }


def app_routes(group: str) -> set[tuple[str, str]]:
    paths = function_module(group).app.openapi()["paths"]
    return {(method.upper(), path) for path, operations in paths.items() for method in operations}


@pytest.mark.parametrize("group", GROUPS)
def test_routes_in_the_template_match_the_app(template, group):
    function = f"{group.title()}Function"
    assert template_routes(template, function) == app_routes(group)


def test_no_catch_all_routes(template):
    for name, resource in template["Resources"].items():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            assert "{proxy+}" not in event["Properties"].get("Path", ""), name
            assert event["Properties"].get("Method", "").upper() != "ANY", name


def test_every_function_points_at_a_real_handler(template):
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        module, attribute = properties["Handler"].rsplit(".", 1)
        source = ROOT / properties["CodeUri"] / f"{module}.py"
        assert source.exists(), name
        assert f"def {attribute}" in source.read_text() or f"{attribute} = " in source.read_text(), name


def test_the_layer_is_built_by_sam_with_python311(template):
    layer = template["Resources"]["CommonLayer"]
    assert layer["Metadata"]["BuildMethod"] == "python3.11"
    assert (ROOT / layer["Properties"]["ContentUri"] / "requirements.txt").exists()
    assert template["Globals"]["Function"]["Runtime"] == "python3.11"


def test_every_route_has_a_sample_event(template):
    import json

    keys = {json.loads(path.read_text())["routeKey"] for path in (ROOT / "events").glob("*.json")}
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            for method, path in template_routes(template, name):
                assert f"{method} {path}" in keys, f"no event in events/ for {method} {path}"


def test_the_sample_events_are_current():
    import json

    from scripts.sample_events import SAMPLES, sample_event

    for name, method, route, request in SAMPLES:
        written = json.loads((ROOT / "events" / f"{name}.json").read_text())
        assert written == sample_event(method, route, request), (
            f"events/{name}.json is stale: run scripts/sample_events.py"
        )
