"""cdk-nag's AwsSolutions findings acknowledged where the design differs, each with its reason."""

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import IConstruct


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))


def _flatten(node: Any) -> str:
    """A resolved CloudFormation value as cdk-nag names it in a finding (its flattenCfnReference)."""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if "Fn::Join" in node:
        delimiter, items = node["Fn::Join"]
        return delimiter.join(_flatten(item) for item in items)
    if "Fn::Sub" in node:
        return _flatten(node["Fn::Sub"])
    if "Fn::GetAtt" in node:
        resource, attribute = node["Fn::GetAtt"]
        return f"<{_flatten(resource)}.{_flatten(attribute)}>"
    if "Fn::ImportValue" in node:
        return _flatten(node["Fn::ImportValue"])
    if "Ref" in node:
        return f"<{_flatten(node['Ref'])}>"
    return json.dumps(node)


def acknowledge_wildcards(construct: IConstruct, statements: list[iam.PolicyStatement], reason: str) -> None:
    """Acknowledge AwsSolutions-IAM5 for each wildcard resource of the statements (nag names each one)."""
    stack = cdk.Stack.of(construct)
    for statement in statements:
        for resource in statement.resources:
            flat = _flatten(stack.resolve(resource))
            if "*" in flat:
                acknowledge(construct, f"AwsSolutions-IAM5[Resource::{flat}]", reason)
