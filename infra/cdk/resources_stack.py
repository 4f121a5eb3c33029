"""The stateful resources of a stage: tables, queues, buckets, secrets, the alarm topic, and where the
partition offers them, SES receiving and the staff user pool.

Tables, indexes and queues come from `infra/resources.py`, the definitions the local stack provisions in moto.
Tables and buckets are kept when the stack is deleted: they hold the cases.
"""

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3_notifications
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as ses_actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.cdk import stages
from infra.cdk.nag import acknowledge
from infra.cdk.stages import Stage, secret_name
from infra.resources import (
    DLQ_RETENTION_SECONDS,
    MAIL_PREFIX,
    MAX_RECEIVE_COUNT,
    NAMED_RESOURCES,
    VISIBILITY_TIMEOUT_SECONDS,
    buckets,
    dead_letter_queue,
    named,
    queues,
    tables,
)
from shared.core import observability, uploads

UNCLAIMED_UPLOAD_DAYS = 2
# The routing stack's alarm on the share of SMS failing (infra/cdk/service_stack.py), graphed on the dashboard.
SMS_FAILURES_ALARM = "-sms-failures"


def bucket_name(name: str) -> str:
    """The stage's bucket of that name, account and region filled in at deploy time."""
    return stages.bucket_name(name, cdk.Aws.ACCOUNT_ID, cdk.Aws.REGION)


def _key(definition: dict[str, Any], key_schema: list[dict[str, str]], key_type: str) -> dynamodb.Attribute | None:
    """The HASH or RANGE key of a CreateTable key schema (infra/resources.py) as CDK's attribute."""
    types = {item["AttributeName"]: item["AttributeType"] for item in definition["AttributeDefinitions"]}
    for key in key_schema:
        if key["KeyType"] == key_type:
            name = key["AttributeName"]
            return dynamodb.Attribute(name=name, type=dynamodb.AttributeType(_TYPE_NAMES[types[name]]))
    return None


_TYPE_NAMES = {"S": "STRING", "N": "NUMBER", "B": "BINARY"}


def _partition_key(definition: dict[str, Any], key_schema: list[dict[str, str]]) -> dynamodb.Attribute:
    key = _key(definition, key_schema, "HASH")
    assert key, "every key schema has a HASH key"
    return key


class ResourcesStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, stage: Stage, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.stage = stage
        names = named(stage.prefix)
        field_of = {getattr(names, field): field for field in NAMED_RESOURCES}

        self.tables: dict[str, dynamodb.Table] = {}
        for definition in tables(names):
            table = dynamodb.Table(
                self,
                field_of[definition["TableName"]],
                table_name=definition["TableName"],
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                time_to_live_attribute=definition.get("TimeToLiveAttribute"),
                removal_policy=cdk.RemovalPolicy.RETAIN,
                partition_key=_partition_key(definition, definition["KeySchema"]),
                sort_key=_key(definition, definition["KeySchema"], "RANGE"),
            )
            for index in definition.get("GlobalSecondaryIndexes", []):
                table.add_global_secondary_index(
                    index_name=index["IndexName"],
                    projection_type=dynamodb.ProjectionType(index["Projection"]["ProjectionType"]),
                    partition_key=_partition_key(definition, index["KeySchema"]),
                    sort_key=_key(definition, index["KeySchema"], "RANGE"),
                )
            self.tables[field_of[definition["TableName"]]] = table

        self.alarm_topic = sns.Topic(self, "Alarms", topic_name=f"{stage.prefix}-alarms", enforce_ssl=True)
        acknowledge(self.alarm_topic, "AwsSolutions-SNS2", "Alarm notices name a queue and a count, no personal data.")
        # Where SNS cannot text, the routing service's alarm notifier is subscribed to the topic (it texts and mails);
        # what it could not deliver, and its own alarms, go to a topic of their own that only mails: an alarm about
        # the notifier never comes back to it.
        self.undelivered_topic: sns.Topic | None = None
        mailed = self.alarm_topic
        if stage.alarm_notifier:
            self.undelivered_topic = mailed = sns.Topic(
                self, "UndeliveredAlarms", topic_name=f"{stage.prefix}-alarms-undelivered", enforce_ssl=True
            )
            acknowledge(mailed, "AwsSolutions-SNS2", "Undelivered alarms name an alarm and a state, no personal data.")
        if stage.alarm_email:
            mailed.add_subscription(subscriptions.EmailSubscription(stage.alarm_email))

        self.queues: dict[str, sqs.Queue] = {}
        self.dlq_alarms: list[cloudwatch.Alarm] = []
        for name in queues(names):
            dlq = sqs.Queue(
                self,
                f"{field_of[name]}_dlq",
                queue_name=dead_letter_queue(name),
                retention_period=cdk.Duration.seconds(DLQ_RETENTION_SECONDS),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
            )
            acknowledge(dlq, "AwsSolutions-SQS3", "This is the dead-letter queue of a work queue.")
            self.queues[field_of[name]] = sqs.Queue(
                self,
                field_of[name],
                queue_name=name,
                visibility_timeout=cdk.Duration.seconds(VISIBILITY_TIMEOUT_SECONDS),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=MAX_RECEIVE_COUNT),
            )
            # A dead-lettered message is a complaint or notice nobody will see unless someone is told.
            alarm = cloudwatch.Alarm(
                self,
                f"{field_of[name]}_dlq_alarm",
                alarm_name=f"{dead_letter_queue(name)}-not-empty",
                metric=dlq.metric_approximate_number_of_messages_visible(period=cdk.Duration.minutes(5)),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.alarm_topic))
            self.dlq_alarms.append(alarm)

        origins = [f"https://{stage.domain.name}"] if stage.domain else ["*"]
        self.buckets: dict[str, s3.Bucket] = {}
        for name in buckets(names):
            self.buckets[field_of[name]] = s3.Bucket(
                self,
                field_of[name],
                bucket_name=bucket_name(name),
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                enforce_ssl=True,
                encryption=s3.BucketEncryption.S3_MANAGED,
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                removal_policy=cdk.RemovalPolicy.RETAIN,
                # The citizen page and the console post files straight to the buckets (presigned POST).
                cors=[
                    s3.CorsRule(
                        allowed_methods=[s3.HttpMethods.POST, s3.HttpMethods.GET],
                        allowed_origins=origins,
                        allowed_headers=["*"],
                    )
                ],
            )
            acknowledge(
                self.buckets[field_of[name]],
                "AwsSolutions-S1",
                "Only the functions write and read objects, through their roles; an access-log bucket would be one "
                "more bucket nobody reads.",
            )
        raw = self.buckets["raw_bucket"]
        # Uploads never claimed by a stored complaint are deleted: nobody asked us to keep them.
        raw.add_lifecycle_rule(
            id="ExpireUnclaimedUploads",
            prefix=uploads.QUARANTINE_PREFIX,
            expiration=cdk.Duration.days(UNCLAIMED_UPLOAD_DAYS),
        )
        # Raw mail under the mail prefix (SES, the IMAP poller) -> an S3 event on the mail queue.
        raw.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3_notifications.SqsDestination(self.queues["mail_queue"]),
            s3.NotificationKeyFilter(prefix=MAIL_PREFIX),
        )
        acknowledge(
            self,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "CDK's own handler that sets the bucket notification runs with the basic execution role.",
        )
        acknowledge(
            self,
            "AwsSolutions-IAM5[Resource::*]",
            "CDK's bucket notification handler sets notifications on the stack's bucket, named at deploy time.",
        )

        self._keep_handler_logs(stage)

        self.domain_name: apigateway.CfnDomainName | None = None
        if stage.domain:
            self._domain(stage)
        self.secrets: dict[str, secretsmanager.Secret] = {}
        self._secrets(stage)
        if stage.mail == "ses":
            self._ses_receiving(stage, raw)
        self.user_pool: cognito.UserPool | None = None
        self.user_pool_client: cognito.UserPoolClient | None = None
        if stage.sign_in == "cognito":
            self._user_pool(stage)

    def _keep_handler_logs(self, stage: Stage) -> None:
        """CDK's own functions here (the bucket notification handler) get a log group with the stage's retention
        too, made before the custom resources that invoke them (else Lambda makes one that never expires)."""
        children = self.node.find_all()
        groups = [
            logs.CfnLogGroup(
                self,
                f"HandlerLogs{index}",
                log_group_name=cdk.Fn.join("", ["/aws/lambda/", function.ref]),
                retention_in_days=stage.log_retention_days,
            )
            for index, function in enumerate(
                # CDK writes its handler as a plain resource of Lambda's type, not as a CfnFunction.
                child
                for child in children
                if isinstance(child, cdk.CfnResource) and child.cfn_resource_type == "AWS::Lambda::Function"
            )
        ]
        for child in children:
            if isinstance(child, cdk.CfnResource) and child.cfn_resource_type.startswith("Custom::"):
                for group in groups:
                    child.add_dependency(group)

    def add_dashboard(self, stage: Stage, alarm_names: list[str]) -> None:
        """The stage's dashboard: the operators' figures (shared/core/observability.py) and every alarm's state.
        The service stacks' alarms are named, not referenced, so that this stack needs none of theirs."""
        period = cdk.Duration.hours(1)
        graphs: list[cloudwatch.IWidget] = []
        for name, dimensions in observability.METRICS.items():
            # One line per dimension value (channel, reminder point) as they occur.
            schema = ",".join([f'"{stage.prefix}"', *dimensions])
            metric = cloudwatch.MathExpression(
                expression=f"SEARCH('{{{schema}}} MetricName=\"{name}\"', 'Sum', {period.to_seconds()})",
                using_metrics={},
                label=name,
                period=period,
            )
            graphs.append(cloudwatch.GraphWidget(title=name, left=[metric], width=8))
        alarms: list[cloudwatch.IAlarm] = list(self.dlq_alarms)
        for name in alarm_names:
            arn = self.format_arn(
                service="cloudwatch", resource="alarm", resource_name=name, arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME
            )
            alarm = cloudwatch.Alarm.from_alarm_arn(self, f"Watched-{name}", arn)
            alarms.append(alarm)
            if name.endswith(SMS_FAILURES_ALARM):
                # The share of SMS failing, with the alarm's threshold: the rate the alarm watches.
                graphs.insert(0, cloudwatch.AlarmWidget(title="短信失败率 SMS failed (%)", alarm=alarm, width=8))
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=stage.prefix)
        dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="告警 Alarms", alarms=alarms, width=24))
        dashboard.add_widgets(*graphs)

    def _domain(self, stage: Stage) -> None:
        """The public address; each service stack maps its base path onto its API."""
        assert stage.domain
        self.domain_name = apigateway.CfnDomainName(
            self,
            "Domain",
            domain_name=stage.domain.name,
            regional_certificate_arn=self.format_arn(
                service="acm", resource="certificate", resource_name=stage.domain.certificate_id
            ),
            endpoint_configuration=apigateway.CfnDomainName.EndpointConfigurationProperty(types=["REGIONAL"]),
            security_policy="TLS_1_2",
        )
        # Point the domain's DNS (a CNAME, or an alias record) at this name.
        cdk.CfnOutput(self, "DomainTarget", value=self.domain_name.attr_regional_domain_name)

    def _secret(self, construct_id: str, name: str, generate: secretsmanager.SecretStringGenerator) -> None:
        secret = secretsmanager.Secret(
            self,
            construct_id,
            secret_name=name,
            generate_secret_string=generate,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        acknowledge(
            secret,
            "AwsSolutions-SMG4",
            "Rotating these needs the provider, or every stored hash, to change with them: the README says how.",
        )
        self.secrets[construct_id] = secret

    def _secrets(self, stage: Stage) -> None:
        """Generated where the stack can (keys, tokens); named with a placeholder value for the operator to fill."""
        random = secretsmanager.SecretStringGenerator(password_length=48, exclude_punctuation=True)
        self._secret("contact_hash_key", secret_name(stage, "contact_hash_key"), random)
        self._secret("sms_webhook_token", secret_name(stage, "sms_webhook_token"), random)
        # Twilio's auth token, which the operator puts in where Twilio texts come in; until then (and in stages
        # that never use Twilio) a random value that nobody can sign a forged webhook with. The functions refuse
        # to serve without it (shared/core/settings.py).
        self._secret("twilio_auth_token", secret_name(stage, "twilio_auth_token"), random)
        if stage.sms_provider in ("aliyun", "tencent"):
            key_fields = {"aliyun": ("access_key_id", "access_key_secret"), "tencent": ("secret_id", "secret_key")}
            identifier, secret_key = key_fields[stage.sms_provider]
            self._secret(
                "sms",
                f"{stage.prefix}-sms",
                secretsmanager.SecretStringGenerator(
                    secret_string_template=f'{{"{identifier}": "fill in"}}',
                    generate_string_key=secret_key,
                    exclude_punctuation=True,
                ),
            )
        if stage.mail == "imap":
            for kind, port in (("imap", 993), ("smtp", 465)):
                server = f'"host": "mail.{stage.mail_address.split("@")[1]}", "port": {port}'
                self._secret(
                    f"mail_{kind}",
                    f"{stage.prefix}-mail-{kind}",
                    secretsmanager.SecretStringGenerator(
                        secret_string_template=f'{{{server}, "username": "{stage.mail_address}"}}',
                        generate_string_key="password",
                        exclude_punctuation=True,
                    ),
                )

    def _ses_receiving(self, stage: Stage, raw: s3.Bucket) -> None:
        """Mail to the county address is written as raw MIME under the mail prefix (global regions only).

        A rule set takes effect once activated (`aws ses set-active-receipt-rule-set`, in the README), and the
        domain's MX record must point at SES's inbound endpoint of the region.
        """
        ses.ReceiptRuleSet(
            self,
            "MailReceiving",
            receipt_rule_set_name=f"{stage.prefix}-mail",
            rules=[
                ses.ReceiptRuleOptions(
                    recipients=[stage.mail_address],
                    scan_enabled=True,
                    actions=[ses_actions.S3(bucket=raw, object_key_prefix=MAIL_PREFIX)],
                )
            ],
        )

    def _user_pool(self, stage: Stage) -> None:
        """Staff accounts (global regions): role and department are set by administrators only."""
        pool = cognito.UserPool(
            self,
            "Staff",
            user_pool_name=f"{stage.prefix}-staff",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(username=True, email=True),
            custom_attributes={
                "role": cognito.StringAttribute(min_len=1, max_len=32, mutable=True),
                "department": cognito.StringAttribute(min_len=0, max_len=16, mutable=True),
            },
            password_policy=cognito.PasswordPolicy(
                min_length=12, require_digits=True, require_lowercase=True, require_uppercase=True, require_symbols=True
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        acknowledge(pool, "AwsSolutions-COG2", "MFA is offered (TOTP); the county decides whom to require it of.")
        acknowledge(pool, "AwsSolutions-COG3", "Threat protection is a paid feature the county may turn on.")
        acknowledge(pool, "AwsSolutions-COG8", "The Plus plan (threat protection) is the county's choice to pay for.")
        self.user_pool_client = pool.add_client(
            "Console",
            user_pool_client_name=f"{stage.prefix}-console",
            auth_flows=cognito.AuthFlow(user_srp=True),
            generate_secret=False,
            read_attributes=cognito.ClientAttributes()
            .with_standard_attributes(email=True, fullname=True, phone_number=True)
            .with_custom_attributes("role", "department"),
            # The client may change a person's own contact details, never their role or department.
            write_attributes=cognito.ClientAttributes().with_standard_attributes(
                email=True, fullname=True, phone_number=True
            ),
        )
        self.user_pool = pool
