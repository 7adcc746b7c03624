"""CloudFormation's evaluation of the intrinsic functions template.yaml uses in conditional properties
(CORS, the VPC policy): what a property becomes once a stack has its parameter values. SAM CLI's own
resolver stops at `AWS::NoValue`, and moto's CloudFormation ignores some of these properties. Also
CloudFormation's check of parameter values, which SAM CLI skips."""

from __future__ import annotations

import re
from typing import Any

NO_VALUE = object()  # AWS::NoValue: the property (or list item) is left out
_PSEUDO_PARAMETERS = {"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::URLSuffix": "amazonaws.com"}


def resolve(value: Any, template: dict, parameters: dict[str, str]) -> Any:
    """`value` with Ref, Fn::Sub (pseudo parameters and parameters), Fn::Join, Fn::Split, Fn::Equals,
    Fn::Not, Fn::And, Fn::Or and Fn::If (by the template's Conditions) evaluated, inside lists and
    mappings too; other intrinsics are left as they are."""
    if isinstance(value, list):
        items = [resolve(item, template, parameters) for item in value]
        return [item for item in items if item is not NO_VALUE]
    if not isinstance(value, dict):
        return value
    function = next(iter(value)) if len(value) == 1 else ""
    if function not in ("Ref", "Condition") and not function.startswith("Fn::"):
        entries = {key: resolve(item, template, parameters) for key, item in value.items()}
        return {key: item for key, item in entries.items() if item is not NO_VALUE}
    argument = value[function]
    known = {
        **{name: spec.get("Default", "") for name, spec in template.get("Parameters", {}).items()},
        **parameters,
        **_PSEUDO_PARAMETERS,
    }
    if function == "Ref":
        return NO_VALUE if argument == "AWS::NoValue" else known.get(argument, value)
    if function == "Fn::Sub" and isinstance(argument, str):
        for name, replacement in known.items():
            argument = argument.replace("${" + name + "}", str(replacement))
        return argument
    if function == "Fn::Join":
        return argument[0].join(resolve(argument[1], template, parameters))
    if function == "Fn::Split":
        return resolve(argument[1], template, parameters).split(argument[0])
    if function == "Fn::Equals":
        return resolve(argument[0], template, parameters) == resolve(argument[1], template, parameters)
    if function == "Fn::Not":
        return not resolve(argument[0], template, parameters)
    if function == "Fn::And":
        return all(resolve(condition, template, parameters) for condition in argument)
    if function == "Fn::Or":
        return any(resolve(condition, template, parameters) for condition in argument)
    if function == "Fn::If":
        holds = resolve(template["Conditions"][argument[0]], template, parameters)
        return resolve(argument[1] if holds else argument[2], template, parameters)
    if function == "Condition":
        return resolve(template["Conditions"][argument], template, parameters)
    return value


def parameter_problems(template: dict, parameters: dict[str, str]) -> list[str]:
    """Why CloudFormation would refuse these parameter values (AllowedPattern, AllowedValues)."""
    problems = []
    for name, value in parameters.items():
        spec = template.get("Parameters", {}).get(name)
        if spec is None:
            problems.append(f"{name}: the template has no such parameter")
            continue
        pattern = spec.get("AllowedPattern")
        if pattern is not None and not re.fullmatch(pattern, value):
            problems.append(
                f"{name}={value!r}: {spec.get('ConstraintDescription', 'does not match ' + pattern)}"
            )
        allowed = spec.get("AllowedValues")
        if allowed is not None and value not in [str(a) for a in allowed]:
            problems.append(f"{name}={value!r}: one of {allowed}")
    return problems
