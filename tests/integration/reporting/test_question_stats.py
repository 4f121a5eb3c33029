"""Questions (咨询) in the statistics, against moto: received, answered and answered on time per department,
counted apart from complaints, through the real intake, routing, workflow and reporting consumer."""

import json
from datetime import timedelta

import pytest
from chalice.test import Client

from shared.core import queues
from shared.core.auth import Principal, Role
from shared.core.aws import client
from shared.core.messages import Envelope
from shared.core.settings import Settings
from shared.intake.complaints import submit_complaint
from shared.reporting import stats
from shared.routing import router
from tests.support import load_service, receive_all
from tests.support_cases import RECEIVED, act, complaint, deliver_events

WEEK = "week:2026-W21"
OFFICER = Principal(subject="jjdd-1", name="交警法制员", role=Role.dept_officer, department="JJDD")


@pytest.fixture
def consumer(aws: Settings):
    with Client(load_service("reporting").app) as test_client:
        yield test_client.lambda_


def question(settings: Settings, text: str, minutes: int) -> str:
    body = json.dumps({"kind": "question", "description": text}, ensure_ascii=False).encode()
    answer = submit_complaint(settings, body, "application/json", None, now=RECEIVED + timedelta(minutes=minutes))
    message = receive_all(queues.queue_url(settings.intake_queue), client("sqs"))[-1]["Body"]
    router.route_complaint(settings, Envelope.model_validate_json(message), now=RECEIVED + timedelta(hours=1))
    return str(answer.body["tracking_no"])


def test_questions_are_counted_per_department_apart_from_complaints(consumer, aws: Settings) -> None:
    # given a complaint about the traffic police, and three questions for them: one answered within the answer
    # deadline (5 working days), one answered late, one not answered yet
    complaint(aws, 0)
    on_time = question(aws, "请问交警大队处理交通违法，被扣分后多久可以申请复议？", 1)
    late = question(aws, "请问交警大队的罚款可以在网上缴纳吗？需要什么手续？", 2)
    question(aws, "请问交警大队办理驾驶证换证需要什么材料？", 3)
    act(aws, on_time, "answer", RECEIVED + timedelta(days=2), OFFICER, answer="自知道之日起六十日内。")
    act(aws, late, "answer", RECEIVED + timedelta(days=20), OFFICER, answer="可以在网上缴纳。")
    # when the case events are counted
    deliver_events(aws, consumer)
    # then the traffic police's row has one complaint received and three questions, two answered, one on time
    [row] = stats.department_rows(aws, WEEK, ["JJDD"])
    assert (row.received, row.questions_received, row.questions_answered, row.questions_answered_on_time) == (
        1,
        3,
        2,
        1,
    )
    # and the complaint figures do not count the questions: closed, categories and channels are the complaint's
    assert row.closed == 0 and sum(row.by_category.values()) == 1 and sum(row.by_channel.values()) == 1
