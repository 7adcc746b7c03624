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


def test_the_functions_and_the_layer_run_on_python313_and_arm64(template):
    import sys

    layer = template["Resources"]["CommonLayer"]
    assert layer["Metadata"]["BuildMethod"] == template["Globals"]["Function"]["Runtime"] == "python3.13"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert (ROOT / layer["Properties"]["ContentUri"] / "requirements.txt").exists()
    assert template["Globals"]["Function"]["Architectures"] == ["arm64"]
    assert layer["Metadata"]["BuildArchitecture"] == "arm64"
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    # The tests, the .pyc compiled into the build and the runtime are one Python.
    assert sys.version_info[:2] == (3, 13)


@pytest.mark.parametrize("architecture", ["arm64", "x86_64"])
def test_a_build_for_either_architecture_names_it_everywhere(architecture):
    from devtools.build import template_for

    variant = yaml.load(template_for(architecture).read_text(), Loader=_Loader)  # noqa: S506 (a SafeLoader)
    layer = variant["Resources"]["CommonLayer"]
    assert variant["Globals"]["Function"]["Architectures"] == [architecture]
    assert layer["Metadata"]["BuildArchitecture"] == architecture
    assert layer["Properties"]["CompatibleArchitectures"] == [architecture]
    named_elsewhere = [
        name for name, r in variant["Resources"].items() if "Architectures" in (r.get("Properties") or {})
    ]
    assert named_elsewhere in ([], ["CommonLayer"])  # no function overrides the Globals


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


# ---------------------------------------------------------------- The web page behind CloudFront


def _web_resources(template: dict) -> dict:
    return {name: r for name, r in template["Resources"].items() if name.startswith("WebPage")}


def test_the_web_page_resources_exist_only_when_asked_for(template):
    resources = _web_resources(template)
    assert {"WebPageBucket", "WebPageDistribution", "WebPageBucketPolicy"} <= set(resources)
    assert {r.get("Condition") for r in resources.values()} == {"ServesWebPage"}
    assert template["Parameters"]["ServeWebPage"]["Default"] == "false"


def test_every_api_route_goes_to_the_api_and_the_page_to_the_bucket(template):
    """One origin for both: each path the API answers has a behavior sending it to the API, uncached;
    the page's own paths (its entry paths and modules) go to the bucket."""
    from fnmatch import fnmatchcase

    from devtools.apigw import WEB_ENTRY_PATHS

    config = template["Resources"]["WebPageDistribution"]["Properties"]["DistributionConfig"]
    api = [b for b in config["CacheBehaviors"] if b["TargetOriginId"] == "api"]
    assert api and all(b["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" for b in api)
    assert all(set(b["AllowedMethods"]) >= {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} for b in api)

    def to_api(path: str) -> bool:
        return any(fnmatchcase(path, b["PathPattern"]) for b in api)

    paths = {
        properties["Path"].replace("{", "").replace("}", "")
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in (resource["Properties"].get("Events") or {}).values()
        if event["Type"] == "HttpApi"
        for properties in [event["Properties"]]
    }
    assert paths and [path for path in sorted(paths) if not to_api(path)] == []
    assert not any(
        to_api(path) for path in [*WEB_ENTRY_PATHS, "/app/main.js", "/app/views/find.js", "/index.html"]
    )
    code = template["Resources"]["WebPageEntryPaths"]["Properties"]["FunctionCode"]
    assert all(f'"{path}"' in code for path in WEB_ENTRY_PATHS)


def test_the_page_is_private_and_served_with_the_same_policy_as_make_dev(template):
    from devtools.apigw import WEB_HEADERS

    bucket = template["Resources"]["WebPageBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    statements = template["Resources"]["WebPageBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    [allow] = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"} and allow["Action"] == "s3:GetObject"
    assert "AWS:SourceArn" in allow["Condition"]["StringEquals"]
    policy = template["Resources"]["WebPageHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]
    csp = policy["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert " ".join(csp.split()) == " ".join(WEB_HEADERS["Content-Security-Policy"].split())
