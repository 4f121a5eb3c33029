"""The process environment of the in-process benchmarks: moto in memory, never a real account."""

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def use_moto_in_process() -> None:
    """Dummy credentials, no endpoint override, quiet logs; call before importing the code under test."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)


def cases_table(settings: Any) -> Any:
    """moto's in-process table of the cases (mock_aws started), in the region of the code's DynamoDB client: for
    `put_straight`."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from shared.core.aws import client

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][client("dynamodb").meta.region_name].get_table(settings.cases_table)


def put_straight(table: Any, item: dict[str, Any]) -> None:
    """Write an item (typed attribute values, as shared/core/dal/ builds them) straight into moto's in-process table:
    what its put_item ends with, minus its checks, whose item-size bookkeeping costs more than a millisecond an
    item. For seeding many items without a request."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    key, sort = DynamoType(item["pk"]), DynamoType(item["sk"])
    stored = Item(key, sort, {})
    dict.update(stored.attrs, {name: DynamoType(value) for name, value in item.items()})
    table.items[key][sort] = stored


@contextmanager
def round_trips(milliseconds: float) -> Iterator[None]:
    """Every DynamoDB request of the code's client waits `milliseconds` first, as a round trip in region does (moto
    in memory answers at once). The wait lets other threads run, so reads sent together wait together."""
    from shared.core.aws import client

    def wait(**kwargs: Any) -> None:
        time.sleep(milliseconds / 1000)

    events = client("dynamodb").meta.events
    events.register("before-call.dynamodb", wait, unique_id="bench-round-trip")
    try:
        yield
    finally:
        events.unregister("before-call.dynamodb", unique_id="bench-round-trip")
