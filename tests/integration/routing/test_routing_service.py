"""The routing service against moto: the intake consumer, reminders, the sweeper and notifications."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from chalice.test import Client
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from shared.core import queues
from shared.core.aws import client
from shared.core.dal.cases import CaseStore
from shared.core.messages import Envelope
from shared.core.models import Status
from shared.core.settings import Settings
from shared.intake import sms_inbound
from shared.intake.complaints import submit_complaint
from shared.routing import reminders
from tests.support import load_service, receive_all, requests_made, scheduled_event, sqs_event

TEXT = "交警在路口查车罚款两百元，不开罚款收据，让我直接把钱转到他个人手机上。"


@pytest.fixture
def lambdas(aws: Settings):
    with Client(load_service("routing").app) as test_client:
        yield test_client.lambda_


def receive(settings: Settings, text: str = TEXT, received_at: datetime | None = None) -> tuple[str, str]:
    """Store a complaint through intake; return its tracking number and queued message body."""
    answer = submit_complaint(
        settings, json.dumps({"description": text}).encode(), "application/json", None, now=received_at
    )
    bodies = [m["Body"] for m in receive_all(queues.queue_url(settings.intake_queue), client("sqs"))]
    return answer.body["tracking_no"], bodies[-1]


def invoke(lambdas, name: str, bodies: list[str]) -> dict:
    return lambdas.invoke(name, sqs_event(bodies)).payload


def test_a_received_complaint_is_classified_routed_and_announced(lambdas, aws: Settings) -> None:
    # given a stored complaint and its queued message
    number, body = receive(aws)
    # when the routing consumer gets it
    result = invoke(lambdas, "route_complaint", [body])
    # then the case is routed to the traffic police for the penalty, with a 15-day acceptance deadline
    assert result == {"batchItemFailures": []}
    case = CaseStore(aws).get(number)
    assert (case.status, case.category, case.department) == (Status.routed, "penalty", "JJDD")
    assert 0 < case.category_confidence <= 1 and 0 < case.department_confidence <= 1
    assert case.assigned_unit == "JJDD:legal-office"
    assert timedelta(days=15) <= case.acceptance_due_at - case.received_at < timedelta(days=22)
    # and the audit trail has the receipt and the routing, and a case event is emitted
    assert [e.action for e in CaseStore(aws).events(number)] == ["receive", "route"]
    events = [json.loads(m["Body"]) for m in receive_all(queues.queue_url(aws.events_queue), client("sqs"))]
    assert [(e["type"], e["data"]["tracking_no"], e["data"]["department"]) for e in events] == [
        ("case.transitioned", number, "JJDD")
    ]


def test_a_redelivered_message_changes_nothing_twice(lambdas, aws: Settings) -> None:
    # given a complaint already routed
    number, body = receive(aws)
    invoke(lambdas, "route_complaint", [body])
    first = CaseStore(aws).get(number)
    # when the same message arrives again
    invoke(lambdas, "route_complaint", [body])
    # then the case and its history are unchanged, and the re-announcement carries the same event id
    assert CaseStore(aws).get(number) == first
    assert len(CaseStore(aws).events(number)) == 2
    ids = [json.loads(m["Body"])["id"] for m in receive_all(queues.queue_url(aws.events_queue), client("sqs"))]
    assert len(ids) == 2 and len(set(ids)) == 1


def test_a_reply_carried_by_a_texted_complaint_is_queued_once_per_delivery_under_its_id(lambdas, aws: Settings) -> None:
    # given a complaint texted through Aliyun, whose routing message carries the reply to the sender
    push = [{"phone_number": "13912345670", "content": TEXT, "sequence_id": 7001}]
    body = json.dumps(push, ensure_ascii=False).encode()
    assert sms_inbound.receive(aws, "aliyun", body, "application/json", token="local-sms-token").status == 200
    [message] = [m["Body"] for m in receive_all(queues.queue_url(aws.intake_queue), client("sqs"))]
    # when the routing consumer gets the message, and then gets it again (a redelivery)
    assert invoke(lambdas, "route_complaint", [message]) == {"batchItemFailures": []}
    assert invoke(lambdas, "route_complaint", [message]) == {"batchItemFailures": []}
    # then the reply was put on the notify queue each time under the one id the sender sends once by
    notices = [json.loads(m["Body"]) for m in receive_all(queues.queue_url(aws.notify_queue), client("sqs"))]
    assert [(n["id"], n["data"]["kind"], n["data"]["phone"]) for n in notices] == [
        ("sms-reply:aliyun:7001", "sms_receipt", "+8613912345670")
    ] * 2
    # and the case is routed once
    tracking_no = notices[0]["data"]["tracking_no"]
    assert CaseStore(aws).get(tracking_no).status == Status.routed
    assert [e.action for e in CaseStore(aws).events(tracking_no)] == ["receive", "route"]


def test_a_carried_reply_not_queued_fails_its_message_for_redelivery(lambdas, aws: Settings, monkeypatch) -> None:
    # given a texted complaint's routing message, and a notify queue that refuses messages
    push = [{"phone_number": "13912345671", "content": TEXT, "sequence_id": 7002}]
    body = json.dumps(push, ensure_ascii=False).encode()
    assert sms_inbound.receive(aws, "aliyun", body, "application/json", token="local-sms-token").status == 200
    [message] = [m["Body"] for m in receive_all(queues.queue_url(aws.intake_queue), client("sqs"))]
    monkeypatch.setattr(queues, "send_batch", lambda queue, messages: set(range(len(messages))))
    # when the routing consumer gets it
    result = invoke(lambdas, "route_complaint", [message])
    # then the message is reported failed, so that SQS delivers it again and the reply is asked for again
    assert [item["itemIdentifier"] for item in result["batchItemFailures"]] == ["msg-0"]


def test_only_the_failed_messages_of_a_batch_are_reported(lambdas, aws: Settings) -> None:
    # given a batch with a good message, a malformed one and one naming no stored case
    number, good = receive(aws)
    ghost = Envelope(type="complaint.received", data={"tracking_no": "ZF000000000000"}).model_dump_json()
    # when the batch is processed
    result = invoke(lambdas, "route_complaint", [good, "not json", ghost])
    # then exactly the two bad ones are reported as failures and the good one is routed
    assert sorted(item["itemIdentifier"] for item in result["batchItemFailures"]) == ["msg-1", "msg-2"]
    assert CaseStore(aws).get(number).status == Status.routed


def announced_ids(settings: Settings) -> list[str]:
    return [json.loads(m["Body"])["id"] for m in receive_all(queues.queue_url(settings.events_queue), client("sqs"))]


def test_a_batch_is_routed_in_one_transaction(lambdas, aws: Settings) -> None:
    # given three stored complaints
    received = [receive(aws, text) for text in (TEXT, "城管执法队员没收摊贩的三轮车，不出具任何手续。", TEXT)]
    # when their messages come in one batch
    with requests_made("dynamodb") as made:
        result = invoke(lambdas, "route_complaint", [body for _, body in received])
    transactions = [operation for operation, _ in made if operation == "dynamodb.TransactWriteItems"]
    # then all three are routed by one transaction, each with its own audit event, and all are announced
    assert result == {"batchItemFailures": []}
    assert len(transactions) == 1
    for number, _ in received:
        assert CaseStore(aws).get(number).status == Status.routed
        assert [e.action for e in CaseStore(aws).events(number)] == ["receive", "route"]
    assert sorted(announced_ids(aws)) == sorted(f"{number}:v2" for number, _ in received)


def test_a_case_routed_meanwhile_leaves_the_rest_of_its_batch_routed(lambdas, aws: Settings, monkeypatch) -> None:
    # given three stored complaints, of which one is routed by another delivery after the batch read it
    received = [receive(aws) for _ in range(3)]
    _, raced_body = received[1]
    stale = CaseStore(aws).get_many([number for number, _ in received])
    invoke(lambdas, "route_complaint", [raced_body])
    receive_all(queues.queue_url(aws.events_queue), client("sqs"))
    monkeypatch.setattr(CaseStore, "get_many", lambda self, numbers: stale)
    # when the batch is processed
    with requests_made("dynamodb") as made:
        result = invoke(lambdas, "route_complaint", [body for _, body in received])
    transactions = [operation for operation, _ in made if operation == "dynamodb.TransactWriteItems"]
    # then the transaction of all three fails on the raced case, and each case is then written on its own:
    # the other two routed, the raced one routed once only, and all three announced
    assert result == {"batchItemFailures": []}
    assert len(transactions) == 1 + 3
    for number, _ in received:
        assert [e.action for e in CaseStore(aws).events(number)] == ["receive", "route"]
    assert sorted(announced_ids(aws)) == sorted(f"{number}:v2" for number, _ in received)


def test_the_same_case_twice_in_a_batch_is_routed_once(lambdas, aws: Settings) -> None:
    # given a stored complaint whose message is delivered twice in one batch
    number, body = receive(aws)
    # when the batch is processed
    result = invoke(lambdas, "route_complaint", [body, body])
    # then both messages succeed, the case is routed once, and both announce the same event
    assert result == {"batchItemFailures": []}
    assert [e.action for e in CaseStore(aws).events(number)] == ["receive", "route"]
    assert announced_ids(aws) == [f"{number}:v2"] * 2


def test_reminders_find_due_cases_once_and_notifications_go_out_once(lambdas, aws: Settings) -> None:
    # given a routed case
    number, body = receive(aws)
    invoke(lambdas, "route_complaint", [body])
    due = CaseStore(aws).get(number).acceptance_due_at
    # when the reminder run happens in the afternoon the day before the deadline (due 23:59:59 local), twice
    first = reminders.remind_deadlines(aws, now=due - timedelta(hours=34))
    second = reminders.remind_deadlines(aws, now=due - timedelta(hours=33))
    # then one 'due soon' notification is requested
    assert (first.due_soon, second.due_soon) == (1, 0)
    requested = [m["Body"] for m in receive_all(queues.queue_url(aws.notify_queue), client("sqs"))]
    assert [json.loads(b)["data"]["kind"] for b in requested] == ["acceptance_due_soon"]
    # and when the deadline has passed (the next morning), one 'overdue' notification follows, and an escalation
    overdue = reminders.remind_deadlines(aws, now=due + timedelta(hours=9))
    assert (overdue.overdue, overdue.escalated) == (1, 1)
    requested += [m["Body"] for m in receive_all(queues.queue_url(aws.notify_queue), client("sqs"))]
    order = ["acceptance_due_soon", "acceptance_overdue", "acceptance_escalated"]
    requested.sort(key=lambda body: order.index(json.loads(body)["data"]["kind"]))
    assert [json.loads(b)["data"]["kind"] for b in requested][:2] == ["acceptance_due_soon", "acceptance_overdue"]
    # when the notification consumer gets the first two messages, the second one twice
    invoke(lambdas, "send_notifications", [requested[0], requested[1], requested[1]])
    # then each SMS went out once per recipient, in Chinese with the tracking number
    sent = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages
    texts = [text for phone, text, *_ in sent.values()]
    assert len(texts) == 2
    assert all(number in text and "受理期限" in text for text in texts)
    assert any("已超过" in text for text in texts)


def test_reminder_run_uses_the_index_not_a_scan(lambdas, aws: Settings, monkeypatch) -> None:
    # given a routed case and a client that refuses scans
    number, body = receive(aws)
    invoke(lambdas, "route_complaint", [body])
    dynamodb = client("dynamodb")
    monkeypatch.setattr(dynamodb, "scan", lambda **kwargs: pytest.fail("scan on a schedule path"))
    # when the scheduled function runs through its handler
    due = CaseStore(aws).get(number).acceptance_due_at
    summary = reminders.remind_deadlines(aws, now=due - timedelta(hours=12))
    # then the case was found (noon of its due date)
    assert summary.due_today == 1


def test_the_sweeper_requeues_complaints_never_routed(lambdas, aws: Settings) -> None:
    # given a complaint stored an hour ago whose message was lost
    number, _ = receive(aws, received_at=datetime.now(UTC) - timedelta(hours=1))
    # when the sweep's schedule fires (through the Lambda handler) twice
    first = lambdas.invoke("sweep_unrouted", scheduled_event()).payload
    second = lambdas.invoke("sweep_unrouted", scheduled_event()).payload
    # then it is queued again once, and routing it works
    assert (first["swept"], second["swept"]) == (1, 0)
    bodies = [m["Body"] for m in receive_all(queues.queue_url(aws.intake_queue), client("sqs"))]
    assert len(bodies) == 1
    invoke(lambdas, "route_complaint", bodies)
    assert CaseStore(aws).get(number).status == Status.routed
