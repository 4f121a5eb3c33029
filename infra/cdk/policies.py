"""What each service's functions may do, written out: Chalice derives policies from app.py alone.

Tables, queues and secrets are the resources stack's objects (cross-stack references). Resources with a
wildcard (object keys, indexes, log groups) are ARNs formatted from the names of infra/resources.py, in the
stack's partition (`arn:${AWS::Partition}:…`), so that cdk-nag can name each one where it is acknowledged.
"""

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from infra.cdk.resources_stack import ResourcesStack, bucket_name
from infra.cdk.stages import Stage
from infra.resources import named
from shared.core import uploads
from shared.intake import mail_inbound
from shared.routing import learning

# The actions on the cases table that every service's data access may use (shared/core/dal/).
CASE_ITEM_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
]
SEND = ["sqs:GetQueueUrl", "sqs:SendMessage"]
CONSUME = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]


def _allow(sid: str, actions: list[str], resources: list[str], **conditions: dict) -> iam.PolicyStatement:
    return iam.PolicyStatement(sid=sid, actions=actions, resources=resources, conditions=conditions or None)


def signing_key_secret_arn(stack: cdk.Stack, stage: Stage) -> str:
    """The own issuer's keys: `hotspot keys rotate` creates the secret (EC keys the stack cannot generate)."""
    return stack.format_arn(
        service="secretsmanager",
        resource="secret",
        resource_name=f"{stage.prefix}-auth-signing-key-*",
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )


def statements(service: str, stack: cdk.Stack, stage: Stage, res: ResourcesStack) -> list[iam.PolicyStatement]:
    names = named(stage.prefix)
    cases = res.tables["cases_table"].table_arn
    cases_indexes = stack.format_arn(service="dynamodb", resource="table", resource_name=f"{names.cases_table}/index")
    idempotency = res.tables["idempotency_table"].table_arn
    reports = res.buckets["reports_bucket"].bucket_arn

    def raw_objects(pattern: str) -> str:
        return f"arn:{cdk.Aws.PARTITION}:s3:::{bucket_name(names.raw_bucket)}/{pattern}"

    def report_objects(pattern: str) -> str:
        return f"arn:{cdk.Aws.PARTITION}:s3:::{bucket_name(names.reports_bucket)}/{pattern}"

    queue = {field: q.queue_arn for field, q in res.queues.items()}
    secrets = {name: secret.secret_arn for name, secret in res.secrets.items()}
    logs = stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name=f"/aws/lambda/{stack.stack_name}-*",
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )
    common = [
        _allow("Logs", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], [logs, f"{logs}:*"]),
        _allow(
            "Idempotency",
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            [idempotency],
        ),
        _allow(
            "ContactHashKeyAndWebhookTokens",
            ["secretsmanager:GetSecretValue"],
            [
                secrets[name]
                for name in ("contact_hash_key", "sms_webhook_token", "twilio_auth_token")
                if name in secrets
            ],
        ),
    ]
    if stage.tracing:
        common.append(_allow("Tracing", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]))
    mail_secrets = [secrets[name] for name in ("mail_imap", "mail_smtp") if name in secrets]
    send_mail = (
        [_allow("MailBySes", ["ses:SendEmail", "ses:SendRawEmail"], ["*"])]
        if stage.mail == "ses"
        else [_allow("MailboxSecrets", ["secretsmanager:GetSecretValue"], mail_secrets)]
    )
    staff_keys = [_allow("StaffTokenKeys", ["secretsmanager:GetSecretValue"], [signing_key_secret_arn(stack, stage)])]
    quarantined_uploads = raw_objects(f"{uploads.QUARANTINE_PREFIX}*")

    if service == "intake":
        return [
            *common,
            *send_mail,
            _allow("Cases", CASE_ITEM_ACTIONS, [cases]),
            _allow("SmsFollowUpsByContact", ["dynamodb:Query"], [f"{cases_indexes}/gsi4"]),
            # A public function reads no partition but the published cases.
            _allow(
                "PublishedTypicalCases",
                ["dynamodb:Query"],
                [cases],
                **{"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["PUBLISHED"]}},
            ),
            _allow("ArchiveRawPayloads", ["s3:PutObject"], [raw_objects("*")]),
            _allow("ClaimUploadedAttachments", ["s3:GetObject", "s3:DeleteObject"], [quarantined_uploads]),
            _allow("ReadRawMail", ["s3:GetObject"], [raw_objects(f"{mail_inbound.PREFIX}*")]),
            _allow("EnqueueComplaintsAndReplies", SEND, [queue["intake_queue"], queue["notify_queue"]]),
            _allow("ConsumeMail", CONSUME, [queue["mail_queue"]]),
        ]
    if service == "routing":
        sms = (
            [_allow("SendSms", ["sns:Publish"], ["*"])]
            if stage.sms_provider == "sns"
            else [_allow("SmsProviderCredentials", ["secretsmanager:GetSecretValue"], [secrets["sms"]])]
        )
        return [
            *common,
            *send_mail,
            *sms,
            *staff_keys,
            _allow("Cases", [*CASE_ITEM_ACTIONS, "dynamodb:Query"], [cases]),
            _allow("CaseIndexes", ["dynamodb:Query"], [f"{cases_indexes}/*"]),
            _allow("SendMessages", SEND, [queue[f] for f in ("intake_queue", "events_queue", "notify_queue")]),
            _allow("ConsumeQueues", CONSUME, [queue["intake_queue"], queue["notify_queue"]]),
            _allow("OperatorEntryArchiveAndAttachments", ["s3:PutObject"], [raw_objects("*")]),
            _allow("OperatorEntryClaimUploads", ["s3:GetObject", "s3:DeleteObject"], [quarantined_uploads]),
            _allow("ConsoleQuarantineRawPayloadLinks", ["s3:GetObject"], [raw_objects("raw/*")]),
            # shared/routing/learning.py: corrections, models, evaluations and the pointer (PutObject above).
            _allow("ClassifierModels", ["s3:GetObject"], [raw_objects(f"{learning.PREFIX}*")]),
            _allow(
                "ListClassifierModels",
                ["s3:ListBucket"],
                [f"arn:{cdk.Aws.PARTITION}:s3:::{bucket_name(names.raw_bucket)}"],
                StringLike={"s3:prefix": [f"{learning.PREFIX}*"]},
            ),
        ]
    if service == "reporting":
        return [
            *common,
            *staff_keys,
            _allow("StatisticsCountersRecordsAndMaterials", [*CASE_ITEM_ACTIONS, "dynamodb:Query"], [cases]),
            _allow("CaseIndexes", ["dynamodb:Query"], [f"{cases_indexes}/*"]),
            _allow("ConsumeCaseEvents", CONSUME, [queue["events_queue"]]),
            _allow("HotspotNoticesAndMaterialReminders", SEND, [queue["notify_queue"]]),
            _allow("Reports", ["s3:PutObject", "s3:GetObject"], [report_objects("*")]),
            _allow("ListReports", ["s3:ListBucket"], [reports]),
        ]
    raise ValueError(f"unknown service {service}")
