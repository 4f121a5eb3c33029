"""What each service's functions may do, written out: Chalice derives policies from app.py alone.

Tables, queues and secrets are the resources stack's objects (cross-stack references). Resources with a
wildcard (object keys, indexes, log groups) are ARNs formatted from the names of infra/resources.py, in the
stack's partition (`arn:${AWS::Partition}:…`), so that cdk-nag can name each one where it is acknowledged.
"""

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from infra.cdk.resources_stack import ResourcesStack, bucket_name
from infra.cdk.stages import Stage, secret_name
from infra.resources import named
from shared.core import uploads
from shared.core.settings import SECRET_SETTINGS
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
# The roles are per group of functions with the same needs, not per function: a function of a group needs nearly
# all the group's statements, so that roles of their own would repeat them with a difference of a statement or two.
# - API: the API handler (every HTTP route: Chalice makes them one function, so one role whatever the route);
# - EVENTS: a service's queue consumers and schedules, which work on the same items and queues (routing, the
#   reminders and the sweeps all read and write cases and send to the queues; reporting's counter and its schedules
#   all read the cases and write aggregates and reports) and alone have the failed-run destination;
# - NOTIFY: routing's notification sender, the only function that sends SMS and mail to people outside (the SMS
#   provider's key, the mailbox's password, SNS and SES sending are its alone), apart from routing's other events;
# - ALARMS: the alarm notifier (where SNS cannot text): the SMS provider's key and the mailbox's password, nothing of
#   the store.
# Intake's event handlers (the mail queue and the mailbox poller) both file mail and answer it: one group.
API_HANDLER = "APIHandler"
API, EVENTS, NOTIFY, ALARMS = "api", "events", "notify", "alarms"
GROUPS = {API_HANDLER: API, "SendNotifications": NOTIFY, "NotifyAlarm": ALARMS}
# The partitions of the cases table the intake functions use (keys: shared/core/dal/__init__.py).
# SURVEY#: the opinion forms' one-time links and their answers (shared/core/dal/surveys.py).
INTAKE_PARTITIONS = ("CASE#*", "CONTACT#*", "QUARANTINE#*", "MAILBOX#*", "SURVEY#*")
CONSUME = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]


def _allow(sid: str, actions: list[str], resources: list[str], **conditions: dict) -> iam.PolicyStatement:
    return iam.PolicyStatement(sid=sid, actions=actions, resources=resources, conditions=conditions or None)


def signing_key_secret_arn(stack: cdk.Stack, stage: Stage) -> str:
    """The own issuer's keys: `hotspot keys rotate` creates the secret (EC keys the stack cannot generate)."""
    return stack.format_arn(
        service="secretsmanager",
        resource="secret",
        resource_name=f"{secret_name(stage, 'auth_signing_key')}-*",
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )


def group(function: str) -> str:
    """The role a function (its logical id) runs in: GROUPS names those apart from the queue consumers and schedules."""
    return GROUPS.get(function, EVENTS)


def statements(
    service: str, stack: cdk.Stack, stage: Stage, res: ResourcesStack
) -> dict[str, list[iam.PolicyStatement]]:
    """The statements of each role of the service (API, EVENTS)."""
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
    own_logs = _allow("Logs", ["logs:CreateLogStream", "logs:PutLogEvents"], [logs, f"{logs}:*"])
    common = [
        own_logs,
        _allow(
            "Idempotency",
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            [idempotency],
        ),
        _allow(
            "ContactHashKeyAndWebhookTokens",
            ["secretsmanager:GetSecretValue"],
            [secrets[name] for name in SECRET_SETTINGS],
        ),
    ]
    if stage.tracing:
        common.append(_allow("Tracing", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]))
    mail_secrets = [secrets[name] for name in ("mail_imap", "mail_smtp") if name in secrets]
    # SES takes the identities mail is sent from: the county address and its domain.
    mail_domain = stage.mail_address.split("@", 1)[1]
    identities = [
        stack.format_arn(service="ses", resource="identity", resource_name=name)
        for name in (mail_domain, stage.mail_address)
    ]
    send_mail = (
        [_allow("MailBySes", ["ses:SendEmail", "ses:SendRawEmail"], identities)]
        if stage.mail == "ses"
        else [_allow("MailboxSecrets", ["secretsmanager:GetSecretValue"], mail_secrets)]
    )
    # A schedule's failed run goes to the alarm topic (its asynchronous invocation's failure destination).
    failed_runs = _allow("FailedScheduleRunsToAlarms", ["sns:Publish"], [res.alarm_topic.topic_arn])
    staff_keys = [_allow("StaffTokenKeys", ["secretsmanager:GetSecretValue"], [signing_key_secret_arn(stack, stage)])]
    quarantined_uploads = raw_objects(f"{uploads.QUARANTINE_PREFIX}*")

    if service == "intake":
        # Staff accounts (password hashes, TOTP secrets, roles: `STAFF#<username>`) share the cases table, so that
        # the own issuer needs no table of its own; the public functions reach only the partitions they use, so an
        # intake bug cannot read or mint an account.
        cases_reachable = _allow(
            "CasesQuarantineAndMailbox",
            CASE_ITEM_ACTIONS,
            [cases],
            **{"ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(INTAKE_PARTITIONS)}},
        )
        by_contact = _allow(
            "SmsFollowUpsByContact",
            ["dynamodb:Query"],
            [f"{cases_indexes}/gsi4"],
            **{"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["CONTACT#*"]}},
        )
        archive = _allow("ArchiveRawPayloads", ["s3:PutObject"], [raw_objects("*")])
        # The events queue: a call-back answer's case event (shared/core/callbacks.py), for the statistics.
        enqueue = _allow(
            "EnqueueComplaintsRepliesAndCaseEvents",
            SEND,
            [queue["intake_queue"], queue["notify_queue"], queue["events_queue"]],
        )
        return {
            API: [
                *common,
                cases_reachable,
                by_contact,
                # A public function reads no partition but the published cases and answers.
                _allow(
                    "PublishedTypicalCases",
                    ["dynamodb:Query"],
                    [cases],
                    **{"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["PUBLISHED", "ANSWERS"]}},
                ),
                archive,
                _allow("ClaimUploadedAttachments", ["s3:GetObject", "s3:DeleteObject"], [quarantined_uploads]),
                enqueue,
            ],
            # Mail: the queue of raw mail, the IMAP poller, and the replies.
            EVENTS: [
                *common,
                failed_runs,
                *send_mail,
                cases_reachable,
                by_contact,
                archive,
                _allow("ReadRawMail", ["s3:GetObject"], [raw_objects(f"{mail_inbound.PREFIX}*")]),
                enqueue,
                _allow("ConsumeMail", CONSUME, [queue["mail_queue"]]),
            ],
        }
    if service == "routing":
        # A phone number has no ARN: publishing is allowed to anything but a topic or endpoint, i.e. to phones.
        sms = (
            [
                iam.PolicyStatement(
                    sid="SendSms",
                    actions=["sns:Publish"],
                    not_resources=[f"arn:{cdk.Aws.PARTITION}:sns:*:*:*"],
                )
            ]
            if stage.sms_provider == "sns"
            else [_allow("SmsProviderCredentials", ["secretsmanager:GetSecretValue"], [secrets["sms"]])]
        )
        # shared/routing/learning.py: staff corrections (API), the model routing reads and the schedule retrains
        # (EVENTS), evaluations and the pointer, all under one prefix of the raw bucket.
        classifier = [
            _allow("ClassifierObjects", ["s3:GetObject", "s3:PutObject"], [raw_objects(f"{learning.PREFIX}*")]),
            _allow(
                "ListClassifierObjects",
                ["s3:ListBucket"],
                [f"arn:{cdk.Aws.PARTITION}:s3:::{bucket_name(names.raw_bucket)}"],
                StringLike={"s3:prefix": [f"{learning.PREFIX}*"]},
            ),
        ]
        cases_items = _allow("Cases", [*CASE_ITEM_ACTIONS, "dynamodb:Query"], [cases])
        store = [
            cases_items,
            _allow("CaseIndexes", ["dynamodb:Query"], [f"{cases_indexes}/*"]),
            _allow("SendMessages", SEND, [queue[f] for f in ("intake_queue", "events_queue", "notify_queue")]),
        ]
        # The alarm notifier reads the SMS provider's key and the mailbox's SMTP password, and nothing of the store.
        alarm_mail = (
            [_allow("MailSubmission", ["secretsmanager:GetSecretValue"], [secrets["mail_smtp"]])]
            if stage.mail == "imap"
            else send_mail
        )
        alarms = {}
        if res.undelivered_topic is not None:
            # Lambda sends a failed invocation to its destination with the function's role.
            undelivered = _allow("UndeliveredToTheirTopic", ["sns:Publish"], [res.undelivered_topic.topic_arn])
            alarms[ALARMS] = [own_logs, *sms, *alarm_mail, undelivered]
        return {
            # The case API and console: staff tokens, operator entry; messages go out through the notify queue.
            API: [
                *common,
                *staff_keys,
                *store,
                *classifier,
                _allow("OperatorEntryArchiveAndAttachments", ["s3:PutObject"], [raw_objects("*")]),
                _allow("OperatorEntryClaimUploads", ["s3:GetObject", "s3:DeleteObject"], [quarantined_uploads]),
                _allow("ConsoleQuarantineRawPayloadLinks", ["s3:GetObject"], [raw_objects("raw/*")]),
            ],
            # Routing, the reminders, the sweeps and the classifier's retraining: no staff keys, no SMS or mail.
            EVENTS: [
                *common,
                failed_runs,
                *store,
                *classifier,
                _allow("ConsumeComplaints", CONSUME, [queue["intake_queue"]]),
            ],
            # The notification sender: the cases (deliveries, the complainant's contact), SMS and mail.
            NOTIFY: [
                *common,
                cases_items,
                *send_mail,
                *sms,
                _allow("ConsumeNotices", CONSUME, [queue["notify_queue"]]),
            ],
            **alarms,
        }
    if service == "reporting":
        store = [
            _allow("StatisticsCountersRecordsAndMaterials", [*CASE_ITEM_ACTIONS, "dynamodb:Query"], [cases]),
            _allow("CaseIndexes", ["dynamodb:Query"], [f"{cases_indexes}/*"]),
            _allow("HotspotNoticesAndMaterialReminders", SEND, [queue["notify_queue"]]),
            _allow("Reports", ["s3:PutObject", "s3:GetObject"], [report_objects("*")]),
            _allow("ListReports", ["s3:ListBucket"], [reports]),
        ]
        return {
            API: [*common, *staff_keys, *store],
            EVENTS: [*common, failed_runs, *store, _allow("ConsumeCaseEvents", CONSUME, [queue["events_queue"]])],
        }
    raise ValueError(f"unknown service {service}")
