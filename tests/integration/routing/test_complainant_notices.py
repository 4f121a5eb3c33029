"""Notices to complainants (routing service against moto): which transitions send what, by SMS and/or mail as
the complainant chose, once however often a message arrives, recorded on the case without personal data."""

import json
import logging
import smtplib
from email import message_from_bytes, policy

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from shared.core import auth, queues
from shared.core.auth import Role
from shared.core.aws import client
from shared.core.dal.cases import CaseStore
from shared.core.mailer import mail_sender
from shared.core.messages import Envelope
from shared.core.settings import Settings, get_settings
from shared.intake.complaints import submit_complaint
from shared.routing import notifications, router
from shared.routing.sms import SmsError, sms_sender
from tests.support import receive_all, requests_made, sqs_event

TRAFFIC = "交警在路口查车罚款两百元，不开罚款收据，让我直接把钱转到他个人手机上。"
PHONE, EMAIL = "13912345678", "wanghong@example.cn"


def routed(settings: Settings, complainant: dict | None) -> str:
    body = {"description": TRAFFIC, **({"complainant": complainant} if complainant else {"anonymous": True})}
    answer = submit_complaint(settings, json.dumps(body).encode(), "application/json", None)
    assert answer.status == 201, answer.body
    message = receive_all(queues.queue_url(settings.intake_queue), client("sqs"))[-1]["Body"]
    router.route_complaint(settings, Envelope.model_validate_json(message))
    return str(answer.body["tracking_no"])


def act(test_client, number: str, action: str, role: Role = Role.dept_officer, **fields) -> dict:
    settings = get_settings()
    department = None if role == Role.county_admin else "JJDD"
    token = auth.issue_development_token(settings, role, department)
    version = CaseStore(settings).get(number).version  # type: ignore[union-attr]
    response = test_client.http.post(
        f"/{number}/actions/{action}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        body=json.dumps({"version": version, **fields}, ensure_ascii=False),
    )
    assert response.status_code == 200, response.body
    return json.loads(response.body)["case"]


def requested(settings: Settings) -> list[str]:
    return [m["Body"] for m in receive_all(queues.queue_url(settings.notify_queue), client("sqs"))]


def deliver(test_client, bodies: list[str]) -> dict:
    return test_client.lambda_.invoke("send_notifications", sqs_event(bodies)).payload


def texts() -> list[tuple[str, str]]:
    return [(phone, text) for phone, text, *_ in sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values()]


def mails() -> list:
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    return [message_from_bytes(item.raw_data.encode(), policy=policy.default) for item in sent]


def test_each_notice_goes_out_once_per_transition_by_sms_and_mail(routing_app, aws: Settings) -> None:
    # given a routed case whose complainant gave a mobile and an email address and chose nothing
    number = routed(aws, {"name": "王红", "phone": PHONE, "email": EMAIL})
    steps = [
        ("accept", Role.dept_officer, {}, ["accepted"]),
        ("start_investigation", Role.dept_officer, {}, []),
        ("request_extension", Role.dept_head, {"days": 30, "reason": "需要调取路口监控录像并询问当事民警"}, []),
        ("approve_extension", Role.county_admin, {}, ["extension"]),
        ("decide", Role.dept_officer, {"finding": "partly", "measures": ["hold_accountable"], "summary": "属实"}, []),
        # the first reply also asks the call-back question (shared/routing/callbacks.py)
        ("reply", Role.dept_officer, {"message": "经查部分属实，已对相关民警追责。"}, ["reply", "callback"]),
        ("reopen_for_review", Role.dept_officer, {"reason": "对处理结果不满意"}, ["review"]),
    ]
    for action, role, fields, kinds in steps:
        # when staff take each action and the consumer gets each requested notice twice (a redelivery)
        act(routing_app, number, action, role, **fields)
        bodies = requested(aws)
        # then exactly the notifying actions asked for one notice of their kind
        assert [json.loads(body)["data"]["kind"] for body in bodies] == kinds
        if bodies:
            assert deliver(routing_app, bodies + bodies) == {"batchItemFailures": []}
    # then each notice went out once by SMS to the mobile and once by mail to the address
    sms = texts()
    assert [phone for phone, _ in sms] == ["+86" + PHONE] * 5
    assert "JJDD" not in sms[0][1] and "受理" in sms[0][1] and number in sms[0][1]
    assert "原因：需要调取路口监控录像并…。" in sms[1][1]  # the reason cut to keep one segment
    assert "部分属实已依法处理" in sms[2][1] and "复查申请已受理" in sms[4][1]
    assert "回复数字评价：1满意 2基本满意 3不满意" in sms[3][1] and number in sms[3][1]
    sent = mails()
    assert [mail["To"] for mail in sent] == [EMAIL] * 5
    assert "需要调取路口监控录像并询问当事民警" in sent[1].get_content()
    assert "经查部分属实，已对相关民警追责。" in sent[2].get_content()
    assert f"/intake/feedback?no={number}" in sent[3].get_content() and "请评价" in sent[3]["Subject"]
    # and the deliveries are recorded on the case, with provider message ids and no contact details
    notices = CaseStore(aws).notices(number)
    assert sorted((n["kind"], n["channel"], n["state"]) for n in notices) == sorted(
        (kind, channel, "sent")
        for kind in ("accepted", "extension", "reply", "callback", "review")
        for channel in ("sms", "email")
    )
    assert all(n["provider_message_id"] and n["attempts"] == 1 and n["sent_at"] for n in notices)
    assert PHONE not in json.dumps(notices, default=str) and EMAIL not in json.dumps(notices, default=str)


def test_notices_go_only_by_the_channel_chosen_and_the_case_shows_them(routing_app, aws: Settings) -> None:
    # given a complainant who gave both contacts but wants mail only
    number = routed(aws, {"phone": PHONE, "email": EMAIL, "notify_by": ["email"]})
    # when the case is not accepted, with a reason
    act(routing_app, number, "not_accept", reason="不属于行政执法事项，属于民事纠纷，请向人民法院起诉")
    deliver(routing_app, requested(aws))
    # then a mail with the full reason went out and no SMS
    assert texts() == []
    [mail] = mails()
    assert mail["To"] == EMAIL and "请向人民法院起诉" in mail.get_content() and number in mail["Subject"]
    # and the case detail lists the notice, for staff, without the address
    token = auth.issue_development_token(aws, Role.county_admin)
    shown = json.loads(routing_app.http.get(f"/{number}", headers={"Authorization": f"Bearer {token}"}).body)
    assert [(n["kind"], n["channel"], n["state"]) for n in shown["notices"]] == [("not_accepted", "email", "sent")]
    assert EMAIL not in json.dumps(shown["notices"])


def test_a_failed_send_is_recorded_retried_and_not_repeated_on_the_channel_that_worked(aws: Settings) -> None:
    # given a requested acceptance notice for a complainant with a mobile and an email address
    client("ses").verify_email_identity(EmailAddress=aws.mail_address)
    number = routed(aws, {"phone": PHONE, "email": EMAIL})
    case = CaseStore(aws).get(number)
    assert case is not None
    notice = notifications.after_action(case.model_copy(update={"reply_due_at": case.acceptance_due_at}), "accept")
    assert notice is not None

    class Failing:
        def send(self, phone: str, sms) -> str:
            raise SmsError("aliyun", "isv.BUSINESS_LIMIT_CONTROL")

    # when the SMS provider fails
    with pytest.raises(SmsError):
        notifications.send_notification(aws, notice, Failing(), mail_sender(aws))
    # then the failure is recorded (provider code, no number) and the mail went out
    recorded = {n["channel"]: n for n in CaseStore(aws).notices(number)}
    assert recorded["sms"]["state"] == "failed" and "BUSINESS_LIMIT_CONTROL" in recorded["sms"]["error"]
    assert recorded["email"]["state"] == "sent" and len(mails()) == 1
    # when SQS delivers the message again and the provider works
    assert notifications.send_notification(aws, notice, sms_sender(aws), mail_sender(aws)) == 1
    # then the SMS goes out on the second attempt and the mail is not sent twice
    recorded = {n["channel"]: n for n in CaseStore(aws).notices(number)}
    assert (recorded["sms"]["state"], recorded["sms"]["attempts"]) == ("sent", 2)
    assert len(texts()) == 1 and len(mails()) == 1


def test_a_failing_notice_is_reported_to_sqs_which_dead_letters_it(routing_app, aws: Settings, monkeypatch) -> None:
    # given a requested notice and an SMS provider that keeps failing
    number = routed(aws, {"phone": PHONE})
    act(routing_app, number, "accept")
    bodies = requested(aws)

    def fail(self, phone, sms) -> str:
        raise SmsError("sns", "Throttling")

    monkeypatch.setattr("shared.routing.sms.SnsSmsSender.send", fail)
    # when the consumer gets it, then it reports the message failed (SQS delivers it again), and the queue
    # dead-letters what keeps failing
    assert deliver(routing_app, bodies) == {
        "batchItemFailures": [{"itemIdentifier": f"msg-{index}"} for index in range(len(bodies))]
    }
    attributes = client("sqs").get_queue_attributes(
        QueueUrl=queues.queue_url(aws.notify_queue), AttributeNames=["RedrivePolicy"]
    )["Attributes"]
    assert json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"].endswith(f"{aws.notify_queue}-dlq")
    assert [n["state"] for n in CaseStore(aws).notices(number)] == ["failed"]


def test_a_batch_of_notices_reads_its_cases_and_complainants_once(routing_app, aws: Settings) -> None:
    # given three complainants' cases accepted, each with its acceptance notice requested
    numbers = [routed(aws, {"phone": f"1391234560{index}"}) for index in range(3)]
    for number in numbers:
        act(routing_app, number, "accept")
    bodies = requested(aws)
    assert len(bodies) == 3
    # when the consumer takes them in one batch
    with requests_made("dynamodb") as made:
        answer = deliver(routing_app, bodies)
    # then every notice is sent, the cases and their complainants read in one BatchGetItem each, none on its own
    assert answer == {"batchItemFailures": []}
    assert len(texts()) == 3
    reads = [operation for operation, _ in made if "Get" in operation]
    assert reads == ["dynamodb.BatchGetItem", "dynamodb.BatchGetItem"]


def test_a_refused_mail_is_retried_and_logged_without_the_address(
    routing_app, aws: Settings, monkeypatch, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture
) -> None:
    # given a notice to a complainant who wants mail, and a mail server that refuses the address, naming it
    number = routed(aws, {"phone": PHONE, "email": EMAIL, "notify_by": ["email"]})
    act(routing_app, number, "accept")
    bodies = requested(aws)

    def refuse(self, message) -> str:
        raise smtplib.SMTPRecipientsRefused({EMAIL: (550, b"5.1.1 <" + EMAIL.encode() + b">: no such user")})

    monkeypatch.setattr("shared.core.mailer.SesMailSender.send", refuse)
    caplog.set_level(logging.INFO)
    # when the consumer takes it
    answer = deliver(routing_app, bodies)
    # then the message is reported failed (retried), the delivery recorded as failed, and no log line has the address
    assert answer == {"batchItemFailures": [{"itemIdentifier": "msg-0"}]}
    assert [n["state"] for n in CaseStore(aws).notices(number)] == ["failed"]
    logged = capsys.readouterr().out + caplog.text
    logged += "".join(json.dumps(record.__dict__, default=str, ensure_ascii=False) for record in caplog.records)
    assert "notification failed" in logged and EMAIL not in logged


def test_anonymous_complainants_get_nothing_pushed(routing_app, aws: Settings) -> None:
    # given an anonymous routed case
    number = routed(aws, None)
    # when it is accepted
    act(routing_app, number, "accept")
    # then no notice is requested, and a notice requested anyway sends nothing
    assert requested(aws) == []
    case = CaseStore(aws).get(number)
    assert case is not None
    forced = notifications._notice(case, "accepted", department="交警大队", due="2026年12月31日")
    assert notifications.send_notification(aws, forced, sms_sender(aws), mail_sender(aws)) == 0
    assert texts() == [] and mails() == [] and CaseStore(aws).notices(number) == []


def test_sms_notices_need_a_mobile(aws: Settings) -> None:
    # given a complainant who wants SMS but gave a landline
    body = {"description": TRAFFIC, "complainant": {"phone": "0439-6212345", "notify_by": ["sms"]}}
    # when the complaint is submitted
    answer = submit_complaint(aws, json.dumps(body).encode(), "application/json", None)
    # then it is refused with the reason
    assert answer.status == 422 and answer.body["error"]["fields"][0]["code"] == "invalid_notify_by"
