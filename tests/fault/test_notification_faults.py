"""Notices under a function killed mid-send: the claim before a send is a lease, so the redelivered message
sends what the dead attempt did not, and a message whose notice another attempt is sending right now fails
(to come back later) instead of reporting success."""

import json

import pytest

from shared.core import queues
from shared.core.aws import client
from shared.core.dal.cases import CaseStore
from shared.core.dal.items import DeliveryBusy
from shared.core.mailer import mail_sender
from shared.core.messages import Envelope
from shared.core.notices import SmsNotice, sms_notice_message
from shared.core.settings import Settings
from shared.core.sms_text import Sms
from shared.intake.complaints import submit_complaint
from shared.routing import notifications, router
from tests.fault.conftest import FunctionKilled
from tests.support import receive_all

PHONE = "13912345678"


class Killed:
    """A provider call during which the function dies."""

    def send(self, phone: str, sms: Sms) -> str:
        raise FunctionKilled


class Recording:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, phone: str, sms: Sms) -> str:
        self.sent.append(phone)
        return f"provider-{len(self.sent)}"


def routed_with_phone(settings: Settings) -> str:
    body = {"description": "交警在路口查车罚款两百元，不开罚款收据。", "complainant": {"phone": PHONE}}
    answer = submit_complaint(settings, json.dumps(body, ensure_ascii=False).encode(), "application/json", None)
    message = receive_all(queues.queue_url(settings.intake_queue), client("sqs"))[-1]["Body"]
    router.route_complaint(settings, Envelope.model_validate_json(message))
    return str(answer.body["tracking_no"])


def deadline_notice(settings: Settings, number: str) -> Envelope:
    case = CaseStore(settings).get(number)
    assert case is not None and case.due_at is not None
    data = {"tracking_no": number, "kind": "acceptance_due_soon", "department": case.department, "due_at": case.due_at}
    return Envelope(
        type="notification.requested", id=f"{number}:acceptance:3", data=json.loads(json.dumps(data, default=str))
    )


def complainant_notice(settings: Settings, number: str) -> Envelope:
    case = CaseStore(settings).get(number)
    assert case is not None
    notice = notifications.after_action(case.model_copy(update={"reply_due_at": case.acceptance_due_at}), "accept")
    assert notice is not None
    return notice


def sms_reply(number: str) -> Envelope:
    return sms_notice_message(
        f"sms-reply:twilio:{number}",
        SmsNotice(kind="sms_received", phone="+86" + PHONE, values={"tracking_no": number, "code": "123456"}),
    )


MESSAGES = {"deadline notice": deadline_notice, "notice to the complainant": complainant_notice}


@pytest.mark.parametrize("kind", [*MESSAGES, "SMS to one number"])
def test_a_notice_whose_sender_died_mid_send_is_sent_when_the_message_comes_back(
    aws: Settings, lease_over: Settings, kind: str
) -> None:
    # given a requested notice
    number = routed_with_phone(aws)
    message = MESSAGES[kind](aws, number) if kind in MESSAGES else sms_reply(number)
    # when the function dies while the provider is called
    with pytest.raises(FunctionKilled):
        notifications.send_notification(lease_over, message, Killed(), mail_sender(aws))
    # and SQS delivers the message again after its visibility timeout, when the dead attempt's lease is over
    provider = Recording()
    notifications.send_notification(lease_over, message, provider, mail_sender(aws))
    # then the SMS goes out
    assert len(provider.sent) >= 1
    # and a third delivery sends nothing more
    again = Recording()
    assert notifications.send_notification(lease_over, message, again, mail_sender(aws)) == 0
    assert again.sent == []


@pytest.mark.parametrize("kind", [*MESSAGES, "SMS to one number"])
def test_a_notice_being_sent_by_a_live_attempt_fails_the_duplicate_instead_of_succeeding(
    aws: Settings, kind: str
) -> None:
    # given a notice whose first attempt died a moment ago, its lease still running
    number = routed_with_phone(aws)
    message = MESSAGES[kind](aws, number) if kind in MESSAGES else sms_reply(number)
    with pytest.raises(FunctionKilled):
        notifications.send_notification(aws, message, Killed(), mail_sender(aws))
    # when a duplicate delivery of the message arrives within the lease
    provider = Recording()
    # then it fails (SQS brings it back later) rather than report a notice sent that was not
    with pytest.raises(DeliveryBusy):
        notifications.send_notification(aws, message, provider, mail_sender(aws))
    assert provider.sent == []
