"""Cases worked through the real functions (intake, routing, workflow actions) and their events counted: the
common ground of the statistics, reporting and dashboard tests."""

import json
from datetime import datetime, timedelta
from typing import Any

from shared.core import queues
from shared.core.auth import Principal, Role
from shared.core.aws import client
from shared.core.dal.cases import CaseStore
from shared.core.messages import Envelope
from shared.core.reference_data import county_timezone
from shared.core.settings import Settings
from shared.intake.complaints import submit_complaint
from shared.routing import cases_api, router
from tests.support import receive_all, sqs_event

ZONE = county_timezone()
RECEIVED = datetime(2026, 5, 20, 10, 0, tzinfo=ZONE)  # Wednesday, week 21, the implementation phase
FZB = Principal(subject="fzb-1", name="法制办", role=Role.county_admin)
# (description, respondent): the traffic police twice, the city management bureau, tax, market regulation.
TEXTS = [
    ("交警在路口查车罚款两百元，不开罚款收据，让我直接把钱转到他个人手机上。", "县交警大队 二中队"),
    ("城管没收我的三轮车，也不给任何手续。", None),
    ("税务所乱收费，收了钱不给票据。", "县税务局"),
    ("市场监管局的人一个月来我店里检查了五次，每次都没有通知书。", "县市场监管局。"),
]


def complaint(settings: Settings, index: int, received_at: datetime = RECEIVED) -> str:
    """A complaint received and routed through the real functions; its tracking number."""
    text, respondent = TEXTS[index % len(TEXTS)]
    body = json.dumps({"description": text, "respondent": respondent}, ensure_ascii=False).encode()
    answer = submit_complaint(settings, body, "application/json", None, now=received_at + timedelta(minutes=index))
    message = receive_all(queues.queue_url(settings.intake_queue), client("sqs"))[-1]["Body"]
    router.route_complaint(settings, Envelope.model_validate_json(message), now=received_at + timedelta(hours=1))
    return str(answer.body["tracking_no"])


def act(settings: Settings, number: str, action: str, at: datetime, who: Principal = FZB, **fields: Any) -> None:
    """One workflow action on the case as it is now."""
    version = CaseStore(settings).get(number).version  # type: ignore[union-attr]
    body = json.dumps({"version": version, **fields}, ensure_ascii=False).encode()
    cases_api.act(settings, who, number, action, body, now=at)


def events(settings: Settings) -> list[str]:
    """Every message waiting on the events queue (taken off it)."""
    return [m["Body"] for m in receive_all(queues.queue_url(settings.events_queue), client("sqs"))]


def deliver(consumer: Any, bodies: list[str]) -> list[str]:
    """Feed the reporting consumer in batches of ten; the bodies it reported as failed."""
    failed = []
    for start in range(0, len(bodies), 10):
        batch = bodies[start : start + 10]
        answer = consumer.invoke("count_case_events", sqs_event(batch)).payload
        failed += [batch[int(item["itemIdentifier"].removeprefix("msg-"))] for item in answer["batchItemFailures"]]
    return failed


def deliver_events(settings: Settings, consumer: Any) -> None:
    """Count every case event waiting on the queue; all must succeed."""
    assert deliver(consumer, events(settings)) == []
