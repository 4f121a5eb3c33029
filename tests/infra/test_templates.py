"""What the synthesized stages must hold, whatever else changes: the gates of `make test` for deployment."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.requirements import SERVICES
from infra.resources import MAX_RECEIVE_COUNT
from tests.infra.synth import Synthesized

CFN_LINT = Path(sys.executable).parent / "cfn-lint"


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return Template.from_json(template).find_resources(kind)


def sam_events(stage: Synthesized, kind: str) -> list[dict[str, Any]]:
    return [
        event
        for service in SERVICES
        for function in stage.functions(service).values()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == kind
    ]


def test_every_sqs_event_source_reports_batch_item_failures(stage: Synthesized) -> None:
    # given the stage's service templates
    # when their SQS event sources are collected
    events = sam_events(stage, "SQS")
    # then there is one per consumer, each reporting partial batch failures and naming its queue by reference
    assert len(events) == 4
    for event in events:
        assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert set(event["Properties"]["Queue"]) == {"Fn::ImportValue"}


def test_every_queue_has_its_dead_letter_queue(stage: Synthesized) -> None:
    # given the resources template
    template = stage.template("resources")
    queues = resources_of(template, "AWS::SQS::Queue")
    # when the work queues (those not ending in -dlq) are followed to their redrive targets
    work = {key: queue for key, queue in queues.items() if not queue["Properties"]["QueueName"].endswith("-dlq")}
    assert len(work) == 4
    for queue in work.values():
        redrive = queue["Properties"]["RedrivePolicy"]
        [target] = redrive["deadLetterTargetArn"]["Fn::GetAtt"][:1]
        # then each leads to a queue of its own named <queue>-dlq, after a bounded number of receives
        assert queues[target]["Properties"]["QueueName"] == queue["Properties"]["QueueName"] + "-dlq"
        assert redrive["maxReceiveCount"] == MAX_RECEIVE_COUNT
    targets = {queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0] for queue in work.values()}
    assert len(targets) == len(work)


def test_tables_keep_point_in_time_recovery_and_survive_the_stack(stage: Synthesized) -> None:
    # given the resources template
    tables = resources_of(stage.template("resources"), "AWS::DynamoDB::Table")
    # then every table has point-in-time recovery and is retained when the stack goes
    assert len(tables) == 2
    for table in tables.values():
        assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert table["DeletionPolicy"] == "Retain"
    # and the cases table has the four indexes of infra/resources.py
    [cases] = [table for table in tables.values() if table["Properties"]["TableName"].endswith("-cases")]
    assert [index["IndexName"] for index in cases["Properties"]["GlobalSecondaryIndexes"]] == [
        "gsi1",
        "gsi2",
        "gsi3",
        "gsi4",
    ]


def test_buckets_are_private_and_tls_only(stage: Synthesized) -> None:
    # given the resources template
    template = Template.from_json(stage.template("resources"))
    buckets = template.find_resources("AWS::S3::Bucket")
    policies = template.find_resources("AWS::S3::BucketPolicy")
    assert len(buckets) == 2
    for key, bucket in buckets.items():
        # then public access is blocked in all four ways
        assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        # and the bucket's policy denies every request not made over TLS
        [policy] = [p for p in policies.values() if p["Properties"]["Bucket"] == {"Ref": key}]
        assert {
            "Action": "s3:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
        }.items() <= policy["Properties"]["PolicyDocument"]["Statement"][0].items()


def test_apis_are_regional(stage: Synthesized) -> None:
    # given each service's template
    for service in SERVICES:
        template = Template.from_json(stage.template(service))
        # then its API has a regional endpoint, the only kind AWS's China regions have
        template.has_resource_properties("AWS::Serverless::Api", {"EndpointConfiguration": "REGIONAL"})
    domains = resources_of(stage.template("resources"), "AWS::ApiGateway::DomainName")
    assert [domain["Properties"]["EndpointConfiguration"] for domain in domains.values()] == [{"Types": ["REGIONAL"]}]


def test_no_template_writes_a_partition_out(stage: Synthesized) -> None:
    # given every template of the stage
    for name, template in stage.templates().items():
        # then no ARN names the global partition: ${AWS::Partition} says it, so the same code deploys in aws-cn
        assert "arn:aws:" not in json.dumps(template), name


def test_china_stage_has_no_ses_cognito_or_xray(synthesized: dict[str, Synthesized]) -> None:
    # given the China stage
    china = synthesized["china-example"]
    text = json.dumps(china.templates())
    # then nothing of SES, Cognito or X-Ray is in it, nor any function tracing setting
    assert '"AWS::SES::' not in text and '"AWS::Cognito::' not in text
    assert "xray:" not in text and '"Tracing"' not in text
    # while the global stage has them
    text = json.dumps(synthesized["global-example"].templates())
    assert '"AWS::SES::ReceiptRule"' in text and '"AWS::Cognito::UserPool"' in text and "xray:PutTraceSegments" in text


def test_global_stage_user_pool_keeps_roles_from_its_users(synthesized: dict[str, Synthesized]) -> None:
    # given the global stage's user pool and its client
    template = synthesized["global-example"].template("resources")
    [pool] = resources_of(template, "AWS::Cognito::UserPool").values()
    [client] = resources_of(template, "AWS::Cognito::UserPoolClient").values()
    # then nobody signs up by themselves, role and department exist, and the client may read but never write them
    assert pool["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert {"role", "department"} <= {attribute["Name"] for attribute in pool["Properties"]["Schema"]}
    assert {"custom:role", "custom:department"} <= set(client["Properties"]["ReadAttributes"])
    assert not {"custom:role", "custom:department"} & set(client["Properties"]["WriteAttributes"])
    # and the functions verify tokens from this pool
    variables = next(iter(synthesized["global-example"].functions("routing").values()))["Properties"]["Environment"]
    assert "Fn::ImportValue" in json.dumps(variables["Variables"]["AUTH_JWKS_URL"])


def test_schedules_are_off_outside_production(stage: Synthesized) -> None:
    # given an example stage, which is not production
    assert not stage.stage.production
    # when its schedule events are collected
    schedules = sam_events(stage, "Schedule")
    # then every one is disabled, so no dev stage texts the real duty phones
    assert len(schedules) >= 5
    assert {event["Properties"]["State"] for event in schedules} == {"DISABLED"}


def _names(templates: dict[str, dict[str, Any]]) -> set[str]:
    keys = ("TableName", "QueueName", "BucketName", "Name", "FunctionName", "RoleName", "TopicName", "UserPoolName")
    found = set()
    for template in templates.values():
        for resource in template["Resources"].values():
            for key in keys:
                value = resource.get("Properties", {}).get(key)
                # A name written out, or joined with the account and region (buckets); not a reference.
                if isinstance(value, str) or (isinstance(value, dict) and "Fn::Join" in value):
                    found.add(json.dumps(value))
    return found


def test_two_stages_share_no_resource_name(synthesized: dict[str, Synthesized]) -> None:
    # given the names of every named resource of both stages
    china, world = (_names(stage.templates()) for stage in synthesized.values())
    # then there are many, and none is in both
    assert len(china) > 20 and len(world) > 20
    assert not china & world


def test_every_function_reads_secrets_by_name_never_by_value(stage: Synthesized) -> None:
    # given every function's environment
    for service in SERVICES:
        for function in stage.functions(service).values():
            variables = function["Properties"]["Environment"]["Variables"]
            # then the contact hash key and the webhook token are named secrets; no value is in the template
            assert "CONTACT_HASH_KEY" not in variables and "SMS_WEBHOOK_TOKEN" not in variables
            assert "Fn::ImportValue" in json.dumps(variables["CONTACT_HASH_KEY_SECRET"])
    secrets = resources_of(stage.template("resources"), "AWS::SecretsManager::Secret")
    assert all("SecretString" not in secret["Properties"] for secret in secrets.values())


def test_cfn_lint_finds_no_error(stage: Synthesized) -> None:
    # given every template of the stage, in the stage's region
    paths = [stage.template_path(part) for part in ("resources", *SERVICES)]
    # when cfn-lint checks them (after the SAM transform) against that region's resource specification
    result = subprocess.run(
        [str(CFN_LINT), "--regions", stage.stage.region, "--format", "parseable", "--", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    # then it reports no error (exit status bit 2; warnings are bit 4)
    errors = [line for line in result.stdout.splitlines() if ":E" in line]
    assert not result.returncode & 2 and not errors, result.stdout + result.stderr


def test_cdk_nag_passes_with_every_acknowledgment_justified(stage: Synthesized) -> None:
    # given the validation report of the synthesis (AwsSolutions checks; synthesis fails on an open finding)
    report = json.loads((stage.outdir / "validation-report.json").read_text(encoding="utf-8"))
    # then no plugin reports a violation
    violations = [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])]
    assert violations == []
    # and every acknowledgment, recorded in the stacks' metadata, gives its reason
    acknowledged = {}
    for metadata in stage.outdir.glob("*.metadata.json"):
        for entries in json.loads(metadata.read_text(encoding="utf-8")).values():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    acknowledged.update(entry["data"])
    assert any("AwsSolutions-IAM5" in rule for rule in acknowledged)
    assert all(len(reason) > 30 for reason in acknowledged.values()), acknowledged


@pytest.mark.parametrize("service", SERVICES)
def test_functions_run_in_their_own_role_with_stage_scoped_logs(stage: Synthesized, service: str) -> None:
    # given the service's template
    template = stage.template(service)
    [role_id] = resources_of(template, "AWS::IAM::Role")
    # then every function runs in the service's role and carries a stage-scoped name
    for function in stage.functions(service).values():
        assert function["Properties"]["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
        assert function["Properties"]["FunctionName"].startswith(f"{stage.stage.prefix}-{service}-")
