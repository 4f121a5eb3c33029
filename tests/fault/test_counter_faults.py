"""Statistics counters under concurrent consumers: DynamoDB cancels concurrent transactions on one item
(TransactionConflict) and throttles hot partitions; the count retries them with backoff instead of failing the
event toward the dead-letter queue, and a department's counters are spread over shards, so that its cases do
not all update one item. Exactly once still holds: the counters equal a recount."""

from collections import Counter

import pytest
from botocore.exceptions import ClientError

from shared.core.aws import client
from shared.core.dal.cases import CaseStore
from shared.core.dal.items import to_item
from shared.core.messages import Envelope
from shared.core.settings import Settings
from shared.reporting import stats
from tests.support_cases import complaint, events

WEEK = "week:2026-W21"


def cancelled(reason: str) -> ClientError:
    reasons = [{"Code": reason}, {"Code": "None"}]
    return ClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": reason}, "CancellationReasons": reasons},
        "TransactWriteItems",
    )


@pytest.fixture
def contended(monkeypatch: pytest.MonkeyPatch, aws: Settings) -> Counter:
    """The next transactions are cancelled as DynamoDB cancels them under contention: conflict, throttling."""
    dynamodb = client("dynamodb")
    real = dynamodb.transact_write_items
    injected = iter(["TransactionConflict", "ThrottlingError", "TransactionConflict"])
    seen: Counter = Counter()

    def transact(**request):  # type: ignore[no-untyped-def]
        reason = next(injected, None)
        seen["calls"] += 1
        if reason:
            seen[reason] += 1
            raise cancelled(reason)
        return real(**request)

    monkeypatch.setattr(dynamodb, "transact_write_items", transact)
    monkeypatch.setattr("shared.core.dal.items.BACKOFF_SECONDS", 0.001)
    return seen


def test_a_count_cancelled_by_contention_is_retried_and_counted_once(aws: Settings, contended: Counter) -> None:
    # given a routed complaint whose case event is to be counted
    number = complaint(aws, 0)
    [event] = events(aws)
    # when its transaction is cancelled by a conflict, then throttling, then a conflict again
    failed = stats.count_events(aws, {"m-0": Envelope.model_validate_json(event)})
    # then the count goes through on a later attempt (before: the event failed, five times, to the dead letters)
    assert failed == set() and contended["TransactionConflict"] == 2 and contended["ThrottlingError"] == 1
    # and the counters equal a recount
    assert stats.rebuild(aws, write=False).differences == []
    assert CaseStore(aws).get(number) is not None


def test_a_departments_cases_do_not_all_update_one_counter_item(aws: Settings) -> None:
    # given 16 complaints routed to departments and counted
    for index in range(16):
        complaint(aws, index)
    for body in events(aws):
        assert stats.count_events(aws, {"m-0": Envelope.model_validate_json(body)}) == set()
    # when the counter items of the week are listed by department
    items = client("dynamodb").query(
        TableName=aws.cases_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues=to_item({":pk": f"STATS#{WEEK}"}),
    )["Items"]
    per_department = Counter(item["sk"]["S"].removeprefix("DEPT#").partition("#")[0] for item in items)
    busiest = max(per_department, key=lambda department: per_department[department])
    # then the busiest department's counts are spread over several items, and the sums equal a recount
    assert per_department[busiest] > 1
    assert stats.rebuild(aws, write=False).differences == []
