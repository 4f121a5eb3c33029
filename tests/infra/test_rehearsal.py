"""The deployment rehearsed as far as moto's CloudFormation goes: the China example's synthesized resources stack is
created in a moto server on loopback, its tables and queues are what the local stack provisions from
infra/resources.py, and the services' logic runs against what it created, by the names the functions are given."""

import json
import os
from collections.abc import Iterator
from typing import Any
from unittest.mock import patch

import pytest
from moto.cloudformation.parsing import get_model_map

from infra import resources
from infra.local_stack import MotoServer, use_local_environment
from infra.resources import DLQ_RETENTION_SECONDS, MAX_RECEIVE_COUNT, NAMED_RESOURCES, VISIBILITY_TIMEOUT_SECONDS
from shared.core import queues
from shared.core.aws import client, reset_clients
from shared.core.dal.cases import CaseStore
from shared.core.messages import Envelope
from shared.core.settings import Settings
from shared.intake import complaints
from shared.routing import router
from tests.infra.synth import Synthesized
from tests.support import free_port, receive_all

# What moto's CloudFormation cannot create (the README lists them): left out of the rehearsal with whatever
# refers to them. Cognito and SES receiving, in the global stage's template, are not modelled either.
MOTO_CANNOT_CREATE = {
    "AWS::ApiGateway::DomainName",
    "AWS::CloudWatch::Alarm",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::Subscription",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::SecretsManager::Secret",
    "Custom::S3BucketNotifications",
}
# What `cdk bootstrap` leaves in an account, which every CDK template checks.
BOOTSTRAP_VERSION = "/cdk-bootstrap/hnb659fds/version"


def what_moto_creates(template: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The template less the resources moto has no model for and what refers to them; the types left out."""
    resources = template["Resources"]
    supported = set(get_model_map())
    dropped = {key for key, resource in resources.items() if resource["Type"] not in supported}

    def refers_to_dropped(value: Any) -> bool:
        text = json.dumps(value)
        return any(f'{{"Ref": "{key}"}}' in text or f'"Fn::GetAtt": ["{key}"' in text for key in dropped)

    while more := {key for key, resource in resources.items() if key not in dropped and refers_to_dropped(resource)}:
        dropped |= more
    kept = {}
    for key, resource in resources.items():
        if key in dropped:
            continue
        depends = resource.get("DependsOn", [])
        depends = [depends] if isinstance(depends, str) else depends
        kept[key] = {**resource, "DependsOn": [name for name in depends if name not in dropped]}
    outputs = {key: out for key, out in template.get("Outputs", {}).items() if not refers_to_dropped(out)}
    return {**template, "Resources": kept, "Outputs": outputs}, {resources[key]["Type"] for key in dropped}


@pytest.fixture
def moto_server() -> Iterator[str]:
    server = MotoServer(free_port())
    server.start()
    # use_local_environment writes os.environ: patch.dict gives the test process its environment back.
    with patch.dict(os.environ):
        use_local_environment(server.endpoint)
        queues.reset()
        try:
            yield server.endpoint
        finally:
            server.stop()
            reset_clients()
            queues.reset()


def function_settings(stage: Synthesized) -> Settings:
    """The resource names an intake function is given (its environment), its imports resolved by the stack's
    exports, as CloudFormation resolves them on deploy."""
    exports = {export["Name"]: export["Value"] for export in client("cloudformation").list_exports()["Exports"]}
    [function, *_] = stage.functions("intake").values()
    variables = function["Properties"]["Environment"]["Variables"]
    names = {}
    for field in NAMED_RESOURCES:
        value = variables[field.upper()]
        names[field] = exports[value["Fn::ImportValue"]] if isinstance(value, dict) else value
    return Settings(**names)


def test_the_resources_stack_created_by_cloudformation_serves_the_local_stack(
    synthesized: dict[str, Synthesized], moto_server: str
) -> None:
    # given the China example's synthesized resources template, less what moto cannot create, and a bootstrapped
    # account in the stage's region
    stage = synthesized["china-example"]
    template, left_out = what_moto_creates(stage.template("resources"))
    # (and the dashboard, which shows the alarms)
    assert left_out == MOTO_CANNOT_CREATE | {"AWS::CloudWatch::Dashboard"}
    client("ssm").put_parameter(Name=BOOTSTRAP_VERSION, Value="21", Type="String")
    # when moto's CloudFormation creates the stack
    stack_name = f"{stage.stage.prefix}-resources"
    client("cloudformation").create_stack(
        StackName=stack_name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_NAMED_IAM"]
    )
    [created] = client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    assert created["StackStatus"] == "CREATE_COMPLETE"
    settings = function_settings(stage)

    # then its tables are the definitions the local stack provisions: keys, indexes, time to live
    for definition in resources.tables(settings):
        table = client("dynamodb").describe_table(TableName=definition["TableName"])["Table"]
        assert table["KeySchema"] == definition["KeySchema"]
        assert {(a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]} == {
            (a["AttributeName"], a["AttributeType"]) for a in definition["AttributeDefinitions"]
        }
        assert [(i["IndexName"], i["KeySchema"]) for i in table.get("GlobalSecondaryIndexes", [])] == [
            (i["IndexName"], i["KeySchema"]) for i in definition.get("GlobalSecondaryIndexes", [])
        ]
        # (moto's CloudFormation does not apply TimeToLiveSpecification: the template says it)
        [ttl] = [
            resource["Properties"].get("TimeToLiveSpecification", {})
            for resource in template["Resources"].values()
            if resource["Properties"].get("TableName") == definition["TableName"]
        ]
        assert ttl.get("AttributeName") == definition.get("TimeToLiveAttribute")
    # and its queues have the visibility timeout, dead-letter queue and receive count of the local stack
    for name in resources.queues(settings):
        url = client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
        attributes = client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attributes["RedrivePolicy"])
        assert int(attributes["VisibilityTimeout"]) == VISIBILITY_TIMEOUT_SECONDS
        assert redrive["deadLetterTargetArn"].endswith(f":{resources.dead_letter_queue(name)}")
        assert int(redrive["maxReceiveCount"]) == MAX_RECEIVE_COUNT
        dlq_url = client("sqs").get_queue_url(QueueName=resources.dead_letter_queue(name))["QueueUrl"]
        dlq = client("sqs").get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["MessageRetentionPeriod"])
        assert int(dlq["Attributes"]["MessageRetentionPeriod"]) == DLQ_RETENTION_SECONDS
    # and the buckets exist under the names the functions are given
    for bucket in resources.buckets(settings):
        client("s3").head_bucket(Bucket=bucket)

    # when a complaint is filed and routed by the services' logic against what CloudFormation created
    body = json.dumps({"description": "县市场监管局执法人员检查时没有出示执法证件。"}, ensure_ascii=False).encode()
    answer = complaints.submit_complaint(settings, body, "application/json", "rehearsal-1")
    intake_url = client("sqs").get_queue_url(QueueName=settings.intake_queue)["QueueUrl"]
    [message] = receive_all(intake_url, client("sqs"))
    router.route_complaint(settings, Envelope.model_validate_json(message["Body"]))
    # then the case is stored, routed to a department and its raw payload archived in the raw bucket
    assert answer.status == 201
    case = CaseStore(settings).get(answer.body["tracking_no"])
    assert case and case.department
    assert client("s3").list_objects_v2(Bucket=settings.raw_bucket)["KeyCount"] == 1
