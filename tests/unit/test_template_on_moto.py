"""template.yaml as CloudFormation would deploy it: translated by SAM's own translator, created as a
stack in moto, and checked for every function, its least-privilege role, the layer, the bus, the outputs."""

from __future__ import annotations

import io
import json
import re
import zipfile

import boto3
import pytest
from moto import mock_aws
from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from devtools.apigw import ROOT
from devtools.cfn_intrinsics import resolve

MAIL_FROM = "rooms@example.org"
API_FUNCTIONS = ("AuthFunction", "UsersFunction", "SpacesFunction", "ReservationsFunction")
ALL_FUNCTIONS = (
    *API_FUNCTIONS,
    "MigrateFunction",
    "OutboxPublisherFunction",
    "MaintenanceFunction",
    "ReleaseFunction",
    "PromoteFunction",
    "NotifierFunction",
    "WebhooksFunction",
)
REGION = "eu-west-1"


def _packaged(template: dict, s3, bucket: str) -> dict:
    """What `sam package` does: code folders become S3 objects (here a stub zip each)."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", "def handler(event, context):\n    return {}\n")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    for name, resource in template["Resources"].items():
        field = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}.get(
            resource["Type"]
        )
        if field:
            s3.put_object(Bucket=bucket, Key=f"{name}.zip", Body=archive.getvalue())
            resource["Properties"][field] = f"s3://{bucket}/{name}.zip"
    return template


# Resource types moto's CloudFormation cannot create (it refuses a stack whose outputs or policies refer
# to them; a custom resource it would run in Docker): the stack is created without them and what refers
# to them, which the translated template (and tests/unit/test_template.py) still shows.
MOTO_LACKS = ("AWS::CloudFront::", "Custom::")


# The data tier's resources moto's CloudFormation cannot create, though every function's settings name
# them (the proxy's endpoint, the cache's address): the stack is created with a stand-in value for
# each of their references, and the translated template shows the resources themselves.
MOTO_STANDS_IN = (
    "AWS::RDS::DBProxy",
    "AWS::RDS::DBProxyTargetGroup",
    "AWS::RDS::DBInstance",
    "AWS::ElastiCache::ServerlessCache",
    "AWS::SecretsManager::SecretTargetAttachment",
)


def _standing_in(value, names: set[str]):
    """`value` with every Ref, GetAtt and ${...} of `names` replaced by a stand-in string."""
    if isinstance(value, list):
        return [_standing_in(item, names) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        [(function, argument)] = value.items()
        if function == "Ref" and argument in names:
            return f"stand-in-for-{argument}"
        if function == "Fn::GetAtt":
            target = argument[0] if isinstance(argument, list) else argument.split(".")[0]
            if target in names:
                return f"stand-in-for-{target}"
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            for name in names:
                text = re.sub(r"\$\{" + name + r"(\.[A-Za-z.]+)?\}", f"stand-in-for-{name}", text)
            return {"Fn::Sub": text if not variables else [text, _standing_in(variables, names)]}
    return {key: _standing_in(item, names) for key, item in value.items()}


def _refers(value: object, names: set[str]) -> bool:
    text = json.dumps(value)
    return any(f'"{name}"' in text or "${" + name in text for name in names)


def _what_moto_creates(translated: dict) -> dict:
    # moto's CloudFormation has no Lambda aliases: what calls a function's alias calls the function.
    text = json.dumps(translated)
    for name, resource in translated["Resources"].items():
        if resource["Type"] == "AWS::Lambda::Alias":
            function = resource["Properties"]["FunctionName"]["Ref"]
            text = text.replace(json.dumps({"Ref": name}), json.dumps({"Ref": function}))
            text = text.replace("${" + name + "}", "${" + function + "}")
    stack = json.loads(text)
    stack["Resources"] = {n: r for n, r in stack["Resources"].items() if r["Type"] != "AWS::Lambda::Alias"}
    stood_in = {name for name, r in stack["Resources"].items() if r["Type"] in MOTO_STANDS_IN}
    stack = _standing_in(stack, stood_in)
    for name in stood_in:
        stack["Resources"].pop(name)
    for resource in stack["Resources"].values():
        if "DependsOn" in resource:
            resource["DependsOn"] = [d for d in _listed(resource["DependsOn"]) if d not in stood_in]
    gone = {name for name, r in stack["Resources"].items() if r["Type"].startswith(MOTO_LACKS)}
    while gone:
        for name in gone:
            stack["Resources"].pop(name, None)
        stack["Outputs"] = {key: o for key, o in stack.get("Outputs", {}).items() if not _refers(o, gone)}
        gone = {name for name, r in stack["Resources"].items() if _refers(r, gone)}
    return stack


def _deploy(cloudformation, iam, s3, name: str, parameters: dict[str, str]) -> dict:
    """What CloudFormation does with the template: the SAM transform (given the stack's parameter
    values, as CloudFormation gives them), then the stack."""
    template = _packaged(yaml_parse((ROOT / "template.yaml").read_text()), s3, bucket=name)
    translated = transform(template, parameters, ManagedPolicyLoader(iam))
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=json.dumps(_what_moto_creates(translated)),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    description = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    resources = {
        r["LogicalResourceId"]: r
        for r in cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
    }
    return {
        "status": description["StackStatus"],
        "outputs": {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])},
        "resources": resources,
        "translated": translated,
        "parameters": parameters,
        "iam": iam,
    }


@pytest.fixture(scope="module")
def aws():
    with mock_aws():
        clients = {
            name: boto3.client(name, region_name=REGION)
            for name in (
                "s3",
                "iam",
                "secretsmanager",
                "cloudformation",
                "lambda",
                "events",
                "ec2",
                "cloudwatch",
            )
        }
        clients["secrets"] = {
            "database": clients["secretsmanager"].create_secret(Name="reservas/db", SecretString="{}")["ARN"],
            "jwt": clients["secretsmanager"].create_secret(Name="reservas/jwt", SecretString="k" * 48)["ARN"],
        }
        yield clients


def _given(aws, **parameters: str) -> dict[str, str]:
    """The parameters of a stack given its database and key (no data tier of its own), and more."""
    return {
        "DatabaseSecretArn": aws["secrets"]["database"],
        "JwtSecretArn": aws["secrets"]["jwt"],
        "MailFrom": MAIL_FROM,
        **parameters,
    }


@pytest.fixture(scope="module")
def stack(aws):
    """The stack with the parameters a first deploy needs: no VPC, no CORS origins."""
    deployed = _deploy(aws["cloudformation"], aws["iam"], aws["s3"], "reservas", _given(aws))
    return {
        **deployed,
        "secrets": aws["secrets"],
        "lambda": aws["lambda"],
        "events": aws["events"],
        "secretsmanager": aws["secretsmanager"],
    }


@pytest.fixture(scope="module")
def vpc_stack(aws):
    """A second stack, in a VPC and with the origins of a web client."""
    vpc = aws["ec2"].create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = aws["ec2"].create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = aws["ec2"].create_security_group(GroupName="reservas", Description="functions", VpcId=vpc)
    parameters = _given(
        aws,
        SubnetIds=subnet,
        SecurityGroupIds=group["GroupId"],
        CorsAllowOrigins="https://app.example.com,https://admin.example.com",
    )
    return _deploy(aws["cloudformation"], aws["iam"], aws["s3"], "reservas-vpc", parameters)


def _statements(stack, function: str) -> list[dict]:
    """The role's inline policy statements as CloudFormation creates them (moto's CloudFormation
    drops a statement's Resource when it refers to a resource type it does not create)."""
    template = stack["translated"]
    policies = resolve(
        template["Resources"][f"{function}Role"]["Properties"]["Policies"], template, stack["parameters"]
    )
    return [
        {**statement, "Resource": [_resource(r) for r in _listed(statement["Resource"])]}
        for policy in policies
        for statement in _listed(policy["PolicyDocument"]["Statement"])
    ]


def _resource(value) -> str:
    """An ARN, or the stack's own resource a Ref or GetAtt names."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def test_the_stack_is_created(stack):
    assert stack["status"] == "CREATE_COMPLETE"


@pytest.mark.parametrize("function", ALL_FUNCTIONS)
def test_every_function_exists_on_python313_and_arm64_with_the_layer(stack, function):
    assert stack["resources"][function]["ResourceStatus"] == "CREATE_COMPLETE"
    # moto keeps neither layers nor tracing on functions; the translated template is what CloudFormation gets.
    properties = stack["translated"]["Resources"][function]["Properties"]
    [layer] = [
        name
        for name, r in stack["translated"]["Resources"].items()
        if r["Type"] == "AWS::Lambda::LayerVersion"
    ]
    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Handler"] == "app.handler"
    assert properties["Layers"] == [{"Ref": layer}]
    assert properties["TracingConfig"] == {"Mode": "Active"}


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _functions_secret(stack) -> str:
    return _resource({"Ref": "FunctionsDatabaseSecret"})


def _granted(stack, function: str) -> dict[str, set[str]]:
    """Each action the function's role allows, with the resources it allows it on."""
    by_action: dict[str, set[str]] = {}
    for statement in _statements(stack, function):
        for action in _listed(statement["Action"]):
            by_action.setdefault(action, set()).update(_listed(statement["Resource"]))
    return by_action


# The functions whose work records events publish them themselves, at once, on the stack's bus only.
PUBLISHING = {
    "AuthFunction",
    "UsersFunction",
    "SpacesFunction",
    "ReservationsFunction",
    "ReleaseFunction",
    "PromoteFunction",
}


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_api_functions_read_only_their_two_secrets_and_put_events_on_their_bus(stack, function):
    expected = {"secretsmanager:GetSecretValue": {_functions_secret(stack), stack["secrets"]["jwt"]}}
    if function in PUBLISHING:
        expected["events:PutEvents"] = {_bus(stack)}
    assert _granted(stack, function) == expected


@pytest.mark.parametrize(
    "function",
    ["MaintenanceFunction", "ReleaseFunction", "PromoteFunction", "NotifierFunction", "WebhooksFunction"],
)
def test_the_jobs_read_only_the_functions_database_secret(stack, function):
    expected = {"secretsmanager:GetSecretValue": {_functions_secret(stack)}}
    if function in PUBLISHING:
        expected["events:PutEvents"] = {_bus(stack)}
    granted = _granted(stack, function)
    if function == "NotifierFunction":
        assert len(granted.pop("ses:SendRawEmail")) == 2  # its address's and its domain's identities
        assert granted.pop("sqs:SendMessage") == {_resource({"Fn::GetAtt": ["NotifierFailedEvents", "Arn"]})}
    assert granted == expected


def test_the_notifier_sends_only_from_the_stacks_address(stack):
    [sending] = [s for s in _statements(stack, "NotifierFunction") if s["Action"] == "ses:SendRawEmail"]
    assert sending["Condition"] == {"StringEquals": {"ses:FromAddress": MAIL_FROM}}
    address, domain = sending["Resource"]
    assert address.endswith(f":identity/{MAIL_FROM}")
    # The domain's identity: what follows the @ of MailFrom.
    assert json.loads(domain)["Fn::Sub"][1] == {
        "Domain": {"Fn::Select": [1, {"Fn::Split": ["@", {"Ref": "MailFrom"}]}]}
    }
    variables = stack["translated"]["Resources"]["NotifierFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["RESERVAS_MAIL_FROM"] == {"Ref": "MailFrom"}


def test_the_webhook_functions_know_the_allowed_private_networks(stack):
    # The users function checks a URL when it is registered; the webhooks function at every delivery.
    for function in ALL_FUNCTIONS:
        variables = stack["translated"]["Resources"][function]["Properties"]["Environment"]["Variables"]
        knows = variables.get("RESERVAS_WEBHOOK_PRIVATE_NETWORKS") == {"Ref": "WebhookPrivateNetworks"}
        assert knows == (function in {"UsersFunction", "WebhooksFunction"}), function


def test_the_functions_that_publish_know_their_bus(stack):
    for function in ALL_FUNCTIONS:
        variables = stack["translated"]["Resources"][function]["Properties"]["Environment"]["Variables"]
        knows = variables.get("RESERVAS_EVENT_BUS_NAME") == {"Ref": "EventBus"}
        assert knows == (function in PUBLISHING | {"OutboxPublisherFunction"}), function


def _bus(stack) -> str:
    return _resource({"Fn::GetAtt": ["EventBus", "Arn"]})


def test_only_the_migrate_function_reads_the_owners_secret_and_it_writes_only_the_functions_secret(stack):
    assert _granted(stack, "MigrateFunction") == {
        "secretsmanager:GetSecretValue": {stack["secrets"]["database"], _functions_secret(stack)},
        "secretsmanager:PutSecretValue": {_functions_secret(stack)},
    }
    for function in ALL_FUNCTIONS:
        if function != "MigrateFunction":
            granted = json.dumps(_statements(stack, function))
            assert stack["secrets"]["database"] not in granted, function


def test_the_functions_secret_is_generated_with_a_role_name_the_migrations_take_for_every_stage(stack):
    from reservas.migrations.roles import FunctionsLogin

    template = stack["translated"]
    generated = template["Resources"]["FunctionsDatabaseSecret"]["Properties"]["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "password"
    assert generated["PasswordLength"] >= 32 and generated["ExcludePunctuation"] is True
    for stage in template["Parameters"]["Stage"]["AllowedValues"]:
        username = json.loads(resolve(generated["SecretStringTemplate"], template, {"Stage": stage}))[
            "username"
        ]
        assert FunctionsLogin(username, "p" * generated["PasswordLength"]).username == username


def _managed_policies(stack, function: str) -> set[str]:
    template = stack["translated"]
    arns = template["Resources"][f"{function}Role"]["Properties"]["ManagedPolicyArns"]
    # moto's CloudFormation ignores a role's ManagedPolicyArns: resolved here as CloudFormation would.
    return {arn.rsplit("/", 1)[-1] for arn in resolve(arns, template, stack["parameters"])}


@pytest.mark.parametrize("function", ALL_FUNCTIONS)
def test_vpc_access_is_granted_only_to_a_stack_in_a_vpc(stack, vpc_stack, function):
    assert _managed_policies(stack, function) == {"AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess"}
    assert _managed_policies(vpc_stack, function) == {
        "AWSLambdaBasicExecutionRole",
        "AWSXrayWriteOnlyAccess",
        "AWSLambdaVPCAccessExecutionRole",
    }


def test_the_publisher_reads_the_database_and_puts_events_on_its_bus_only(stack):
    statements = _statements(stack, "OutboxPublisherFunction")
    actions = {
        a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert actions == {"secretsmanager:GetSecretValue", "events:PutEvents"}
    put_events = next(s for s in statements if "events:PutEvents" in str(s["Action"]))
    # One bus: the stack's own.
    assert put_events["Resource"] == [_resource({"Fn::GetAtt": ["EventBus", "Arn"]})]
    assert stack["events"].describe_event_bus(Name="reservas-events")["Name"] == "reservas-events"
    database = next(s for s in statements if "secretsmanager:GetSecretValue" in str(s["Action"]))
    assert database["Resource"] == [_functions_secret(stack)]


def test_no_policy_of_ours_grants_a_wildcard(stack):
    for function in ALL_FUNCTIONS:
        for statement in _statements(stack, function):
            assert "*" not in json.dumps(statement["Resource"]), (function, statement)


def test_the_bus_the_layer_and_the_outputs(stack):
    assert stack["events"].describe_event_bus(Name="reservas-events")["Name"] == "reservas-events"
    layer = next(r for r in stack["resources"].values() if r["ResourceType"] == "AWS::Lambda::LayerVersion")
    assert layer["ResourceStatus"] == "CREATE_COMPLETE"
    assert {"ApiUrl", "EventBusArn", "MigrateFunctionName", "CommonLayerArn"} <= set(stack["outputs"])
    # The $default stage: no stage in the base URL (moto leaves the API's id unresolved).
    assert stack["outputs"]["ApiUrl"].endswith(".execute-api.eu-west-1.amazonaws.com")


def test_the_http_api_routes_every_path_and_throttles(stack):
    # moto's CloudFormation does not create HTTP APIs; the translated template is checked instead.
    api = next(r for r in stack["translated"]["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Api")
    routes = {
        (method.upper(), path) for path, ops in api["Properties"]["Body"]["paths"].items() for method in ops
    }
    assert ("POST", "/reservations") in routes and ("GET", "/spaces/{space_id}/availability") in routes
    assert len(routes) == 71
    [stage] = [
        r for r in stack["translated"]["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Stage"
    ]
    assert stage["Properties"]["DefaultRouteSettings"]["ThrottlingRateLimit"]
    assert stage["Properties"]["AccessLogSettings"]["DestinationArn"]


def test_the_api_serves_on_its_default_stage_so_paths_carry_no_prefix(stack):
    # A named stage puts "/{stage}" in front of every path API Gateway hands the functions.
    [stage] = [
        r for r in stack["translated"]["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Stage"
    ]
    assert stage["Properties"]["StageName"] == "$default"
    assert stage["Properties"]["AutoDeploy"] is True


def _gateway_cors(stack) -> dict | None:
    """The CORS configuration API Gateway gets (None: none), as CloudFormation resolves it."""
    api = next(r for r in stack["translated"]["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Api")
    cors = api["Properties"]["Body"].get("x-amazon-apigateway-cors")
    [resolved] = resolve([cors], stack["translated"], stack["parameters"]) or [None]
    return resolved


def test_browsers_preflights_are_answered_by_the_gateway_for_the_configured_origins(stack, vpc_stack):
    assert _gateway_cors(stack) is None  # no origins given: no browser page may call it
    cors = _gateway_cors(vpc_stack)
    assert cors["allowOrigins"] == ["https://app.example.com", "https://admin.example.com"]
    routes_methods = {
        method.upper()
        for ops in next(
            r for r in vpc_stack["translated"]["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Api"
        )["Properties"]["Body"]["paths"].values()
        for method in ops
    }
    assert routes_methods <= set(cors["allowMethods"])
    assert {"authorization", "content-type", "idempotency-key"} <= set(cors["allowHeaders"])
    assert {"location", "retry-after", "x-correlation-id"} <= set(cors["exposeHeaders"])


def test_the_origins_have_one_home_the_gateway(stack):
    for resource in stack["translated"]["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            variables = resource["Properties"].get("Environment", {}).get("Variables", {})
            assert not any("CORS" in name for name in variables)


# ---------------------------------------------------------------- ServeWebPage=true


@pytest.fixture(scope="module")
def web_stack(aws):
    """A stack serving the web page: its bucket, distribution and the origin secret."""
    return _deploy(
        aws["cloudformation"], aws["iam"], aws["s3"], "reservas-web", _given(aws, ServeWebPage="true")
    )


def _variables(stack, function: str) -> dict:
    template = stack["translated"]
    properties = template["Resources"][function]["Properties"]
    return resolve(properties.get("Environment", {}).get("Variables", {}), template, stack["parameters"])


def test_the_stack_with_the_web_page_is_created_with_its_bucket(web_stack):
    assert web_stack["status"] == "CREATE_COMPLETE"
    # moto creates the bucket. Its CloudFormation has neither CloudFront nor Secrets Manager resources:
    # the distribution, its functions and policies, the origin secret (and the bucket policy and output
    # naming the distribution) are checked in the translated template.
    assert web_stack["resources"]["WebPageBucket"]["ResourceStatus"] == "CREATE_COMPLETE"
    assert "WebPageBucketName" in web_stack["outputs"]
    translated = web_stack["translated"]["Resources"]
    assert {
        "WebPageDistribution",
        "WebPageViewerAddress",
        "WebPageBucketPolicy",
        "WebPageOriginSecret",
    } <= set(translated)
    generated = translated["WebPageOriginSecret"]["Properties"]["GenerateSecretString"]
    assert generated["PasswordLength"] >= 32  # made by Secrets Manager, never a template value


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_behind_the_distribution_the_api_functions_read_its_origin_secret(stack, web_stack, function):
    origin = _resource({"Ref": "WebPageOriginSecret"})
    assert _variables(web_stack, function)["RESERVAS_ORIGIN_SECRET_ARN"] == {"Ref": "WebPageOriginSecret"}
    assert origin in _granted(web_stack, function)["secretsmanager:GetSecretValue"]
    # Without the page: no origin secret to read, and no grant to read one.
    assert _variables(stack, function)["RESERVAS_ORIGIN_SECRET_ARN"] == ""
    assert origin not in _granted(stack, function)["secretsmanager:GetSecretValue"]


@pytest.mark.parametrize("function", [f for f in ALL_FUNCTIONS if f not in API_FUNCTIONS])
def test_the_jobs_never_read_the_origin_secret(web_stack, function):
    assert "RESERVAS_ORIGIN_SECRET_ARN" not in _variables(web_stack, function)
    origin = _resource({"Ref": "WebPageOriginSecret"})
    assert all(origin not in resources for resources in _granted(web_stack, function).values())


def test_the_distribution_vouches_for_each_viewer_s_address_to_the_api(web_stack):
    """Every API behavior runs the viewer-address function (which overwrites whatever the viewer sent),
    and the API origin gets the origin secret, resolved by CloudFormation from Secrets Manager."""
    from reservas.viewer_address import PROOF_HEADER, VIEWER_HEADER

    resources = web_stack["translated"]["Resources"]
    config = resources["WebPageDistribution"]["Properties"]["DistributionConfig"]
    [api] = [origin for origin in config["Origins"] if origin["Id"] == "api"]
    [header] = api["OriginCustomHeaders"]
    assert header["HeaderName"].lower().encode() == PROOF_HEADER
    assert header["HeaderValue"] == {
        "Fn::Sub": "{{resolve:secretsmanager:${WebPageOriginSecret}:SecretString}}"
    }
    viewer_address = {"Fn::GetAtt": ["WebPageViewerAddress", "FunctionMetadata.FunctionARN"]}
    for behavior in config["CacheBehaviors"]:
        assert behavior["TargetOriginId"] == "api"
        assert behavior["FunctionAssociations"] == [
            {"EventType": "viewer-request", "FunctionARN": viewer_address}
        ]
    code = resources["WebPageViewerAddress"]["Properties"]["FunctionCode"]
    assert f'request.headers["{VIEWER_HEADER.decode()}"] = {{ value: event.viewer.ip }}' in code


def test_the_migrations_run_on_every_deploy_that_may_bring_new_ones(stack):
    """The Migrations custom resource: MigrateFunction answers it; the layer's version (a new one for
    any change to the layer, where the migrations live) is what makes CloudFormation send an update."""
    resources = stack["translated"]["Resources"]
    migrations = resources["Migrations"]
    [layer] = [name for name, r in resources.items() if r["Type"] == "AWS::Lambda::LayerVersion"]
    assert migrations["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["MigrateFunction", "Arn"]}
    assert migrations["Properties"]["CommonLayerVersion"] == {"Ref": layer}
    function_timeout = resources["MigrateFunction"]["Properties"]["Timeout"]
    assert function_timeout < migrations["Properties"]["ServiceTimeout"] <= 3600  # never the hour's default
    assert "MigrateFunctionLogGroup" in migrations["DependsOn"]  # or Lambda makes the group first


@pytest.fixture(scope="module")
def snapstart_stack(aws):
    return _deploy(
        aws["cloudformation"], aws["iam"], aws["s3"], "reservas-snapstart", _given(aws, SnapStart="true")
    )


def _snapstart(stack, function: str):
    properties = stack["translated"]["Resources"][function]["Properties"]
    return resolve(properties.get("SnapStart"), stack["translated"], stack["parameters"])


def test_snapstart_applies_to_the_api_s_published_versions_only_when_chosen(stack, snapstart_stack):
    assert snapstart_stack["status"] == "CREATE_COMPLETE"
    for function in API_FUNCTIONS:
        assert _snapstart(snapstart_stack, function) == {"ApplyOn": "PublishedVersions"}
        assert _snapstart(stack, function) == {"ApplyOn": "None"}
    for function in set(ALL_FUNCTIONS) - set(API_FUNCTIONS):
        assert _snapstart(snapstart_stack, function) is None
    # The API calls each function's alias, the published version a snapshot is taken of.
    resources = snapstart_stack["translated"]["Resources"]
    api = next(r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Api")
    body = json.dumps(api["Properties"]["Body"])
    for function in API_FUNCTIONS:
        [alias] = [
            name
            for name, r in resources.items()
            if r["Type"] == "AWS::Lambda::Alias" and r["Properties"]["FunctionName"] == {"Ref": function}
        ]
        assert resources[alias]["Properties"]["Name"] == "live"
        assert "${" + alias + "}" in body


# ---------------------------------------------------------------- CreateDataTier=true


@pytest.fixture(scope="module")
def data_tier_stack(aws):
    """A stack with its own data tier: no database, key or Redis given."""
    parameters = {"MailFrom": MAIL_FROM, "CreateDataTier": "true", "AlarmEmail": "ops@example.org"}
    deployed = _deploy(aws["cloudformation"], aws["iam"], aws["s3"], "reservas-data", parameters)
    return {**deployed, "ec2": aws["ec2"]}


def test_the_stack_with_its_own_data_tier_is_created(data_tier_stack):
    assert data_tier_stack["status"] == "CREATE_COMPLETE"


def _sg_rules(stack, logical: str) -> list[tuple[int, int, str]]:
    """A security group's inbound rules as moto made it: (from, to, the source group's logical name)."""
    ec2 = stack["ec2"]
    by_id = {r["PhysicalResourceId"]: name for name, r in stack["resources"].items()}
    [group] = ec2.describe_security_groups(GroupIds=[stack["resources"][logical]["PhysicalResourceId"]])[
        "SecurityGroups"
    ]
    return [
        (rule["FromPort"], rule["ToPort"], by_id.get(pair["GroupId"], pair["GroupId"]))
        for rule in group["IpPermissions"]
        for pair in rule.get("UserIdGroupPairs", [])
    ] + [
        (rule["FromPort"], rule["ToPort"], "any address")
        for rule in group["IpPermissions"]
        if rule.get("IpRanges")
    ]


def test_the_data_tier_network_has_private_subnets_in_two_zones_and_a_way_out(data_tier_stack):
    ec2, resources = data_tier_stack["ec2"], data_tier_stack["resources"]
    private = ec2.describe_subnets(
        SubnetIds=[resources[f"DataTierPrivateSubnet{x}"]["PhysicalResourceId"] for x in "AB"]
    )["Subnets"]
    assert len({subnet["AvailabilityZone"] for subnet in private}) == 2
    translated = data_tier_stack["translated"]["Resources"]  # moto keeps no MapPublicIpOnLaunch of its own
    assert all(
        translated[f"DataTierPrivateSubnet{x}"]["Properties"]["MapPublicIpOnLaunch"] is False for x in "AB"
    )
    routes = ec2.describe_route_tables(
        RouteTableIds=[resources["DataTierPrivateRoutes"]["PhysicalResourceId"]]
    )
    out = [r for r in routes["RouteTables"][0]["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    assert [r.get("NatGatewayId") for r in out] == [resources["DataTierNat"]["PhysicalResourceId"]]
    endpoints = {e["ServiceName"].rsplit(".", 1)[-1]: e for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]}
    assert (
        endpoints["secretsmanager"]["VpcEndpointType"]
        == endpoints["events"]["VpcEndpointType"]
        == "Interface"
    )
    assert endpoints["s3"]["VpcEndpointType"] == "Gateway"  # CloudFormation's presigned answer URL


def test_only_the_functions_reach_the_proxy_and_the_cache_and_only_the_proxy_the_database(data_tier_stack):
    assert _sg_rules(data_tier_stack, "DataTierProxySecurityGroup") == [
        (5432, 5432, "DataTierFunctionsSecurityGroup")
    ]
    assert _sg_rules(data_tier_stack, "DataTierDatabaseSecurityGroup") == [
        (5432, 5432, "DataTierProxySecurityGroup")
    ]
    assert _sg_rules(data_tier_stack, "DataTierCacheSecurityGroup") == [
        (6379, 6380, "DataTierFunctionsSecurityGroup")
    ]
    assert _sg_rules(data_tier_stack, "DataTierEndpointSecurityGroup") == [
        (443, 443, "DataTierFunctionsSecurityGroup")
    ]
    assert _sg_rules(data_tier_stack, "DataTierFunctionsSecurityGroup") == []  # nothing comes in


def test_the_database_is_encrypted_protected_backed_up_and_behind_a_proxy(data_tier_stack):
    # moto's CloudFormation has no Aurora cluster, RDS Proxy or ElastiCache Serverless: checked in the
    # translated template, with the stack's parameters resolved.
    template, parameters = data_tier_stack["translated"], data_tier_stack["parameters"]
    cluster = template["Resources"]["DataTierDatabase"]
    properties = resolve(cluster["Properties"], template, parameters)
    assert cluster["DeletionPolicy"] == cluster["UpdateReplacePolicy"] == "Snapshot"
    assert properties["StorageEncrypted"] and properties["DeletionProtection"]
    assert properties["BackupRetentionPeriod"] >= 7
    assert properties["Engine"] == "aurora-postgresql"
    assert properties["ServerlessV2ScalingConfiguration"]["MinCapacity"] == 0.5  # the default, 0 allowed
    assert template["Parameters"]["DatabaseMinCapacity"]["MinValue"] == 0
    assert "{{resolve:secretsmanager:" in json.dumps(
        properties["MasterUserPassword"]
    )  # never a template value
    writer = template["Resources"]["DataTierDatabaseWriter"]["Properties"]
    assert writer["DBInstanceClass"] == "db.serverless" and writer["PubliclyAccessible"] is False
    proxy = template["Resources"]["DataTierProxy"]["Properties"]
    assert proxy["RequireTLS"] is True and proxy["EngineFamily"] == "POSTGRESQL"
    assert {json.dumps(a["SecretArn"]) for a in proxy["Auth"]} == {
        json.dumps({"Ref": "DataTierDatabaseSecret"}),
        json.dumps({"Ref": "FunctionsDatabaseSecret"}),
    }
    pool = template["Resources"]["DataTierProxyTargets"]["Properties"]["ConnectionPoolConfigurationInfo"]
    assert pool["ConnectionBorrowTimeout"] < 5  # inside the API's budget: a 503, not a timeout
    cache = template["Resources"]["DataTierCache"]["Properties"]
    assert cache["Engine"] == "valkey" and len(cache["SubnetIds"]) == 2
    for secret in ("DataTierDatabaseSecret", "DataTierJwtSecret"):
        generated = template["Resources"][secret]["Properties"]["GenerateSecretString"]
        assert generated["PasswordLength"] >= 40


@pytest.mark.parametrize("function", ALL_FUNCTIONS)
def test_every_function_runs_in_the_data_tier_with_its_settings(data_tier_stack, function):
    template, parameters = data_tier_stack["translated"], data_tier_stack["parameters"]
    properties = resolve(template["Resources"][function]["Properties"], template, parameters)
    assert properties["VpcConfig"] == {
        "SubnetIds": [{"Ref": "DataTierPrivateSubnetA"}, {"Ref": "DataTierPrivateSubnetB"}],
        "SecurityGroupIds": [{"Ref": "DataTierFunctionsSecurityGroup"}],
    }
    variables = properties["Environment"]["Variables"]
    assert variables["RESERVAS_REDIS_CLUSTER"] == "true"
    assert (
        variables["REDIS_URL"] == "rediss://${DataTierCache.Endpoint.Address}:${DataTierCache.Endpoint.Port}"
    )
    assert variables["RESERVAS_DATABASE_HOST"] == {"Fn::GetAtt": ["DataTierProxy", "Endpoint"]}
    assert variables["RESERVAS_JWT_SECRET_ARN"] == {"Ref": "DataTierJwtSecret"}
    assert "AWSLambdaVPCAccessExecutionRole" in _managed_policies(data_tier_stack, function)
    readable = _granted(data_tier_stack, function)["secretsmanager:GetSecretValue"]
    expected = {_functions_secret(data_tier_stack)}
    if function in API_FUNCTIONS:
        expected.add(_resource({"Ref": "DataTierJwtSecret"}))
    if function == "MigrateFunction":
        expected.add(_resource({"Ref": "DataTierDatabaseSecret"}))
        assert variables["RESERVAS_DATABASE_SECRET_ARN"] == {"Ref": "DataTierDatabaseSecret"}
    assert readable == expected


def test_without_the_data_tier_the_given_database_key_and_redis_are_used(stack):
    template, parameters = stack["translated"], stack["parameters"]
    assert not any(name.startswith("DataTier") for name in stack["resources"])
    variables = resolve(template["Resources"]["AuthFunction"]["Properties"], template, parameters)[
        "Environment"
    ]["Variables"]
    assert variables["RESERVAS_JWT_SECRET_ARN"] == stack["secrets"]["jwt"]
    assert variables["RESERVAS_REDIS_CLUSTER"] == "false" and variables["RESERVAS_DATABASE_HOST"] == ""
    assert "TheDatabaseAndKeyWithoutTheDataTier" in template["Rules"]  # the ARNs are required then


# ---------------------------------------------------------------- AlarmEmail


def test_alarms_exist_only_when_an_address_is_given_and_reach_it(stack, data_tier_stack):
    alarms = {
        "ApiErrorRateAlarm",
        "ThrottlesAlarm",
        "DurationAlarm",
        "OutboxBacklogAlarm",
        "DatabaseConnectionsAlarm",
    }
    assert not alarms & set(stack["resources"]) and "AlarmTopic" not in stack["resources"]
    resources = data_tier_stack["translated"]["Resources"]
    assert alarms <= set(resources)
    topic = resources["AlarmTopic"]["Properties"]
    assert topic["Subscription"] == [{"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}]
    assert topic["KmsMasterKeyId"]  # encrypted at rest
    for name in alarms:
        assert resources[name]["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
    # moto makes the topic; its CloudFormation keeps no alarms, which the translated template shows.
    assert data_tier_stack["resources"]["AlarmTopic"]["ResourceStatus"] == "CREATE_COMPLETE"


def test_the_backlog_alarm_watches_the_metric_the_publisher_writes(data_tier_stack):
    """The namespace, the name and the service dimension Powertools gives the outbox's own metric; a
    publisher that stops reporting is an alarm too."""
    template = data_tier_stack["translated"]
    alarm = template["Resources"]["OutboxBacklogAlarm"]["Properties"]
    publisher = resolve(
        template["Resources"]["OutboxPublisherFunction"]["Properties"],
        template,
        data_tier_stack["parameters"],
    )
    variables = publisher["Environment"]["Variables"]
    assert alarm["Namespace"] == variables["POWERTOOLS_METRICS_NAMESPACE"]
    assert alarm["Dimensions"] == [{"Name": "service", "Value": variables["POWERTOOLS_SERVICE_NAME"]}]
    assert f'name="{alarm["MetricName"]}"' in (ROOT / "functions" / "outbox" / "app.py").read_text()
    assert alarm["TreatMissingData"] == "breaching"


def _depends_on(template: dict, name: str) -> set[str]:
    """Every resource `name` waits for on create, and that waits for it on delete: the closure of its
    DependsOn, Ref, GetAtt and ${...}."""
    resources = template["Resources"]

    def direct(value: object) -> set[str]:
        if isinstance(value, list):
            return set().union(*(direct(item) for item in value)) if value else set()
        if isinstance(value, str):
            return {m.split(".")[0] for m in re.findall(r"\$\{([A-Za-z0-9.]+)\}", value)} & set(resources)
        if not isinstance(value, dict):
            return set()
        found: set[str] = set()
        for key, item in value.items():
            if key == "Ref" and item in resources:
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else item.split(".")[0])
            else:
                found |= direct(item)
        return found

    seen: set[str] = set()
    todo = [name]
    while todo:
        resource = resources[todo.pop()]
        depends = resource.get("DependsOn", [])
        nearest = direct(resource.get("Properties", {})) | set(
            [depends] if isinstance(depends, str) else depends
        )
        todo += [n for n in nearest - seen if n in resources]
        seen |= nearest
    return seen


def test_the_migrations_run_only_once_what_they_reach_in_the_data_tier_is_there(data_tier_stack):
    """HOLE. The Migrations custom resource waited for the proxy's targets only. MigrateFunction also
    reads the owner's secret, whose database name and port the secret attachment adds (before it, the
    migrations would go to the database `postgres`); it reaches Secrets Manager through its endpoint,
    and answers CloudFormation through the S3 gateway endpoint on the private subnets' route table.
    Nothing ordered those: on create the function could run before them, and on delete CloudFormation
    could remove the S3 endpoint first, so the Delete's answer never reached the presigned URL (without
    the NAT gateway) and the stack's deletion waited for ServiceTimeout, then failed."""
    needed = {
        "DataTierProxyTargets",
        "DataTierDatabaseSecretAddress",
        "DataTierSecretsManagerEndpoint",
        "DataTierS3Endpoint",
        "DataTierPrivateRoutesA",
        "DataTierPrivateRoutesB",
    }
    assert needed <= _depends_on(data_tier_stack["translated"], "Migrations")


def test_cloudwatch_may_use_the_key_the_alarm_topic_is_encrypted_with(data_tier_stack):
    """HOLE. The alarm topic was encrypted with the AWS managed key alias/aws/sns, whose key policy no
    one can change and which does not let CloudWatch use it: every alarm action failed to publish (the
    alarm shows "Failed to execute action"), and nobody was told. A key of the stack's own lets
    CloudWatch encrypt what it publishes to the topic."""
    resources = data_tier_stack["translated"]["Resources"]
    key = resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"]
    assert key != "alias/aws/sns" and isinstance(key, dict), key
    [name] = key.values()
    assert resources[name]["Type"] == "AWS::KMS::Key"
    properties = resources[name]["Properties"]
    assert properties.get("EnableKeyRotation") is True
    for_cloudwatch = [
        statement
        for statement in properties["KeyPolicy"]["Statement"]
        if statement.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert for_cloudwatch and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(for_cloudwatch[0]["Action"])
