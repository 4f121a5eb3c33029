"""The outbox of staff actions against moto: a send that fails after the action is stored loses nothing; the
sweeper of the scheduled run sends it later, and consumers act on it once."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from chalice.test import Client
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from shared.core import auth, outbox, queues
from shared.core.auth import Role
from shared.core.aws import client
from shared.core.dal.cases import CaseStore
from shared.core.messages import Envelope
from shared.core.settings import Settings
from shared.intake.complaints import submit_complaint
from shared.routing import router
from tests.support import load_service, receive_all, sqs_event

PHONE = "13912345678"


@pytest.fixture
def routing_app(aws: Settings):
    with Client(load_service("routing").app) as test_client:
        yield test_client


def routed(settings: Settings) -> str:
    body = {"description": "交警在路口查车罚款两百元，不开罚款收据。", "complainant": {"phone": PHONE}}
    answer = submit_complaint(settings, json.dumps(body).encode(), "application/json", None)
    assert answer.status == 201, answer.body
    message = receive_all(queues.queue_url(settings.intake_queue), client("sqs"))[-1]["Body"]
    router.route_complaint(settings, Envelope.model_validate_json(message))
    receive_all(queues.queue_url(settings.events_queue), client("sqs"))  # the routing event: not this test's
    return str(answer.body["tracking_no"])


def fail_once_on(monkeypatch: pytest.MonkeyPatch, queue: str) -> None:
    """The first send to `queue` fails (the queue is unreachable); every other send goes through."""
    real, failed = queues.send, []

    def send(name: str, message: Envelope) -> None:
        if name == queue and not failed:
            failed.append(message.id)
            raise ConnectionError("queue unreachable")
        real(name, message)

    monkeypatch.setattr(queues, "send", send)


def on_queue(settings: Settings, queue: str) -> list[Envelope]:
    bodies = [m["Body"] for m in receive_all(queues.queue_url(queue), client("sqs"))]
    return [Envelope.model_validate_json(body) for body in bodies]


def texts() -> list[str]:
    return [text for _, text, *_ in sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values()]


def test_a_notice_whose_send_failed_is_kept_and_sent_once_by_the_sweeper(
    routing_app, aws: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a routed case whose complainant gave a mobile, and a notify queue that fails the next send
    number = routed(aws)
    store = CaseStore(aws)
    fail_once_on(monkeypatch, aws.notify_queue)
    # when an officer accepts the case
    token = auth.issue_development_token(aws, Role.dept_officer, "JJDD")
    response = routing_app.http.post(
        f"/{number}/actions/accept",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        body=json.dumps({"version": store.get(number).version}),  # type: ignore[union-attr]
    )
    acted_at = datetime.now(UTC)
    # then the action answers 200 and is stored
    assert response.status_code == 200, response.body
    version = json.loads(response.body)["case"]["version"]
    # and the case event went out, the notice did not, and the outbox item of this version keeps both
    [event] = on_queue(aws, aws.events_queue)
    assert event.id == f"{number}:v{version}"
    assert on_queue(aws, aws.notify_queue) == []
    [kept] = list(store.outbox_before(acted_at + timedelta(seconds=1)))
    assert (kept["tracking_no"], kept["version"]) == (number, version)
    assert [m["queue"] for m in kept["messages"]] == [aws.events_queue, aws.notify_queue]

    # when the outbox sweep runs within the minute / then it leaves the item to the action still sending
    assert outbox.sweep(aws, acted_at + timedelta(seconds=10)) == 0
    assert on_queue(aws, aws.notify_queue) == []
    # when it runs two minutes later
    delivered = outbox.sweep(aws, acted_at + timedelta(minutes=2))
    # then it sends the stranded messages and deletes the item
    assert delivered == 1
    assert list(store.outbox_before(acted_at + timedelta(days=1))) == []
    [notice] = on_queue(aws, aws.notify_queue)
    assert notice.id == f"{number}:v{version}:accepted" and notice.data["kind"] == "accepted"
    # and the case event again, with the same id, so that its consumer drops the repeat
    assert [message.id for message in on_queue(aws, aws.events_queue)] == [event.id]
    # and a later run sends nothing more
    assert outbox.sweep(aws, acted_at + timedelta(minutes=20)) == 0
    assert on_queue(aws, aws.notify_queue) == []
    # when the notification consumer gets the notice twice (a redelivery)
    body = notice.model_dump_json()
    payload = routing_app.lambda_.invoke("send_notifications", sqs_event([body, body])).payload
    # then the complainant got one SMS about the acceptance
    assert payload == {"batchItemFailures": []}
    [sms] = texts()
    assert number in sms and "受理" in sms


def test_an_action_whose_messages_all_went_out_leaves_no_outbox_item(routing_app, aws: Settings) -> None:
    # given a routed case
    number = routed(aws)
    store = CaseStore(aws)
    # when an officer accepts it and every send works
    token = auth.issue_development_token(aws, Role.dept_officer, "JJDD")
    response = routing_app.http.post(
        f"/{number}/actions/accept",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        body=json.dumps({"version": store.get(number).version}),  # type: ignore[union-attr]
    )
    # then both messages are queued and no outbox item is left for the sweeper
    assert response.status_code == 200, response.body
    assert len(on_queue(aws, aws.events_queue)) == 1 and len(on_queue(aws, aws.notify_queue)) == 1
    assert list(store.outbox_before(datetime.now(UTC) + timedelta(days=1))) == []


def test_a_relayed_message_whose_send_failed_is_sent_by_the_sweeper(
    routing_app, aws: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a routed case and a notify queue that fails the next send
    number = routed(aws)
    fail_once_on(monkeypatch, aws.notify_queue)
    # when the department's officer relays a message to the complainant
    token = auth.issue_development_token(aws, Role.dept_officer, "JJDD")
    response = routing_app.http.post(
        f"/{number}/complainant/message",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        body=json.dumps({"text": "请携带票据到法制室说明情况"}, ensure_ascii=False),
    )
    sent_at = datetime.now(UTC)
    # then the caller is told it is queued, nothing reached the queue yet, and the sweeper sends it once
    assert response.status_code == 202, response.body
    assert on_queue(aws, aws.notify_queue) == []
    assert outbox.sweep(aws, sent_at + timedelta(minutes=2)) == 1
    relayed = on_queue(aws, aws.notify_queue)
    assert [message.id for message in relayed] == [json.loads(response.body)["notice_id"]]
    assert outbox.sweep(aws, sent_at + timedelta(minutes=4)) == 0
