"""Statistics counted exactly once from the case events, against moto: cases routed and worked through the real
functions, their events fed to the reporting consumer with duplicates, redeliveries, out-of-order delivery and
two racing batches; the counters equal what happened, `rebuild-stats` agrees, and repairs a corrupted counter."""

import json
import random
import threading
from collections import Counter
from datetime import timedelta

import pytest
from chalice.test import Client

from infra import cli
from shared.core.auth import Principal, Role
from shared.core.aws import client
from shared.core.dal.cases import CaseStore
from shared.core.dal.stats import StatsStore
from shared.core.messages import Envelope
from shared.core.models import Contribution, Status
from shared.core.settings import Settings
from shared.reporting import periods, stats
from shared.routing import reminders
from tests.support import load_service, requests_made, sqs_event
from tests.support_cases import RECEIVED, act, complaint, deliver, events

PHASE, WEEK = "phase:2026:2", "week:2026-W21"


@pytest.fixture
def consumer(aws: Settings):
    with Client(load_service("reporting").app) as test_client:
        yield test_client.lambda_


def totals(settings: Settings, period: str) -> Counter:
    summed: Counter = Counter()
    for row in stats.department_rows(settings, period):
        summed.update({name: getattr(row, name) for name in stats.COUNTERS})
    return summed


def test_counters_equal_what_happened_whatever_the_delivery_and_rebuild_agrees(consumer, aws: Settings) -> None:
    # given 20 complaints routed, and the first ten routing events counted once
    numbers = [complaint(aws, index) for index in range(20)]
    routed_events = events(aws)
    assert deliver(consumer, routed_events[:10]) == []
    departments = {number: CaseStore(aws).get(number).department for number in numbers}
    # when they are worked: 12 accepted (2 late), one not accepted, one transferred and arbitrated, one merged,
    # four decided (persons held accountable 2 + 1), three replied and closed (one replied late), one typical
    day = RECEIVED + timedelta(days=1)
    for number in numbers[:10]:
        act(aws, number, "accept", day)
    for number in numbers[10:12]:
        act(aws, number, "accept", RECEIVED + timedelta(days=20))
    act(aws, numbers[12], "not_accept", day, reason="不属于行政执法投诉")
    officer = Principal(subject="o-1", name="承办人", role=Role.dept_officer, department=departments[numbers[13]])
    act(aws, numbers[13], "transfer", day, officer, reason="非本部门职责")
    act(aws, numbers[13], "arbitrate", day, department="SCJG")
    act(aws, numbers[14], "merge", day, into=numbers[0])
    decisions = [
        {"finding": "substantiated", "measures": ["correct", "hold_accountable"], "accountable_persons": 2},
        {"finding": "partly", "measures": ["order_rectification"]},
        {"finding": "unsubstantiated", "measures": []},
        {"finding": "substantiated", "measures": ["hold_accountable"]},
    ]
    for number, decision in zip(numbers[:4], decisions, strict=True):
        act(aws, number, "start_investigation", day)
        act(aws, number, "decide", day + timedelta(days=5), summary="经调查核实", **decision)
    act(aws, numbers[0], "reply", day + timedelta(days=6), message="已纠正并追责")
    act(aws, numbers[0], "start_rectification", day + timedelta(days=6))
    act(aws, numbers[0], "verify_rectification", day + timedelta(days=9))
    act(aws, numbers[2], "reply", day + timedelta(days=6), message="经查不属实")
    act(aws, numbers[2], "close", day + timedelta(days=7))
    act(aws, numbers[3], "reply", day + timedelta(days=70), message="已追责")
    act(aws, numbers[3], "close", day + timedelta(days=71))
    act(aws, numbers[2], "mark_typical", day + timedelta(days=8), kind="positive")
    later = events(aws)
    # and every event not counted yet is delivered twice, by two batches racing each other in shuffled orders
    pending = later + routed_events[10:]
    batches = [random.Random(seed).sample(pending, len(pending)) for seed in (1, 2)]
    results: list[list[str]] = [[], []]
    racers = [threading.Thread(target=lambda i=i: results[i].extend(deliver(consumer, batches[i]))) for i in (0, 1)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    failed = results[0] + results[1]
    for _ in range(3):  # what a racing consumer lost is delivered again by SQS, as here
        failed = deliver(consumer, failed)
    # and then again newest first, and the routing events (older than the cases now) once more
    failed += deliver(consumer, list(reversed(later[-10:])) + routed_events[:10])
    assert failed == []

    # then the figures of the phase and the week are what happened, the merged duplicate left out
    for period in (PHASE, WEEK, "campaign:2026", "month:2026-05", "year:2026"):
        figures = totals(aws, period)
        assert figures["received"] == 19
        assert (figures["accepted"], figures["accepted_on_time"], figures["not_accepted"]) == (12, 10, 1)
        assert (figures["closed"], figures["closed_on_time"], figures["overdue"]) == (3, 2, 3)
        assert (figures["substantiated"], figures["partly_substantiated"], figures["unsubstantiated"]) == (2, 1, 1)
        assert (figures["corrected"], figures["rectification_ordered"], figures["held_accountable"]) == (1, 1, 3)
        assert (figures["transferred"], figures["typical_positive"], figures["escalations"]) == (1, 1, 0)
    rows = {row.department: row for row in stats.department_rows(aws, PHASE)}
    assert rows[departments[numbers[13]]].transferred == 1 and rows["SCJG"].received >= 1
    assert sum(sum(row.by_channel.values()) for row in rows.values()) == 19
    assert sum(sum(row.by_category.values()) for row in rows.values()) == 19
    assert stats.weekly(aws, RECEIVED.date(), RECEIVED.date())[0].received == 19
    week = stats.weekly(aws, RECEIVED.date(), RECEIVED.date(), "SCJG")[0]
    assert (week.received, week.closed) == (rows["SCJG"].received, rows["SCJG"].closed)
    # and the hotspot clusters of the day hold every case but the merged one, once
    clusters = StatsStore(aws).clusters(RECEIVED.date().isoformat())
    in_deptcat = [case for key, (_, cases) in clusters.items() if key.startswith("deptcat:") for case in cases]
    assert sorted(in_deptcat) == sorted(numbers[:14] + numbers[15:])
    assert all(count == len(cases) for count, cases in clusters.values())
    # and a recount from the cases agrees with every live item
    check = stats.rebuild(aws, write=False)
    assert check.cases_read == 20 and check.items_compared > 20 and check.differences == []


def test_rebuild_repairs_a_corrupted_counter(consumer, aws: Settings, capsys) -> None:
    # given three cases counted live, then one counter changed by hand
    numbers = [complaint(aws, index) for index in range(3)]
    act(aws, numbers[0], "accept", RECEIVED + timedelta(days=1))
    assert deliver(consumer, events(aws)) == []
    department = CaseStore(aws).get(numbers[0]).department
    client("dynamodb").update_item(
        TableName=aws.cases_table,
        Key={"pk": {"S": f"STATS#{WEEK}"}, "sk": {"S": f"DEPT#{department}"}},
        UpdateExpression="ADD accepted :five",
        ExpressionAttributeValues={":five": {"N": "5"}},
    )
    # when `hotspot rebuild-stats --check` runs
    assert cli.main(["rebuild-stats", "--check", "--aws"]) == 1
    # then it reports that counter and writes nothing
    printed = capsys.readouterr().out
    assert f"STATS#{WEEK} DEPT#{department}: accepted live 6 rebuilt 1" in printed
    assert "differences 1" in printed
    # when it runs to repair
    assert cli.main(["rebuild-stats", "--aws"]) == 0
    # then the counter is right again and a second check finds nothing
    assert StatsStore(aws).period_rows(WEEK)[department]["accepted"] == 1
    assert stats.rebuild(aws, write=False).differences == []


def test_a_failed_record_is_reported_as_a_batch_item_failure(consumer, aws: Settings) -> None:
    # given an event of a stored case and one of a case that does not exist
    number = complaint(aws, 0)
    good = events(aws)[0]
    missing = Envelope.model_validate_json(good).model_copy(update={"data": {"tracking_no": "ZF000000000000"}})
    # when both come in one batch
    answer = consumer.invoke("count_case_events", sqs_event([good, missing.model_dump_json()])).payload
    # then only the second is reported failed (SQS retries it, then dead-letters it), the first is counted
    assert answer == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}
    assert StatsStore(aws).contribution(number).version == CaseStore(aws).get(number).version
    # and an event that names no case fails alone too
    nameless = Envelope.model_validate_json(good).model_copy(update={"data": {}})
    answer = consumer.invoke("count_case_events", sqs_event([nameless.model_dump_json(), good])).payload
    assert answer == {"batchItemFailures": [{"itemIdentifier": "msg-0"}]}


def test_a_batch_counts_each_case_once_from_two_batch_reads(consumer, aws: Settings) -> None:
    # given three routed complaints, then accepted: each case's routing and acceptance events
    numbers = [complaint(aws, index) for index in range(3)]
    routed = events(aws)
    for number in numbers:
        act(aws, number, "accept", RECEIVED + timedelta(days=1))
    accepted = events(aws)
    # when all six events come in one batch, an acceptance before its routing
    with requests_made("dynamodb") as made:
        answer = consumer.invoke("count_case_events", sqs_event([accepted[0], *routed, *accepted[1:]])).payload
    # then none fails; the cases and their contributions are read in one BatchGetItem each, no GetItem, and each
    # case is counted once, in one transaction, at the version it has now
    assert answer == {"batchItemFailures": []}
    assert Counter(operation for operation, _ in made) == {"dynamodb.BatchGetItem": 2, "dynamodb.TransactWriteItems": 3}
    assert all(StatsStore(aws).contribution(n).version == CaseStore(aws).get(n).version for n in numbers)
    # and the counters equal a recount
    assert totals(aws, WEEK)["accepted"] == 3
    assert stats.rebuild(aws, write=False).differences == []


def test_a_contribution_stored_as_text_is_read_and_stored_packed_when_counted_again(consumer, aws: Settings) -> None:
    # given a routed complaint counted, its contribution's counts stored as JSON text, as before they were packed
    number = complaint(aws, 0)
    assert deliver(consumer, events(aws)) == []
    key = {"pk": {"S": f"CASE#{number}"}, "sk": {"S": "STATS"}}
    stored = client("dynamodb").get_item(TableName=aws.cases_table, Key=key)["Item"]
    assert "B" in stored["counts"]  # packed as written now
    text = json.dumps([[*k, amount] for k, amount in sorted(StatsStore(aws).contribution(number).counts.items())])
    client("dynamodb").put_item(TableName=aws.cases_table, Item={**stored, "counts": {"S": text}})
    # when the case is accepted and its event counted
    act(aws, number, "accept", RECEIVED + timedelta(days=1))
    assert deliver(consumer, events(aws)) == []
    # then the counters equal a recount (the text was read and taken off), and the contribution is stored packed
    assert totals(aws, WEEK)["accepted"] == 1
    assert stats.rebuild(aws, write=False).differences == []
    assert "B" in client("dynamodb").get_item(TableName=aws.cases_table, Key=key)["Item"]["counts"]


def test_an_escalation_from_the_reminders_is_announced_and_counted(consumer, aws: Settings) -> None:
    # given a routed case, counted, whose acceptance deadline passes without a decision
    number = complaint(aws, 0)
    assert deliver(consumer, events(aws)) == []
    assert totals(aws, WEEK)["escalations"] == 0
    # when the reminder run escalates it (10:00 local, 20 days after receipt)
    reminders.remind_deadlines(aws, now=RECEIVED + timedelta(days=20))
    case = CaseStore(aws).get(number)
    assert case.escalated_at is not None
    # then a case event of the escalated version is queued, and once consumed the case counts as escalated
    announced = events(aws)
    assert [Envelope.model_validate_json(body).id for body in announced] == [f"{number}:v{case.version}"]
    assert deliver(consumer, announced) == []
    assert (totals(aws, WEEK)["escalations"], totals(aws, WEEK)["overdue"]) == (1, 1)
    assert case.status == Status.routed and periods.period(WEEK).start <= RECEIVED.date()


def test_two_consumers_counting_the_same_change_at_once_count_it_once(consumer, aws: Settings, monkeypatch) -> None:
    # given a case accepted after its routing was counted, and its event delivered to two consumers at once,
    # both reading the stored contribution before either writes (a barrier holds each before its transaction)
    number = complaint(aws, 0)
    assert deliver(consumer, events(aws)) == []
    act(aws, number, "accept", RECEIVED + timedelta(days=1))
    [event] = events(aws)
    barrier, apply = threading.Barrier(2, timeout=10), StatsStore.apply

    def apply_together(self: StatsStore, old: Contribution | None, new: Contribution) -> bool:
        barrier.wait()
        return apply(self, old, new)

    monkeypatch.setattr(StatsStore, "apply", apply_together)
    answers: list[dict] = []
    racers = [
        threading.Thread(
            target=lambda: answers.append(consumer.invoke("count_case_events", sqs_event([event])).payload)
        )
        for _ in range(2)
    ]
    # when both count it
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    # then neither reports a failure (the loser finds the version counted) and the acceptance counts once
    assert answers == [{"batchItemFailures": []}] * 2
    assert (totals(aws, WEEK)["accepted"], totals(aws, WEEK)["received"]) == (1, 1)
