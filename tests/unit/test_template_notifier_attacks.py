"""The notifier in template.yaml as an operator meets it: one closure or one space's approval turned off
writes hundreds of events at once, and EventBridge invokes the notifier once per event (found by an
attacker; both failed before)."""

from devtools.apigw import TEMPLATE


def yaml_template() -> dict:
    """template.yaml with its intrinsic functions spelled out (Fn::If, Fn::GetAtt), as CloudFormation reads it."""
    from samcli.yamlhelper import yaml_parse

    return yaml_parse(TEMPLATE.read_text())


def test_the_notifier_fans_out_to_a_number_of_invocations_the_operator_chooses():
    template = yaml_template()
    notifier = template["Resources"]["NotifierFunction"]["Properties"]
    # A cap would otherwise be missing: 500 events would be 500 concurrent invocations, each with its
    # own PostgreSQL connection and its own SES call. 0 leaves it off (a new account can reserve none).
    assert notifier["ReservedConcurrentExecutions"] == {
        "Fn::If": ["CapsNotifier", {"Ref": "NotifierConcurrency"}, {"Ref": "AWS::NoValue"}]
    }
    assert template["Conditions"]["CapsNotifier"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "NotifierConcurrency"}, 0]}]
    }


def test_a_message_the_notifier_failed_to_send_is_kept():
    template = yaml_template()
    notifier = template["Resources"]["NotifierFunction"]["Properties"]
    # Lambda retries a failed asynchronous invocation twice, then drops the event, unless it goes somewhere.
    on_failure = notifier["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["NotifierFailedEvents", "Arn"]}}
    statements = template["Resources"]["NotifierFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    assert {
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": {"Fn::GetAtt": ["NotifierFailedEvents", "Arn"]},
    } in statements
