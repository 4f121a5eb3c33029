"""Everything at once, seeded: complaints submitted, routed, accepted by staff, counted and notified while AWS
calls fail at random (DynamoDB conflicts and throttling, SQS and S3 errors) and the function dies before or after
any AWS call; clients retry as they would, each queue is worked by the batch consumer its function runs, with
redeliveries, dead letters are redriven and the sweeps run. Then the invariants: every acknowledged complaint
exists exactly once and is routed, every accepted case's complainant was told (duplicates within the documented
bound), the counters equal a recount, and nothing is left stuck (no claim in progress, no outbox item, no
message)."""

import contextlib
import json
import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from infra.cli import redrive
from shared.core import outbox, queues
from shared.core.auth import Principal, Role
from shared.core.aws import client
from shared.core.dal.cases import CaseStore
from shared.core.mailer import mail_sender
from shared.core.messages import Envelope
from shared.core.models import Status
from shared.core.settings import Settings
from shared.core.sms_text import Sms
from shared.intake.complaints import submit_complaint
from shared.reporting import stats
from shared.routing import cases_api, notifications, reminders, router
from tests.fault.conftest import FunctionKilled

SEED = 20261204
COMPLAINTS = 12
ATTEMPTS = 40
FZB = Principal(subject="fzb-1", name="法制办", role=Role.county_admin)
TEXTS = [
    "交警在路口查车罚款两百元，不开罚款收据，让我直接把钱转到他个人手机上。",
    "城管没收我的三轮车，也不给任何手续。",
    "税务所乱收费，收了钱不给票据。",
    "市场监管局的人一个月来我店里检查了五次，每次都没有通知书。",
]


class Chaos:
    """Fails AWS calls at random with a fixed seed: before a call (an error, or the function dying) and after
    it (the function dying with the call done)."""

    def __init__(self, seed: int, rate: float) -> None:
        self.random = random.Random(seed)
        self.rate = rate
        self.injected: Counter = Counter()

    def before(self, model: Any, **_: Any) -> None:
        roll = self.random.random()
        if roll >= self.rate:
            return
        operation = model.name
        self.injected[operation] += 1
        if roll < self.rate / 4:
            raise FunctionKilled
        if operation == "TransactWriteItems":
            reasons = [{"Code": self.random.choice(["TransactionConflict", "ThrottlingError"])}]
            error = {"Error": {"Code": "TransactionCanceledException", "Message": "chaos"}}
            raise ClientError({**error, "CancellationReasons": reasons}, operation)
        code = {"dynamodb": "ProvisionedThroughputExceededException", "sqs": "ServiceUnavailable"}.get(
            model.service_model.endpoint_prefix, "SlowDown"
        )
        raise ClientError({"Error": {"Code": code, "Message": "chaos"}}, operation)

    def after(self, model: Any, **_: Any) -> None:
        if self.random.random() < self.rate / 4:
            self.injected[f"{model.name} then died"] += 1
            raise FunctionKilled


@pytest.fixture
def chaos(aws: Settings) -> Any:
    made = Chaos(SEED, rate=0.12)
    clients = [client(name) for name in ("dynamodb", "sqs", "s3")]
    for made_client in clients:
        made_client.meta.events.register("before-call.*.*", made.before, unique_id="chaos-before")
        made_client.meta.events.register("after-call.*.*", made.after, unique_id="chaos-after")
    yield made
    for made_client in clients:
        made_client.meta.events.unregister("before-call.*.*", unique_id="chaos-before")
        made_client.meta.events.unregister("after-call.*.*", unique_id="chaos-after")


def until_done(work: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
    """A client (or SQS) retrying one piece of work that may fail or die, as many times as it takes."""
    for _ in range(ATTEMPTS):
        try:
            result = work()
        except (Exception, FunctionKilled):
            continue
        if done(result):
            return result
    pytest.fail("never done: more failures in a row than the chaos rate makes likely")


class Phones:
    def __init__(self) -> None:
        self.sent: Counter = Counter()

    def send(self, phone: str, sms: Sms) -> str:
        self.sent[(phone, sms.kind, sms.values.get("tracking_no"))] += 1
        return f"provider-{sum(self.sent.values())}"


def drain(settings: Settings, phones: Phones, rounds: int) -> None:
    """Lambda's event source mappings: each batch handled by the consumer the function runs, the messages it did
    not report failed deleted, the rest delivered again at once (the lease is over), or all of them when the
    function died; the dead letters redriven, the sweeps on their schedules."""
    mail = mail_sender(settings)
    handlers: dict[str, Callable[[dict[str, Envelope]], set[str]]] = {
        settings.intake_queue: lambda messages: router.route_batch(settings, messages),
        settings.events_queue: lambda messages: stats.count_events(settings, messages),
        settings.notify_queue: lambda messages: notifications.send_notifications(settings, messages, phones, mail),
    }
    sqs = client("sqs")
    for _ in range(rounds):
        for queue, handle in handlers.items():
            try:
                url = queues.queue_url(queue)
                received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
                batch = {message["MessageId"]: message for message in received.get("Messages", [])}
                if not batch:
                    continue
                failed = handle({key: Envelope.model_validate_json(m["Body"]) for key, m in batch.items()})
                for message_id in batch.keys() - failed:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=batch[message_id]["ReceiptHandle"])
            except (Exception, FunctionKilled):
                pass  # what is not deleted SQS delivers again (or, after five receives, dead-letters it)
        later = datetime.now(UTC) + timedelta(hours=1)
        with contextlib.suppress(Exception, FunctionKilled):
            reminders.sweep_unrouted(settings, later)
        with contextlib.suppress(Exception, FunctionKilled):
            outbox.sweep(settings, later)


def waiting(settings: Settings) -> int:
    sqs = client("sqs")
    total = 0
    for queue in (settings.intake_queue, settings.events_queue, settings.notify_queue):
        for name in (queue, f"{queue}-dlq"):
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            total += int(attributes["Attributes"]["ApproximateNumberOfMessages"])
    return total


def test_the_invariants_hold_under_random_failures_and_kills(aws: Settings, chaos: Chaos) -> None:
    # given settings under which a retry always finds the dead attempt's lease over, and generous rate limits
    settings = aws.model_copy(update={"delivery_lease_seconds": 0, "submissions_per_ip_per_hour": 10_000})
    phones = Phones()
    # when complaints are submitted with idempotency keys, each retried by its client until acknowledged
    acknowledged: dict[str, str] = {}
    for index in range(COMPLAINTS):
        body = {"description": TEXTS[index % len(TEXTS)], "complainant": {"phone": f"139{index:08d}"}}
        raw = json.dumps(body, ensure_ascii=False).encode()
        answer = until_done(
            lambda raw=raw, index=index: submit_complaint(settings, raw, "application/json", f"chaos-{index}"),
            lambda answer: answer.status == 201,
        )
        acknowledged[f"chaos-{index}"] = answer.body["tracking_no"]
    # and the queues are worked while failures go on
    drain(settings, phones, rounds=30)
    # and the county legal office accepts every routed case, retrying as its console would
    store = CaseStore(aws)
    for number in acknowledged.values():

        def accept(number: str = number) -> Any:
            case = store.get(number)
            if case is None or case.status != Status.routed:
                return case
            body = json.dumps({"version": case.version}).encode()
            return cases_api.act(settings, FZB, number, "accept", body)

        until_done(accept, lambda result: result is not None)
    drain(settings, phones, rounds=30)
    # and the failures stop, the dead letters are redriven and everything is drained
    chaos.rate = 0.0
    for queue in (settings.intake_queue, settings.events_queue, settings.notify_queue):
        redrive(queue)
    drain(settings, phones, rounds=10)
    assert sum(chaos.injected.values()) > 20, chaos.injected  # the chaos did happen
    # then every acknowledged complaint exists exactly once, routed and accepted
    cases = [case for status in Status for case in store.by_status(status)]
    assert sorted(case.tracking_no for case in cases) == sorted(acknowledged.values())
    assert {case.status for case in cases} == {Status.accepted}
    # and every complainant was told of the acceptance; a notice went out again only where the record of its send
    # failed after the provider took it (an UpdateItem refused, or the function dying there)
    told = Counter(number for (_, kind, number), times in phones.sent.items() if kind.startswith("accept"))
    assert set(told) == set(acknowledged.values()), phones.sent
    repeated = sum(times - 1 for times in phones.sent.values())
    assert repeated <= chaos.injected["UpdateItem"] + chaos.injected["UpdateItem then died"]
    # and the counters equal a recount
    assert stats.rebuild(aws, write=False).differences == []
    # and nothing is stuck: no message waiting or dead, no outbox item, no claim in progress
    assert waiting(aws) == 0
    assert list(store.outbox_before(datetime.now(UTC) + timedelta(days=1))) == []
    keys = client("dynamodb").scan(TableName=aws.idempotency_table)["Items"]  # a test may look at everything
    assert [item["key"]["S"] for item in keys if item.get("state", {}).get("S") in ("in_progress", "sending")] == []
