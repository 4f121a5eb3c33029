"""Scheduled runs under one bad item: the reminders run isolates each case (a failing one is logged, counted and
skipped), an unreadable stored case never stops a listing, and the sweeps are schedules of their own that an
earlier failure cannot stop."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from shared.core import queues
from shared.core.aws import client
from shared.core.dal.cases import CaseStore, due_shard
from shared.core.dal.items import to_item
from shared.core.settings import Settings
from shared.intake.complaints import submit_complaint
from shared.routing import reminders
from tests.integration.routing.test_reminders import a_case, local, queued
from tests.support import receive_all


def test_one_failing_case_does_not_stop_the_reminders_of_the_others(
    aws: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given two cases due today, the first of which cannot be reminded (its send fails)
    bad, good = a_case(aws, "ZF261001000001"), a_case(aws, "ZF261001000002")
    send_batch = queues.send_batch

    def failing_for_one(queue: str, messages) -> set[int]:  # type: ignore[no-untyped-def]
        if any(message.data.get("tracking_no") == bad for message in messages):
            return set(range(len(messages)))  # throttled: none of them sent
        return send_batch(queue, messages)

    monkeypatch.setattr(queues, "send_batch", failing_for_one)
    # when the reminders run on the due date
    summary = reminders.remind_deadlines(aws, now=local(10, 9, 9))
    # then it finishes, counting the failure, and the other case is reminded
    assert summary.failed == 1 and summary.due_today == 1
    assert [message.data["tracking_no"] for message in queued(aws)] == [good]


def test_an_unreadable_stored_case_is_skipped_not_fatal(aws: Settings) -> None:
    # given a due case and, in the same index partition, an item that no longer reads as a case
    good = a_case(aws, "ZF261001000002")
    stored = CaseStore(aws).get(good)
    assert stored is not None and stored.due_at is not None
    broken = {"pk": "CASE#ZF261001000009", "sk": "CASE", "status": "no-such-status"}
    broken |= {"gsi3pk": f"DUE#{due_shard(stored.due_at)}", "gsi3sk": f"{stored.due_at.isoformat()}#ZF261001000009"}
    client("dynamodb").put_item(TableName=aws.cases_table, Item=to_item(broken))
    # when the reminders run
    summary = reminders.remind_deadlines(aws, now=local(10, 9, 9))
    # then the readable case is reminded
    assert summary.due_today == 1 and [message.data["tracking_no"] for message in queued(aws)] == [good]


def test_the_unrouted_sweep_runs_whatever_the_reminders_run_did(aws: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a complaint stored an hour ago whose message was lost
    body = json.dumps({"description": "交警在路口查车罚款两百元，不开罚款收据。"}, ensure_ascii=False).encode()
    submit_complaint(aws, body, "application/json", None)
    receive_all(queues.queue_url(aws.intake_queue), client("sqs"))  # the message is lost
    # and a reminders run that fails outright (at 10:00 county time: in the quiet hours it reads no index)
    monkeypatch.setattr(reminders, "_cases_due", lambda *args: (_ for _ in ()).throw(RuntimeError("index gone")))
    with pytest.raises(RuntimeError):
        reminders.remind_deadlines(aws, now=datetime.now(UTC).replace(hour=2))
    # when the sweep's own schedule fires
    summary = reminders.sweep_unrouted(aws, datetime.now(UTC) + timedelta(hours=1))
    # then the complaint is queued again
    assert summary.swept == 1 and len(receive_all(queues.queue_url(aws.intake_queue), client("sqs"))) == 1


def test_a_case_overdue_longer_than_the_lookback_is_still_reminded_every_day(aws: Settings) -> None:
    # given a run that looks back three days, and a case overdue since 9 October
    short = aws.model_copy(update={"reminder_lookback_days": 3})
    number = a_case(aws, "ZF261001000003")
    # when the reminders run every morning for a week after the deadline
    reminded = []
    for day in range(10, 17):
        reminders.remind_deadlines(short, now=local(10, day, 9))
        reminded += [message.id.rsplit(":", 1)[-1] for message in queued(aws) if number in message.id]
    # then the case got its overdue reminder on each of those days (before: none once past the lookback)
    assert sorted(point for point in reminded if point.startswith("overdue-")) == [
        f"overdue-2026-10-{day:02d}" for day in range(10, 17)
    ]
