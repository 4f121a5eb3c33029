"""Each service's role allows every DynamoDB call its code can make: moto allows everything, AWS does not.

The calls are found in the source: every `shared` module a service's app.py reaches through its imports,
searched for DynamoDB client operations (a direct call, or an operation named in a string for getattr).
"""

import ast
import json
import re
from pathlib import Path

import pytest

from infra.requirements import SERVICES
from tests.infra.synth import Synthesized

ROOT = Path(__file__).resolve().parents[2]

# Client operation -> the IAM actions it needs (a transaction needs those of the writes it holds).
OPERATIONS = {
    "get_item": ["dynamodb:GetItem"],
    "batch_get_item": ["dynamodb:BatchGetItem"],
    "put_item": ["dynamodb:PutItem"],
    "update_item": ["dynamodb:UpdateItem"],
    "delete_item": ["dynamodb:DeleteItem"],
    "query": ["dynamodb:Query"],
    "transact_write_items": ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"],
    "batch_write_item": ["dynamodb:BatchWriteItem"],
    "scan": ["dynamodb:Scan"],
}
CALL = re.compile(r"client\(\"dynamodb\"\)\s*\.\s*(\w+)\(|get_paginator\(\"(\w+)\"\)|\"(\w+_items?)\"")


def module_file(name: str) -> Path | None:
    path = ROOT.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def reachable_modules(entry: Path) -> set[Path]:
    """The `shared` modules the entry file imports, directly or through each other."""
    seen: set[Path] = set()
    pending = [entry]
    while pending:
        tree = ast.parse(pending.pop().read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            for name in names:
                path = module_file(name) if name.split(".")[0] == "shared" else None
                if path and path not in seen:
                    seen.add(path)
                    pending.append(path)
    return seen


def dynamodb_actions(service: str) -> set[str]:
    actions = set()
    for module in reachable_modules(ROOT / "services" / service / "app.py"):
        for match in CALL.finditer(module.read_text(encoding="utf-8")):
            operation = next(group for group in match.groups() if group)
            actions.update(OPERATIONS.get(operation, []))
    return actions


def allowed_on_cases_table(stage: Synthesized, service: str) -> set[str]:
    """What the service's roles together allow on the table (the scan does not tell which function calls what)."""
    roles = [r for r in stage.template(service)["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    allowed = set()
    for policy in (policy for role in roles for policy in role["Properties"]["Policies"]):
        for statement in policy["PolicyDocument"]["Statement"]:
            resources = json.dumps(statement.get("Resource"))
            # The table itself, by reference to the resources stack's export of its ARN.
            if statement["Effect"] == "Allow" and "casestable" in resources and "index" not in resources:
                actions = statement["Action"]
                allowed.update([actions] if isinstance(actions, str) else actions)
    return allowed


def test_the_source_scan_finds_the_calls_it_must() -> None:
    # given the reporting service, whose department dashboard reads its counters in one batch, and the routing
    # service, whose staff actions write cases in transactions
    # when their reachable DynamoDB calls are collected
    reporting, routing = dynamodb_actions("reporting"), dynamodb_actions("routing")
    # then the batch read and the transactional writes are among them
    assert {"dynamodb:BatchGetItem", "dynamodb:Query"} <= reporting
    assert {"dynamodb:Query", "dynamodb:ConditionCheckItem"} <= routing


@pytest.mark.parametrize("service", SERVICES)
def test_role_allows_every_dynamodb_call_of_the_service(stage: Synthesized, service: str) -> None:
    # given the DynamoDB actions the service's code can call and its role's statements on the cases table
    needed = dynamodb_actions(service)
    allowed = allowed_on_cases_table(stage, service)
    # then none is missing (issue: the dashboard's BatchGetItem failed on AWS and passed on moto)
    assert needed - allowed == set()
