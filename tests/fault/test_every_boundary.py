"""A JSON submission killed at each of its AWS calls in turn, before the call and after it: whatever the point,
the client's retry with the same Idempotency-Key ends with one complaint, routed, and the same tracking number
for every answer it gets."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.core import queues
from shared.core.aws import client
from shared.core.dal.cases import CaseStore
from shared.core.messages import Envelope
from shared.core.models import Status
from shared.core.settings import Settings
from shared.intake.complaints import submit_complaint
from shared.routing import reminders, router
from tests.fault.conftest import FunctionKilled
from tests.support import receive_all

BODY = json.dumps({"description": "城管没收我的三轮车，也不给任何手续。"}, ensure_ascii=False).encode()
SERVICES = ("dynamodb", "sqs", "s3")


@contextmanager
def killed_at(boundary: int | None) -> Iterator[list[str]]:
    """Count the AWS calls made inside; with `boundary` b, the function dies before call b//2 (b even) or right
    after it (b odd). Yields the operations called."""
    calls: list[str] = []

    def before(model: Any, **_: Any) -> None:
        calls.append(model.name)
        if boundary == 2 * (len(calls) - 1):
            raise FunctionKilled

    def after(model: Any, **_: Any) -> None:
        if boundary == 2 * (len(calls) - 1) + 1:
            raise FunctionKilled

    for name in SERVICES:
        client(name).meta.events.register("before-call.*.*", before, unique_id="boundary-before")
        client(name).meta.events.register("after-call.*.*", after, unique_id="boundary-after")
    try:
        yield calls
    finally:
        for name in SERVICES:
            client(name).meta.events.unregister("before-call.*.*", unique_id="boundary-before")
            client(name).meta.events.unregister("after-call.*.*", unique_id="boundary-after")


def test_a_submission_killed_at_any_boundary_ends_as_one_routed_complaint(aws: Settings, lease_over: Settings) -> None:
    # given the AWS calls one submission makes (once the queue's address is known, as in a warm function)
    assert submit_complaint(lease_over, BODY, "application/json", "warm-up").status == 201
    with killed_at(None) as calls:
        assert submit_complaint(lease_over, BODY, "application/json", "count-calls").status == 201
    boundaries = 2 * len(calls)
    answers: dict[str, set[str]] = {}
    for boundary in range(boundaries):
        key = f"boundary-{boundary}"
        # when a submission dies at that boundary
        with killed_at(boundary), pytest.raises(FunctionKilled):
            submit_complaint(lease_over, BODY, "application/json", key)
        # and its client retries, twice, with the same key
        retries = [submit_complaint(lease_over, BODY, "application/json", key) for _ in range(2)]
        answers[key] = {answer.body["tracking_no"] for answer in retries}
        assert [answer.status for answer in retries] == [201, 201], (boundary, calls)
    # and the queues are worked and the unrouted sweep runs
    for body in receive_all(queues.queue_url(aws.intake_queue), client("sqs")):
        router.route_complaint(aws, Envelope.model_validate_json(body["Body"]))
    reminders.sweep_unrouted(aws, datetime.now(UTC) + timedelta(hours=1))  # the sweep, once they are stranded
    for body in receive_all(queues.queue_url(aws.intake_queue), client("sqs")):
        router.route_complaint(aws, Envelope.model_validate_json(body["Body"]))
    # then every key got one tracking number, each stored once and routed
    assert all(len(numbers) == 1 for numbers in answers.values()), answers
    stored = [case for status in Status for case in CaseStore(aws).by_status(status)]
    numbers = [case.tracking_no for case in stored if case.tracking_no in set().union(*answers.values())]
    assert sorted(numbers) == sorted(set().union(*answers.values()))
    assert {case.status for case in stored} == {Status.routed}
