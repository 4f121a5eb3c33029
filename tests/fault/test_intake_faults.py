"""Idempotency keys under a function killed mid-request: the answer is stored in the same transaction as the
complaint, so a retry after a crash gets the tracking number; a claim whose attempt died is taken over once its
lease is over, for the JSON API and for mail (key: the Message-ID)."""

import json
from datetime import UTC, datetime

import pytest

from shared.core import filing, queues
from shared.core.aws import client
from shared.core.dal.cases import CaseStore
from shared.core.mailer import SesMailSender
from shared.core.models import Channel, Status
from shared.core.settings import Settings
from shared.intake import complaints, mail_inbound
from tests.fault.conftest import FunctionKilled
from tests.integration.intake.test_email_intake import mail
from tests.support import receive_all

BODY = json.dumps({"description": "交警在路口查车罚款两百元，不开罚款收据。"}, ensure_ascii=False).encode()


def submit(settings: Settings, key: str = "retry-1") -> complaints.Answer:
    return complaints.submit_complaint(settings, BODY, "application/json", key, client_ip="192.0.2.1")


def stored(settings: Settings) -> list[str]:
    return [case.tracking_no for case in CaseStore(settings).by_status(Status.received)]


def kill_at(monkeypatch: pytest.MonkeyPatch, target: object, name: str) -> None:
    """The next call of `target.name` is where the function dies; later calls work."""
    original = getattr(target, name)
    calls = []

    def dying(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise FunctionKilled
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, dying)


def test_a_submission_killed_before_its_complaint_was_stored_is_filed_by_the_retry(
    aws: Settings, lease_over: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a submission whose function dies as it stores the complaint, the key claimed
    kill_at(monkeypatch, CaseStore, "create")
    with pytest.raises(FunctionKilled):
        submit(lease_over)
    assert stored(aws) == []
    # when the client retries with the same key after the dead attempt's lease
    answer = submit(lease_over)
    # then the complaint is filed once and the client gets its tracking number
    assert answer.status == 201 and stored(aws) == [answer.body["tracking_no"]]


def test_a_submission_killed_after_its_complaint_was_stored_is_answered_with_its_tracking_number(
    aws: Settings, lease_over: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a submission whose function dies right after the complaint was stored, before it could answer
    kill_at(monkeypatch, queues, "send")
    with pytest.raises(FunctionKilled):
        submit(lease_over)
    [number] = stored(aws)
    # when the client retries with the same key
    answer = submit(lease_over)
    # then it gets the stored complaint's tracking number back (not 409 for a day), and nothing is filed twice
    assert (answer.status, answer.body["tracking_no"], answer.replayed) == (201, number, True)
    assert stored(aws) == [number]


def test_a_retry_within_the_lease_is_told_to_wait_and_files_nothing(
    aws: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a submission whose function died a moment ago, before storing anything
    kill_at(monkeypatch, CaseStore, "create")
    with pytest.raises(FunctionKilled):
        submit(aws)
    # when the client retries at once
    answer = submit(aws)
    # then it is told the request is in progress, and nothing is filed yet
    assert (answer.status, answer.body["error"]["code"]) == (409, "request_in_progress") and stored(aws) == []


def test_mail_whose_filing_died_is_filed_when_its_message_comes_back(
    aws: Settings, lease_over: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a mail on the mail queue whose filing dies as the complaint is stored
    client("ses").verify_email_identity(EmailAddress=aws.mail_address)
    filing.archive_raw(aws, Channel.email, mail(message_id="<crash@163.com>"), "message/rfc822", datetime.now(UTC))
    [event] = [
        m["Body"] for m in receive_all(queues.queue_url(aws.mail_queue), client("sqs")) if "Records" in m["Body"]
    ]
    kill_at(monkeypatch, CaseStore, "create")
    with pytest.raises(FunctionKilled):
        mail_inbound.receive_event(lease_over, event, SesMailSender())
    # when SQS delivers the event again after its visibility timeout
    mail_inbound.receive_event(lease_over, event, SesMailSender())
    # then the mail is filed once (before: request_in_progress every time, then the dead-letter queue)
    assert len(stored(aws)) == 1
