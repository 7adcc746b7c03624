"""template.yaml as CloudFormation would deploy it: translated by SAM's own translator, created as a
stack in moto, and checked for every function, its least-privilege role, the layer, the bus, the outputs."""

from __future__ import annotations

import ast
import io
import json
import zipfile

import boto3
import pytest
from moto import mock_aws
from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from scripts.apigw import ROOT

API_FUNCTIONS = ("AuthFunction", "UsersFunction", "SpacesFunction", "ReservationsFunction")
REGION = "eu-west-1"


def _packaged(template: dict, s3) -> dict:
    """What `sam package` does: code folders become S3 objects (here a stub zip each)."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", "def handler(event, context):\n    return {}\n")
    s3.create_bucket(Bucket="artifacts", CreateBucketConfiguration={"LocationConstraint": REGION})
    for name, resource in template["Resources"].items():
        field = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}.get(
            resource["Type"]
        )
        if field:
            s3.put_object(Bucket="artifacts", Key=f"{name}.zip", Body=archive.getvalue())
            resource["Properties"][field] = f"s3://artifacts/{name}.zip"
    return template


@pytest.fixture(scope="module")
def stack():
    with mock_aws():
        s3, iam = boto3.client("s3", region_name=REGION), boto3.client("iam", region_name=REGION)
        secrets = boto3.client("secretsmanager", region_name=REGION)
        database_arn = secrets.create_secret(Name="reservas/db", SecretString="{}")["ARN"]
        jwt_arn = secrets.create_secret(Name="reservas/jwt", SecretString="k" * 48)["ARN"]
        template = _packaged(yaml_parse((ROOT / "template.yaml").read_text()), s3)
        translated = transform(template, {}, ManagedPolicyLoader(iam))
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        cloudformation.create_stack(
            StackName="reservas",
            TemplateBody=json.dumps(translated),
            Parameters=[
                {"ParameterKey": "DatabaseSecretArn", "ParameterValue": database_arn},
                {"ParameterKey": "JwtSecretArn", "ParameterValue": jwt_arn},
            ],
            Capabilities=["CAPABILITY_IAM"],
        )
        description = cloudformation.describe_stacks(StackName="reservas")["Stacks"][0]
        resources = {
            r["LogicalResourceId"]: r
            for r in cloudformation.list_stack_resources(StackName="reservas")["StackResourceSummaries"]
        }
        yield {
            "status": description["StackStatus"],
            "outputs": {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])},
            "resources": resources,
            "translated": translated,
            "secrets": {"database": database_arn, "jwt": jwt_arn},
            "lambda": boto3.client("lambda", region_name=REGION),
            "iam": iam,
            "events": boto3.client("events", region_name=REGION),
        }


def _statements(stack, function: str) -> list[dict]:
    role_name = stack["resources"][f"{function}Role"]["PhysicalResourceId"]
    iam = stack["iam"]
    statements = []
    for policy in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=policy)["PolicyDocument"]
        if isinstance(document, str):  # moto keeps CloudFormation-made inline policies as Python reprs
            document = ast.literal_eval(document)
        statements += (
            document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
        )
    return statements


def test_the_stack_is_created(stack):
    assert stack["status"] == "CREATE_COMPLETE"


@pytest.mark.parametrize(
    "function", [*API_FUNCTIONS, "MigrateFunction", "OutboxPublisherFunction", "MaintenanceFunction"]
)
def test_every_function_exists_on_python311_with_the_layer(stack, function):
    assert stack["resources"][function]["ResourceStatus"] == "CREATE_COMPLETE"
    # moto keeps neither layers nor tracing on functions; the translated template is what CloudFormation gets.
    properties = stack["translated"]["Resources"][function]["Properties"]
    [layer] = [
        name
        for name, r in stack["translated"]["Resources"].items()
        if r["Type"] == "AWS::Lambda::LayerVersion"
    ]
    assert properties["Runtime"] == "python3.11"
    assert properties["Handler"] == "app.handler"
    assert properties["Layers"] == [{"Ref": layer}]
    assert properties["TracingConfig"] == {"Mode": "Active"}


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_api_functions_read_only_their_two_secrets(stack, function):
    statements = _statements(stack, function)
    assert {tuple(s["Action"]) if isinstance(s["Action"], list) else (s["Action"],) for s in statements} == {
        ("secretsmanager:GetSecretValue",)
    }
    resources = {s["Resource"] for s in statements}
    assert resources == {stack["secrets"]["database"], stack["secrets"]["jwt"]}


@pytest.mark.parametrize("function", ["MigrateFunction", "MaintenanceFunction"])
def test_database_only_functions_read_only_the_database_secret(stack, function):
    assert {s["Resource"] for s in _statements(stack, function)} == {stack["secrets"]["database"]}


def test_the_publisher_reads_the_database_and_puts_events_on_its_bus_only(stack):
    statements = _statements(stack, "OutboxPublisherFunction")
    actions = {
        a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert actions == {"secretsmanager:GetSecretValue", "events:PutEvents"}
    put_events = next(s for s in statements if "events:PutEvents" in str(s["Action"]))
    # One bus, named by a reference to the stack's EventBus (moto renders that reference oddly).
    assert ":event-bus/" in put_events["Resource"] and not put_events["Resource"].endswith("/*")
    role = stack["translated"]["Resources"]["OutboxPublisherFunctionRole"]["Properties"]
    assert '{"Ref": "EventBus"}' in json.dumps(role["Policies"])


def test_no_policy_of_ours_grants_a_wildcard(stack):
    for function in (*API_FUNCTIONS, "MigrateFunction", "OutboxPublisherFunction", "MaintenanceFunction"):
        for statement in _statements(stack, function):
            assert "*" not in json.dumps(statement["Resource"]), (function, statement)


def test_the_bus_the_layer_and_the_outputs(stack):
    assert stack["events"].describe_event_bus(Name="reservas-events")["Name"] == "reservas-events"
    layer = next(r for r in stack["resources"].values() if r["ResourceType"] == "AWS::Lambda::LayerVersion")
    assert layer["ResourceStatus"] == "CREATE_COMPLETE"
    assert {"ApiUrl", "EventBusArn", "MigrateFunctionName", "CommonLayerArn"} <= set(stack["outputs"])
    assert stack["outputs"]["ApiUrl"].endswith(".execute-api.eu-west-1.amazonaws.com/dev")


def test_the_http_api_routes_every_path_and_throttles(stack):
    # moto's CloudFormation does not create HTTP APIs; the translated template is checked instead.
    api = next(r for r in stack["translated"]["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Api")
    routes = {
        (method.upper(), path) for path, ops in api["Properties"]["Body"]["paths"].items() for method in ops
    }
    assert ("POST", "/reservations") in routes and ("GET", "/spaces/{space_id}/availability") in routes
    assert len(routes) == 26
    stage = next(
        r for r in stack["translated"]["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Stage"
    )
    assert stage["Properties"]["DefaultRouteSettings"]["ThrottlingRateLimit"]
    assert stage["Properties"]["AccessLogSettings"]["DestinationArn"]
