"""One stack per service: the Chalice app through Chalice's own CDK construct (`chalice.cdk.Chalice`).

The construct runs `chalice package` with the stage configuration given here, so the functions' environment
holds the resources stack's names and ARNs by reference. Chalice needs help in five places (DESIGN.md, 7):
- it never sets ReportBatchItemFailures on SQS event sources: set here on the SAM template it wrote;
- it derives IAM policies from app.py only: the API handler and the event handlers of each service get a role
  each, with the statements of policies.py;
- it only warns when pip finds no wheel for the Lambda runtime, and leaves the package out: that fails here;
- its schedules are always on: here they are off unless the stage file turns them on;
- its zip holds no bytecode, which Lambda's read-only directory then makes every cold start compile: added here.
"""

import contextlib
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from chalice.cdk import Chalice
from constructs import Construct

from infra import package
from infra.cdk import policies
from infra.cdk.nag import acknowledge, acknowledge_wildcards
from infra.cdk.resources_stack import SMS_FAILURES_ALARM, ResourcesStack
from infra.cdk.stages import Stage, secret_name
from infra.resources import NAMED_RESOURCES, named
from shared.core.settings import environment_settings

ROOT = Path(__file__).resolve().parents[2]

# Where API Gateway maps each service under the stage's domain; Chalice's API stage is `api`.
BASE_PATHS = {"intake": "intake", "routing": "cases", "reporting": "reports"}
API_STAGE = "api"

MISSING_WHEELS = "Could not install dependencies"

# Schedules that must complete a run within a window (minutes): the reminders run every 15 minutes, so two
# windows without a completed run mean deadlines pass unreminded.
RUN_WINDOWS_MINUTES = {"RemindDeadlines": 30}
# SMS through the provider fail too often when this share of the sends in a window fails, once there are enough of
# them to tell (one refused number is not an outage).
SMS_FAILURE_PERCENT = 20
SMS_FAILURE_MIN_SENDS = 5
SMS_WINDOW = cdk.Duration.minutes(15)
# An API is slow when the 95th percentile of its answers takes longer than this (the citizen page on a phone).
API_P95_LATENCY_MS = 3000


@contextlib.contextmanager
def _own_app_module() -> Iterator[None]:
    """Chalice imports the service's top-level `app` module (putting its directory first on sys.path) to read
    its handlers, and app.py reads the settings at import: each service, in each stage, imports its own."""
    saved_path = list(sys.path)
    sys.modules.pop("app", None)
    environment_settings.cache_clear()
    try:
        yield
    finally:
        sys.path[:] = saved_path
        sys.modules.pop("app", None)
        environment_settings.cache_clear()


def environment(service: str, stage: Stage, res: ResourcesStack) -> dict[str, str]:
    """The functions' settings (shared/core/settings.py, upper-cased): resource names by reference, secret names."""
    named = {
        **{field: table.table_name for field, table in res.tables.items()},
        **{field: queue.queue_name for field, queue in res.queues.items()},
        **{field: bucket.bucket_name for field, bucket in res.buckets.items()},
    }
    assert set(named) == set(NAMED_RESOURCES)
    variables = {field.upper(): value for field, value in named.items()}
    variables.update(
        POWERTOOLS_TRACE_DISABLED="false" if stage.tracing else "true",
        POWERTOOLS_LOG_LEVEL="INFO",
        # The operators' figures (shared/core/observability.py) of this stage, apart from another stage's.
        POWERTOOLS_METRICS_NAMESPACE=stage.prefix,
        MAIL_ADDRESS=stage.mail_address,
        MAIL_SENDER="ses" if stage.mail == "ses" else "smtp",
        SMS_PROVIDER=stage.sms_provider,
        AUTH_SIGNING_SECRET=secret_name(stage, "auth_signing_key"),
    )
    # Secrets by name, read at run time: never their values in a template or an environment.
    for name, secret in res.secrets.items():
        variables[f"{name.upper()}_SECRET"] = secret.secret_name
    if "mail_imap" in res.secrets:
        variables.update(
            MAIL_IMAP_SECRET=res.secrets["mail_imap"].secret_name,
            MAIL_SMTP_SECRET=res.secrets["mail_smtp"].secret_name,
        )
    if stage.alarm_notifier and service == "routing":
        # shared/routing/alarms.py: app.py registers the notifier on the topic named here.
        variables.update(
            ALARM_TOPIC=res.alarm_topic.topic_name,
            ALARM_PHONES=json.dumps(stage.duty_phones),
            ALARM_EMAIL=stage.alarm_email or "",
            STAGE_PREFIX=stage.prefix,
        )
    if stage.domain:
        variables["PUBLIC_BASE_URL"] = f"https://{stage.domain.name}/{BASE_PATHS['intake']}"
        variables["AUTH_ISSUER"] = f"https://{stage.domain.name}/{BASE_PATHS['routing']}"
    else:
        variables["AUTH_ISSUER"] = stage.prefix
    if res.user_pool and res.user_pool_client:
        variables.update(
            AUTH_ISSUER=res.user_pool.user_pool_provider_url,
            AUTH_AUDIENCE=res.user_pool_client.user_pool_client_id,
            AUTH_JWKS_URL=f"{res.user_pool.user_pool_provider_url}/.well-known/jwks.json",
        )
    return variables


def _sam_functions(package_dir: Path) -> dict[str, dict[str, Any]]:
    """The functions of the SAM template `chalice package` wrote in `package_dir`."""
    sam = json.loads((package_dir / "sam.json").read_text(encoding="utf-8"))
    return {
        logical_id: resource
        for logical_id, resource in sam["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


class _ChaliceWithBytecode(Chalice):
    """Chalice's construct, with the bytecode of every module added to the zip `chalice package` wrote
    (infra/package.py), before the construct makes the zip the functions' asset."""

    def _package_app(self) -> None:
        super()._package_app()
        package_dir = Path(self._sam_package_dir)
        [runtime] = {function["Properties"]["Runtime"] for function in _sam_functions(package_dir).values()}
        package.add_bytecode(package_dir / "deployment.zip", runtime)


class ServiceStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        service: str,
        stage: Stage,
        res: ResourcesStack,
        extra_environment: dict[str, str],
        build_dir: Path,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # Names of the alarms made here, for the stage's dashboard.
        self.alarm_names: list[str] = []
        self.roles: dict[str, iam.Role] = {}
        for group, statements in policies.statements(service, self, stage, res).items():
            role = iam.Role(
                self,
                f"{group.capitalize()}Role",
                role_name=f"{self.stack_name}-{group}",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                inline_policies={group: iam.PolicyDocument(statements=statements)},
            )
            acknowledge_wildcards(
                role,
                statements,
                "Wildcards only below a named resource: the functions' own log groups and streams, the case "
                "table's indexes, object keys under a bucket prefix, the signing key secret's versions; X-Ray "
                "takes no resource.",
            )
            self.roles[group] = role
        stage_config = {
            "api_gateway_endpoint_type": "REGIONAL",
            "api_gateway_stage": API_STAGE,
            "manage_iam_role": False,
            # Each function's role is set below; Chalice wants one for all.
            "iam_role_arn": self.roles[policies.API].role_arn,
            "autogen_policy": False,
            "xray": stage.tracing,
            # What app.py reads at import: the queues its SQS handlers consume, by name (tokens would land
            # inside Chalice's Fn::Sub). The whole environment, by reference, is set on the functions below.
            "environment_variables": {
                **{field.upper(): getattr(named(stage.prefix), field) for field in res.queues},
                **({"ALARM_TOPIC": f"{stage.prefix}-alarms"} if stage.alarm_notifier and service == "routing" else {}),
            },
        }
        output = io.StringIO()
        # `chalice package` writes its work under the current directory (chalice.out/) and reports a package
        # it found no Lambda wheel for on stdout, then carries on without it.
        with contextlib.chdir(build_dir), contextlib.redirect_stdout(output), _own_app_module():
            self.chalice = _ChaliceWithBytecode(
                self, "Chalice", source_dir=str(ROOT / "services" / service), stage_config=stage_config
            )
        if MISSING_WHEELS in output.getvalue():
            raise SystemExit(f"packaging {service} would leave packages out of its zip:\n{output.getvalue()}")
        self._patch_functions(stage, res, {**environment(service, stage, res), **extra_environment})
        self._name_api()
        self._watch_api(res)
        if service == "routing":
            self._watch_sms(stage, res)
        if stage.domain and res.domain_name:
            mapping = apigateway.CfnBasePathMapping(
                self,
                "BasePath",
                domain_name=res.domain_name.ref,
                rest_api_id=self.chalice.get_resource("RestAPI").ref,
                base_path=BASE_PATHS[service],
                # SAM's reference to the API's stage, which makes the mapping wait for it.
                stage=cdk.Fn.ref("RestAPI.Stage"),
            )
            acknowledge(mapping, "CloudFormation-Validate::F1020", "RestAPI.Stage is SAM's name for the API's stage.")
        cdk.CfnOutput(
            self,
            "ApiUrl",
            value=f"https://{self.chalice.get_resource('RestAPI').ref}.execute-api.{self.region}.{self.url_suffix}"
            f"/{API_STAGE}/",
        )

    def _patch_functions(self, stage: Stage, res: ResourcesStack, variables: dict[str, str]) -> None:
        queue_by_name = {getattr(named(stage.prefix), field): queue for field, queue in res.queues.items()}
        for logical_id, definition in _sam_functions(Path(self.chalice._sam_package_dir)).items():
            function = self.chalice.get_resource(logical_id)
            # Stage-scoped names, which the role's log-group statement relies on.
            function_name = f"{self.stack_name}-{logical_id}"[:64]
            function.add_property_override("FunctionName", function_name)
            function.add_property_override("Role", self.roles[policies.group(logical_id)].role_arn)
            # The notifier's own alarms cannot go to the topic it serves (it would be asked to tell of its own failure).
            watched_by = res.undelivered_topic if policies.group(logical_id) == policies.ALARMS else res.alarm_topic
            assert watched_by is not None
            self._watch_function(stage, watched_by, logical_id, function_name)
            if not stage.tracing:
                # Chalice writes PassThrough, X-Ray all the same, which AWS's China regions do not have.
                function.add_property_deletion_override("Tracing")
            for variable, value in variables.items():
                function.add_property_override(f"Environment.Variables.{variable}", value)
            for name, event in definition["Properties"].get("Events", {}).items():
                properties = f"Events.{name}.Properties"
                if event["Type"] == "SQS":
                    queue_name = event["Properties"]["Queue"]["Fn::Sub"].rsplit(":", 1)[1]
                    function.add_property_override(f"{properties}.Queue", queue_by_name[queue_name].queue_arn)
                    # Without it Lambda deletes the messages a handler reported as failed.
                    function.add_property_override(f"{properties}.FunctionResponseTypes", ["ReportBatchItemFailures"])
                if event["Type"] == "SNS":
                    # The alarm notifier: SNS invokes it asynchronously; one more try, then the message goes to the
                    # undelivered-alarms topic, which mails it (its errors alarm goes there too).
                    function.add_property_override(f"{properties}.Topic", res.alarm_topic.topic_arn)
                    function.add_property_override(
                        "EventInvokeConfig",
                        {
                            "MaximumRetryAttempts": 1,
                            "DestinationConfig": {"OnFailure": {"Type": "SNS", "Destination": watched_by.topic_arn}},
                        },
                    )
                if event["Type"] == "Schedule":
                    function.add_property_override(f"{properties}.State", "ENABLED" if stage.schedules else "DISABLED")
                    # EventBridge invokes asynchronously: a run that still fails after Lambda's retries is sent
                    # to the alarm topic, which mails (or texts) a person.
                    function.add_property_override(
                        "EventInvokeConfig",
                        {
                            "MaximumRetryAttempts": 2,
                            "DestinationConfig": {
                                "OnFailure": {"Type": "SNS", "Destination": res.alarm_topic.topic_arn}
                            },
                        },
                    )
                    if logical_id in RUN_WINDOWS_MINUTES:
                        self._watch_runs(stage, res, logical_id, function_name, RUN_WINDOWS_MINUTES[logical_id])

    def _name_api(self) -> None:
        self.chalice.get_resource("RestAPI").add_property_override("Name", self.stack_name)

    def _alarm_name(self, construct_id: str) -> str:
        name = f"{self.stack_name}-{construct_id}"
        self.alarm_names.append(name)
        return name

    def _alarm(self, topic: sns.ITopic, construct_id: str, metric: cloudwatch.IMetric, threshold: float) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=self._alarm_name(construct_id),
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))

    def _watch_function(self, stage: Stage, topic: sns.ITopic, logical_id: str, function_name: str) -> None:
        """The function's log group, made here with the stage's retention (Lambda's own never expires), and its
        alarms: any error or throttle in five minutes."""
        logs.CfnLogGroup(
            self,
            f"{logical_id}Logs",
            log_group_name=f"/aws/lambda/{function_name}",
            retention_in_days=stage.log_retention_days,
        )
        for metric_name in ("Errors", "Throttles"):
            metric = cloudwatch.Metric(
                namespace="AWS/Lambda",
                metric_name=metric_name,
                dimensions_map={"FunctionName": function_name},
                statistic="Sum",
                period=cdk.Duration.minutes(5),
            )
            self._alarm(topic, f"{logical_id}-{metric_name.lower()}", metric, 1)

    def _watch_runs(self, stage: Stage, res: ResourcesStack, logical_id: str, function_name: str, minutes: int) -> None:
        """Runs completed (invocations less errors) in the window: none, or no data at all, is an alarm; it acts
        only where the schedules run."""

        def metric(name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/Lambda",
                metric_name=name,
                dimensions_map={"FunctionName": function_name},
                statistic="Sum",
                period=cdk.Duration.minutes(minutes),
            )

        completed = cloudwatch.MathExpression(
            expression="invocations - errors",
            using_metrics={"invocations": metric("Invocations"), "errors": metric("Errors")},
            period=cdk.Duration.minutes(minutes),
        )
        alarm = cloudwatch.Alarm(
            self,
            f"{logical_id}-not-completed",
            alarm_name=self._alarm_name(f"{logical_id}-not-completed"),
            metric=completed,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            actions_enabled=stage.schedules,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(res.alarm_topic))

    def _watch_api(self, res: ResourcesStack) -> None:
        """Server errors and slow answers of the service's API (its name is the stack's)."""
        dimensions = {"ApiName": self.stack_name, "Stage": API_STAGE}
        errors = cloudwatch.Metric(
            namespace="AWS/ApiGateway",
            metric_name="5XXError",
            dimensions_map=dimensions,
            statistic="Sum",
            period=cdk.Duration.minutes(5),
        )
        self._alarm(res.alarm_topic, "api-5xx", errors, 5)
        latency = cloudwatch.Metric(
            namespace="AWS/ApiGateway",
            metric_name="Latency",
            dimensions_map=dimensions,
            statistic="p95",
            period=cdk.Duration.minutes(5),
        )
        self._alarm(res.alarm_topic, "api-latency-p95", latency, API_P95_LATENCY_MS)

    def _watch_sms(self, stage: Stage, res: ResourcesStack) -> None:
        """The share of SMS the provider refused or failed (shared/routing/sms.py counts every send)."""

        def metric(name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=stage.prefix,
                metric_name=name,
                dimensions_map={"provider": stage.sms_provider},
                statistic="Sum",
                period=SMS_WINDOW,
            )

        percent_failed = cloudwatch.MathExpression(
            expression=(
                f"IF(FILL(failed, 0) + FILL(sent, 0) >= {SMS_FAILURE_MIN_SENDS}, "
                "100 * FILL(failed, 0) / (FILL(failed, 0) + FILL(sent, 0)), 0)"
            ),
            using_metrics={"failed": metric("SmsFailed"), "sent": metric("SmsSent")},
            label="SMS failed (%)",
            period=SMS_WINDOW,
        )
        self._alarm(res.alarm_topic, SMS_FAILURES_ALARM.removeprefix("-"), percent_failed, SMS_FAILURE_PERCENT)
