"""What the synthesized stages must hold, whatever else changes: the gates of `make test` for deployment."""

import fnmatch
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.requirements import SERVICES
from infra.resources import MAX_RECEIVE_COUNT
from shared.core.observability import METRICS
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


def roles(stage: Synthesized, service: str) -> dict[str, dict[str, Any]]:
    return resources_of(stage.template(service), "AWS::IAM::Role")


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in role["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]


# The roles of each service's groups of functions (infra/cdk/policies.py), and which functions run apart from the
# queue consumers and schedules (`events`); the alarm notifier only where SNS cannot text.
GROUPS = {"APIHandler": "api", "SendNotifications": "notify", "NotifyAlarm": "alarms"}


def expected_groups(stage: Synthesized, service: str) -> set[str]:
    if service != "routing":
        return {"api", "events"}
    return {"api", "events", "notify", *(["alarms"] if stage.stage.alarm_notifier else [])}


@pytest.mark.parametrize("service", SERVICES)
def test_each_group_of_functions_runs_in_a_role_of_its_own(stage: Synthesized, service: str) -> None:
    # given the service's template and its roles
    by_name = {role["Properties"]["RoleName"].rsplit("-", 1)[1]: key for key, role in roles(stage, service).items()}
    assert set(by_name) == expected_groups(stage, service)
    # then the API handler runs in the API role, routing's notification sender and alarm notifier in roles of their
    # own, every other queue consumer and schedule in the events role, each function with a stage-scoped name
    for logical_id, function in stage.functions(service).items():
        group = GROUPS.get(logical_id, "events")
        assert function["Properties"]["Role"] == {"Fn::GetAtt": [by_name[group], "Arn"]}
        assert function["Properties"]["FunctionName"].startswith(f"{stage.stage.prefix}-{service}-")
    # and only the notification sender and the alarm notifier may send SMS or mail, or read the provider's key or
    # the mailbox's password
    sending = {"SendSms", "MailBySes", "SmsProviderCredentials", "MailboxSecrets", "MailSubmission"}
    for group, key in by_name.items():
        sends = bool(sending & {statement["Sid"] for statement in statements(roles(stage, service)[key])})
        assert sends is (group in ("notify", "alarms") or (service, group) == ("intake", "events")), group


def test_the_alarm_notifier_reads_only_the_provider_key_and_the_mailbox(synthesized: dict[str, Synthesized]) -> None:
    # given the China stage's routing template and its alarm notifier
    china = synthesized["china-example"]
    [role] = [r for r in roles(china, "routing").values() if r["Properties"]["RoleName"].endswith("-alarms")]
    notifier = china.functions("routing")["NotifyAlarm"]["Properties"]
    # then its role writes its logs and reads the SMS provider's key and the SMTP password, nothing of the store
    assert [statement["Sid"] for statement in statements(role)] == [
        "Logs",
        "SmsProviderCredentials",
        "MailSubmission",
        "UndeliveredToTheirTopic",
    ]
    assert "dynamodb" not in json.dumps(statements(role)) and "sqs" not in json.dumps(statements(role))
    # and it is subscribed to the stage's alarm topic, with the duty phones and the mailbox of the stage file
    [event] = notifier["Events"].values()
    assert event["Type"] == "SNS" and "ExportsOutputRefAlarms" in json.dumps(event["Properties"]["Topic"])
    variables = notifier["Environment"]["Variables"]
    assert json.loads(variables["ALARM_PHONES"]) == china.stage.duty_phones and china.stage.duty_phones
    assert variables["ALARM_EMAIL"] == china.stage.alarm_email
    # and what it cannot deliver, and its own alarms, go to the undelivered-alarms topic, never back to its own
    failure = notifier["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert "UndeliveredAlarms" in json.dumps(failure["Destination"])
    own = [
        alarm["Properties"]
        for alarm in resources_of(china.template("routing"), "AWS::CloudWatch::Alarm").values()
        if "NotifyAlarm" in alarm["Properties"]["AlarmName"]
    ]
    assert len(own) == 2 and all("UndeliveredAlarms" in json.dumps(alarm["AlarmActions"]) for alarm in own)
    # and the undelivered topic mails alarm_email through SNS (email works in AWS's China regions), the alarm
    # topic not (the notifier mails)
    topics = resources_of(china.template("resources"), "AWS::SNS::Topic")
    subscriptions = resources_of(china.template("resources"), "AWS::SNS::Subscription").values()
    [subscription] = [s["Properties"] for s in subscriptions]
    assert subscription["Protocol"] == "email" and subscription["Endpoint"] == china.stage.alarm_email
    assert topics[subscription["TopicArn"]["Ref"]]["Properties"]["TopicName"].endswith("-alarms-undelivered")


def test_global_stages_mail_alarms_by_the_topic_and_have_no_notifier(synthesized: dict[str, Synthesized]) -> None:
    # given the global stage
    world = synthesized["global-example"]
    # then no function is on the alarm topic, and the topic itself mails alarm_email
    assert "NotifyAlarm" not in world.functions("routing")
    topics = resources_of(world.template("resources"), "AWS::SNS::Topic")
    [subscription] = [
        s["Properties"] for s in resources_of(world.template("resources"), "AWS::SNS::Subscription").values()
    ]
    assert subscription["Protocol"] == "email" and subscription["Endpoint"] == world.stage.alarm_email
    assert topics[subscription["TopicArn"]["Ref"]]["Properties"]["TopicName"] == f"{world.stage.prefix}-alarms"


def test_sms_failing_above_a_rate_is_an_alarm(stage: Synthesized) -> None:
    # given the routing template's alarms
    alarms = {
        alarm["Properties"]["AlarmName"]: alarm["Properties"]
        for alarm in resources_of(stage.template("routing"), "AWS::CloudWatch::Alarm").values()
    }
    # then one divides the stage's failed SMS by all SMS sent through its provider, once there are enough
    alarm = alarms[f"{stage.stage.prefix}-routing-sms-failures"]
    [expression] = [metric for metric in alarm["Metrics"] if "Expression" in metric]
    assert "failed" in expression["Expression"] and "sent" in expression["Expression"]
    stats = {metric["Id"]: metric["MetricStat"]["Metric"] for metric in alarm["Metrics"] if "MetricStat" in metric}
    assert {stats["failed"]["MetricName"], stats["sent"]["MetricName"]} == {"SmsFailed", "SmsSent"}
    assert {stats["failed"]["Namespace"], stats["sent"]["Namespace"]} == {stage.stage.prefix}
    assert stats["failed"]["Dimensions"] == [{"Name": "provider", "Value": stage.stage.sms_provider}]
    assert alarm["Threshold"] == 20 and "Alarms" in json.dumps(alarm["AlarmActions"])


def test_no_role_grants_data_or_messaging_services_on_everything(stage: Synthesized) -> None:
    # given every statement of every function role of the stage
    for service in SERVICES:
        for role in roles(stage, service).values():
            for statement in statements(role):
                actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
                services = {action.split(":")[0] for action in actions}
                # then none of DynamoDB, S3, SQS, SES, SNS is granted on every resource
                if services & {"dynamodb", "s3", "sqs", "ses", "sns"}:
                    assert statement.get("Resource") != "*" and "*" not in statement.get("Resource", []), statement
                    assert "Resource" in statement or "NotResource" in statement


def test_intake_functions_cannot_reach_staff_accounts(stage: Synthesized) -> None:
    # given the intake roles' statements on the cases table's items (not its indexes)
    for role in roles(stage, "intake").values():
        for statement in statements(role):
            resources = json.dumps(statement.get("Resource"))
            if "casestable" not in resources or "index" in resources:
                continue
            # then each is bound to partitions by a LeadingKeys condition, and no partition of a staff account
            # (`STAFF#<username>`, shared/core/dal/) matches one of them
            [(operator, condition)] = statement["Condition"].items()
            assert operator.startswith("ForAllValues:")
            patterns = condition["dynamodb:LeadingKeys"]
            assert patterns and not any(fnmatch.fnmatchcase("STAFF#admin", pattern) for pattern in patterns)


def test_every_function_keeps_logs_for_the_stage_and_raises_alarms(stage: Synthesized) -> None:
    for service in SERVICES:
        template = stage.template(service)
        names = {function["Properties"]["FunctionName"] for function in stage.functions(service).values()}
        # given the service's log groups and alarms
        log_groups = resources_of(template, "AWS::Logs::LogGroup").values()
        alarms = [alarm["Properties"] for alarm in resources_of(template, "AWS::CloudWatch::Alarm").values()]
        # then every function's log group is made with the stage's retention (180 days by default)
        assert {group["Properties"]["LogGroupName"] for group in log_groups} == {f"/aws/lambda/{n}" for n in names}
        assert {group["Properties"]["RetentionInDays"] for group in log_groups} == {180}
        # and every function has an errors and a throttles alarm, the API a 5xx and a p95 latency alarm
        watched = {
            (alarm["MetricName"], dimension["Value"])
            for alarm in alarms
            for dimension in alarm.get("Dimensions", [])
            if dimension["Name"] in ("FunctionName", "ApiName")
        }
        assert {(metric, name) for name in names for metric in ("Errors", "Throttles")} <= watched
        api = f"{stage.stage.prefix}-{service}"
        assert {("5XXError", api), ("Latency", api)} <= watched
        assert [alarm["ExtendedStatistic"] for alarm in alarms if alarm.get("MetricName") == "Latency"] == ["p95"]
        # and each alarm goes to the stage's alarm topic
        for alarm in alarms:
            assert "Alarms" in json.dumps(alarm["AlarmActions"])


def test_failed_schedule_runs_and_missed_reminder_runs_reach_the_alarm_topic(stage: Synthesized) -> None:
    for service in SERVICES:
        # given the service's scheduled functions
        for function in stage.functions(service).values():
            if not any(event["Type"] == "Schedule" for event in function["Properties"].get("Events", {}).values()):
                continue
            # then a run that still fails after Lambda's retries goes to the alarm topic
            failure = function["Properties"]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
            assert failure["Type"] == "SNS" and "Alarms" in json.dumps(failure["Destination"])
    # and a reminders window without a completed run is an alarm, acting only where schedules run
    alarms = resources_of(stage.template("routing"), "AWS::CloudWatch::Alarm").values()
    [missed] = [
        a["Properties"] for a in alarms if a["Properties"]["AlarmName"].endswith("RemindDeadlines-not-completed")
    ]
    assert missed["TreatMissingData"] == "breaching" and missed["ActionsEnabled"] is stage.stage.schedules


def test_one_dashboard_shows_the_figures_and_every_alarm(stage: Synthesized) -> None:
    # given the stage's dashboard and the names of all its alarms
    [dashboard] = resources_of(stage.template("resources"), "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    # (the services' alarms by name, the resources stack's own by reference)
    service_alarms = [
        alarm["Properties"]["AlarmName"]
        for service in SERVICES
        for alarm in resources_of(stage.template(service), "AWS::CloudWatch::Alarm").values()
    ]
    own_alarms = list(resources_of(stage.template("resources"), "AWS::CloudWatch::Alarm"))
    # then it is the stage's, graphs every figure the functions count, and shows every alarm
    assert dashboard["Properties"]["DashboardName"] == stage.stage.prefix
    assert body.count("SEARCH(") == len(METRICS) and all("MetricName=" in body and name in body for name in METRICS)
    assert len(service_alarms) > 30 and all(name in body for name in service_alarms)
    assert len(own_alarms) == 4 and all(f'"Fn::GetAtt": ["{key}", "Arn"]' in body for key in own_alarms)
    # and the share of SMS failing is graphed with its alarm's threshold, beside the status of every alarm
    assert body.count(f"{stage.stage.prefix}-routing-sms-failures") == 2 and "annotations" in body


def test_every_log_group_of_every_function_has_the_stage_retention(stage: Synthesized) -> None:
    # given every function of every stack of the stage, the services' and CDK's own (the bucket notification handler)
    for name, template in stage.templates().items():
        functions = {
            key: function
            for kind in ("AWS::Serverless::Function", "AWS::Lambda::Function")
            for key, function in resources_of(template, kind).items()
        }
        groups = [group["Properties"] for group in resources_of(template, "AWS::Logs::LogGroup").values()]
        # then each has its log group, by name or by reference, kept as long as the stage says and no longer
        named = json.dumps([group["LogGroupName"] for group in groups])
        for key, function in functions.items():
            assert function["Properties"].get("FunctionName", f'"Ref": "{key}"') in named, (name, key)
        assert {group["RetentionInDays"] for group in groups} <= {stage.stage.log_retention_days}, name
    # and the custom resources that run CDK's handler wait for its log group (else Lambda makes one first)
    resources = stage.template("resources")["Resources"]
    [notifications] = [r for r in resources.values() if r["Type"] == "Custom::S3BucketNotifications"]
    assert any(resources[d]["Type"] == "AWS::Logs::LogGroup" for d in notifications["DependsOn"])
