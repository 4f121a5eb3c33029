"""Each function's real code paths run against a moto server with IAM enforcement on, with the credentials of an
IAM user holding the policy its role has in the synthesized template (the global example: SNS and SES sending).

moto checks the action of every call against the user's policy, and nothing else for most services: it asks
about the resource `*` (DynamoDB, Secrets Manager, SNS, SES), evaluates no condition without the values AWS would
supply (dynamodb:LeadingKeys) and knows no resource ARNs of another partition. So each statement is bound here
with its actions as written and `*` for its resources; the resources and conditions are what the template
assertions (test_templates.py) check. A call whose action the role lacks fails its request, and so this test.
"""

import json
import os
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch
from urllib.parse import urlencode, urlsplit

import pytest
from botocore.exceptions import ClientError
from chalice.test import Client

from infra.local_stack import MotoServer, use_local_environment
from infra.provision import provision
from infra.requirements import SERVICES
from shared.core import auth, queues, secrets
from shared.core.auth import Role
from shared.core.aws import client, reset_clients
from shared.core.settings import environment_settings, get_settings
from tests.infra.synth import Synthesized
from tests.support import free_port, load_service, receive_all, scheduled_event, sqs_event

# DynamoDB authorizes a transaction by the actions of the writes it holds, SQS a batch send as sqs:SendMessage;
# moto asks for an action of its own for each.
MOTO_ONLY_ACTIONS = {"dynamodb:PutItem": ["dynamodb:TransactWriteItems"], "sqs:SendMessage": ["sqs:SendMessageBatch"]}
ROUTING_MODULE = "hotspot_routing_app"
ALARM = {
    "AlarmName": "hotspot-intake-dlq-not-empty",
    "NewStateValue": "ALARM",
    "NewStateReason": "Threshold Crossed",
    "StateChangeTime": "2026-06-01T19:00:00.000+0000",
}
MAIL = (
    "From: =?utf-8?b?5byg5LiJ?= <zhang@example.com>\r\nTo: tousu@hotspot.localhost\r\n"
    "Subject: =?utf-8?b?5oqV6K+J?=\r\nMessage-ID: <iam-test@example.com>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    "县交警大队执法人员在路口罚款不开票据。\r\n"
).encode()


def moto_policy(role: dict[str, Any]) -> str:
    """The role's statements as moto can check them: the actions as written, every resource, no condition."""
    statements = []
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else list(statement["Action"])
            actions += [extra for action in actions for extra in MOTO_ONLY_ACTIONS.get(action, [])]
            statements.append({"Effect": statement["Effect"], "Action": actions, "Resource": "*"})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def create_user(name: str, policy: str) -> dict[str, str]:
    iam = client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName=name, PolicyDocument=policy)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


class Account:
    """The moto server's account: an administrator for the test's own steps, a user per function role."""

    def __init__(self, endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.endpoint = endpoint
        self.monkeypatch = monkeypatch
        self.admin: dict[str, str] = {}
        self.roles: dict[str, dict[str, str]] = {}

    def enforce(self) -> None:
        """From now on every request is checked (moto's INITIAL_NO_AUTH_ACTION_COUNT, set to 0)."""
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(request, timeout=5):
            pass

    @contextmanager
    def acting_as(self, credentials: dict[str, str]) -> Iterator[None]:
        for name, value in credentials.items():
            self.monkeypatch.setenv(name, value)
        self.monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        reset_clients()
        queues.reset()
        secrets.forget_cached()
        try:
            yield
        finally:
            reset_clients()
            queues.reset()


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    server = MotoServer(free_port())
    server.start()
    # use_local_environment writes os.environ: patch.dict gives the test process its environment back.
    with patch.dict(os.environ):
        use_local_environment(server.endpoint)
        # The global example's region and choices, with the local names: its roles' statements are bound to every
        # resource. (moto keeps IAM users per partition: the whole test runs in the stage's.)
        os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1", SMS_PROVIDER="sns", MAIL_SENDER="ses")
        environment_settings.cache_clear()
        queues.reset()
        try:
            yield Account(server.endpoint, monkeypatch)
        finally:
            # routing's app as this test loads it has the alarm notifier, which only China stages register
            sys.modules.pop(ROUTING_MODULE, None)
            server.stop()
            environment_settings.cache_clear()
            reset_clients()
            queues.reset()


def invoke(app: Any, handler: str, event: dict[str, Any]) -> Any:
    with Client(app) as test_client:
        return test_client.lambda_.invoke(handler, event).payload


def test_every_function_runs_with_exactly_its_roles_actions(
    synthesized: dict[str, Synthesized], account: Account, caplog: pytest.LogCaptureFixture
) -> None:
    # given the local resources, an SES identity, a development token, and an IAM user per function role of the
    # global example's templates, made before moto starts checking
    stage = synthesized["global-example"]
    settings = get_settings()
    provision(settings)
    client("ses").verify_email_identity(EmailAddress=settings.mail_address)
    token = auth.issue_development_token(settings, Role.county_admin)
    staff = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    account.admin = create_user(
        "admin",
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    )
    roles = {}
    for service in SERVICES:
        for role in stage.template(service)["Resources"].values():
            if role["Type"] == "AWS::IAM::Role":
                group = role["Properties"]["RoleName"].rsplit("-", 1)[1]
                roles[(service, group)] = create_user(f"{service}-{group}", moto_policy(role))
    assert len(roles) == 7
    # (the alarm notifier exists where SNS cannot text: its role is the China example's)
    [notifier] = [
        role
        for role in synthesized["china-example"].template("routing")["Resources"].values()
        if role["Type"] == "AWS::IAM::Role" and role["Properties"]["RoleName"].endswith("-alarms")
    ]
    roles[("routing", "alarms")] = create_user("routing-alarms", moto_policy(notifier))
    # (and the SMS provider's key and the mailbox's SMTP password it reads there)
    for name, value in {
        settings.sms_secret: {"access_key_id": "LTAI-iam", "access_key_secret": "iam-secret"},
        "hotspot-mail-smtp": {"host": "smtp.example.cn", "port": 465, "username": "it", "password": "p"},
    }.items():
        client("secretsmanager").create_secret(Name=name, SecretString=json.dumps(value))
    os.environ["ALARM_TOPIC"] = "hotspot-alarms"
    environment_settings.cache_clear()
    sys.modules.pop(ROUTING_MODULE, None)
    intake, routing, reporting = (load_service(service).app for service in SERVICES)
    account.enforce()
    # (a call outside a role's policy is refused: the intake API may not scan the cases table)
    with account.acting_as(roles[("intake", "api")]), pytest.raises(ClientError) as refused:
        client("dynamodb").scan(TableName=settings.cases_table)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    def queued(queue: str) -> list[str]:
        with account.acting_as(account.admin):
            url = client("sqs").get_queue_url(QueueName=queue)["QueueUrl"]
            return [message["Body"] for message in receive_all(url, client("sqs"))]

    # when the intake API takes a complaint, answers its status, hands out an upload slot, shows the published
    # cases and answers and takes an SMS push, as the intake API role
    with account.acting_as(roles[("intake", "api")]), Client(intake) as test_client:
        http = test_client.http
        complaint = {"description": "县交警大队执法人员罚款不开票据。", "complainant": {"phone": "13912345678"}}
        filed = http.post("/complaints", headers={"Content-Type": "application/json"}, body=json.dumps(complaint))
        receipt = json.loads(filed.body)
        answers = [
            filed,
            http.get(f"/complaints/{receipt['tracking_no']}?code={receipt['verification_code']}"),
            http.post(
                "/uploads",
                headers={"Content-Type": "application/json"},
                body=json.dumps({"filename": "票据.jpg", "content_type": "image/jpeg", "size": 1000}),
            ),
            http.get("/cases/published.json"),
            http.get("/answers.json"),
            http.post(
                "/sms/aliyun?token=local-sms-token",
                headers={"Content-Type": "application/json"},
                body=json.dumps(
                    [
                        {
                            "phone_number": "13912345678",
                            "send_time": "2026-05-20 10:00:00",
                            "content": "城管收摊位费不给票据。",
                            "sign_name": "靖宇县法制办",
                            "dest_code": "1234",
                            "sequence_id": 1,
                        }
                    ]
                ),
            ),
        ]
    # then every request is answered without a server error (a denied call would be a 500)
    assert [answer.status_code for answer in answers] == [201, 200, 201, 200, 200, 200], [a.body for a in answers]

    # when mail arrives and the mailbox is polled, as the intake event handlers' role
    with account.acting_as(account.admin):
        client("s3").put_object(Bucket=settings.raw_bucket, Key="raw/email/iam-test.eml", Body=MAIL)
    mail_events = [body for body in queued(settings.mail_queue) if "Records" in body]
    with account.acting_as(roles[("intake", "events")]):
        mail = invoke(intake, "receive_mail", sqs_event(mail_events))
        invoke(intake, "poll_mailbox", scheduled_event())
    # then the mail is filed (and answered by SES)
    assert mail_events and mail == {"batchItemFailures": []}

    # when the routing event handlers route the complaints and run the reminders, and the notification sender sends
    # the notices
    complaints = queued(settings.intake_queue)
    with account.acting_as(roles[("routing", "events")]):
        routed = invoke(routing, "route_complaint", sqs_event(complaints))
        for schedule in ("remind_deadlines", "sweep_unrouted", "sweep_outbox"):
            invoke(routing, schedule, scheduled_event())
    with account.acting_as(roles[("routing", "notify")]):
        sent = invoke(routing, "send_notifications", sqs_event(queued(settings.notify_queue)))
    # then nothing fails
    assert len(complaints) == 3 and routed == {"batchItemFailures": []}
    assert sent == {"batchItemFailures": []}

    # when staff list the cases, open one, accept it and enter a complaint by phone, as the routing API role
    number = receipt["tracking_no"]
    with account.acting_as(roles[("routing", "api")]), Client(routing) as test_client:
        http = test_client.http
        listed = http.get("/?view=triage", headers=staff)
        case = http.get(f"/{number}", headers=staff)
        version = json.loads(case.body)["case"]["version"]
        acted = http.post(f"/{number}/actions/accept", headers=staff, body=json.dumps({"version": version}))
        # (worked on to the reply, which asks the complainant the call-back question)
        for action, fields in [
            ("start_investigation", {}),
            ("decide", {"finding": "unsubstantiated", "summary": "经查不属实"}),
            ("reply", {"message": "经查不属实。"}),
        ]:
            version = json.loads(acted.body)["case"]["version"]
            acted = http.post(
                f"/{number}/actions/{action}", headers=staff, body=json.dumps({"version": version, **fields})
            )
        entered = http.post(
            "/", headers=staff, body=json.dumps({"description": "来电反映税务所办事拖延。", "channel": "hotline"})
        )
        page = http.get(f"/console/{number}", headers={"Cookie": f"hotspot_console={token}"})
    assert [r.status_code for r in (listed, case, acted, entered, page)] == [200, 200, 200, 201, 200], [
        r.body[:300] for r in (listed, case, acted, entered, page)
    ]

    # when the complainant answers the call-back on the intake API (the answer's case event sent by that role)
    with account.acting_as(roles[("intake", "api")]), Client(intake) as test_client:
        feedback = test_client.http.post(
            f"/complaints/{number}/feedback",
            headers={"Content-Type": "application/json"},
            body=json.dumps({"code": receipt["verification_code"], "rating": "basically_satisfied"}),
        )
    assert feedback.status_code == 200, feedback.body

    # when the reporting event handlers count the case events and run their schedules
    events = queued(settings.events_queue)
    with account.acting_as(roles[("reporting", "events")]):
        counted = invoke(reporting, "count_case_events", sqs_event(events))
        for schedule in ("detect_hotspots", "generate_weekly_reports", "generate_phase_reports", "remind_materials"):
            invoke(reporting, schedule, scheduled_event())
    assert events and counted == {"batchItemFailures": []}

    # when staff make a report, list the reports and hotspots and open the dashboard, as the reporting API role
    with account.acting_as(roles[("reporting", "api")]), Client(reporting) as test_client:
        http = test_client.http
        answers = [
            http.post("/", headers=staff, body=json.dumps({"period": "year:2026", "formats": ["csv", "json"]})),
            http.get("/", headers=staff),
            http.get("/hotspots", headers=staff),
            http.get("/dashboard?period=year%3A2026", headers={"Cookie": f"hotspot_console={token}"}),
            http.post("/surveys", headers=staff, body=json.dumps({"title": "企业座谈会", "links": 2})),
            http.get("/surveys", headers=staff),
        ]
    assert [answer.status_code for answer in answers] == [201, 200, 200, 200, 201, 200], [a.body[:300] for a in answers]
    # when an enterprise answers the survey on the intake API, and staff file its answer as a complaint
    survey = json.loads(answers[4].body)
    link = urlsplit(survey["urls"][0])
    with account.acting_as(roles[("intake", "api")]), Client(intake) as test_client:
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        text = urlencode({"r-JJDD-fees": "dissatisfied", "text": "交警大队收费不开票据。"})
        answered = test_client.http.post(f"{link.path.removeprefix('/intake')}?{link.query}", headers=form, body=text)
    with account.acting_as(roles[("routing", "api")]), Client(routing) as test_client:
        filed = test_client.http.post(f"/surveys/{survey['id']}/answers/1/complaint", headers=staff, body="{}")
    assert (answered.status_code, filed.status_code) == (201, 201), (answered.body[:300], filed.body[:300])

    # when an alarm reaches the alarm notifier as the China stage runs it (Aliyun SMS, SMTP mail: the providers'
    # answers stand in, the secrets are read from the account)
    os.environ.update(
        SMS_PROVIDER="aliyun",
        MAIL_SENDER="smtp",
        MAIL_SMTP_SECRET="hotspot-mail-smtp",
        ALARM_PHONES='["+8613900000000"]',
        ALARM_EMAIL="it@county.example.cn",
    )
    environment_settings.cache_clear()
    aliyun = {"Code": "OK", "BizId": "iam-test", "RequestId": "iam-test"}
    with (
        account.acting_as(roles[("routing", "alarms")]),
        patch("shared.routing.sms._post", return_value=aliyun) as texted,
        patch("smtplib.SMTP_SSL") as smtp,
        Client(routing) as test_client,
    ):
        told = invoke(routing, "notify_alarm", test_client.events.generate_sns_event(json.dumps(ALARM)))
    # then the duty phone is texted and the mailbox told
    assert (told["texted"], told["mailed"], told["failed"]) == (1, True, [])
    assert texted.call_count == 1 and smtp.return_value.send_message.call_count == 1

    # and nothing was denied where the code carries on after a failure (a mail reply, a notice)
    assert [record.getMessage() for record in caplog.records if record.levelname == "ERROR"] == []

    # when the open hotspots are listed as a reporting API role lacking the query they need
    [reporting_api] = [
        role
        for role in stage.template("reporting")["Resources"].values()
        if role["Type"] == "AWS::IAM::Role" and role["Properties"]["RoleName"].endswith("-api")
    ]
    lacking = json.loads(json.dumps(reporting_api))
    for policy in lacking["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            statement["Action"] = [action for action in actions if action != "dynamodb:Query"]
        policy["PolicyDocument"]["Statement"] = [s for s in policy["PolicyDocument"]["Statement"] if s["Action"]]
    with account.acting_as(account.admin):
        without_query = create_user("reporting-api-lacking", moto_policy(lacking))
    with account.acting_as(without_query), Client(reporting) as test_client:
        listed = test_client.http.get("/hotspots", headers=staff)
    # then it fails: an action removed from a role fails this test, where moto alone would let it pass
    assert listed.status_code == 500
