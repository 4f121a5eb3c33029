"""AWS requests counted by service and operation, with botocore hooks on the code's own clients; DynamoDB's request
units from the sizes of the items each request reads or writes, as DynamoDB charges them: a write a unit per KB of
the larger of the item before and after it (two in a transaction), a read a unit per 4 KB of the item (half when
eventually consistent), a Query or Scan a unit per 4 KB of all the items it returns, whole (a projection does not
make it cheaper). The sizes are those of the items in moto's tables (in this process), by moto's reckoning of
DynamoDB's: names and values in bytes."""

import math
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Every service the functions call (shared/core/aws.py makes one client each, cached for the process).
SERVICES = ("dynamodb", "s3", "sqs", "sns", "ses", "secretsmanager")


class RequestCounter:
    """Counts each request made through `shared.core.aws.client`; call after moto started (the clients it patches)."""

    def __init__(self, with_units: bool = False) -> None:
        """`with_units`: DynamoDB's request units measured too (each write looks its items up before and after)."""
        from shared.core.aws import client

        self.counts: Counter[tuple[str, str]] = Counter()
        self.units = {"write": 0.0, "read": 0.0}  # request units of DynamoDB
        self.counting = True
        # The DynamoDB request each thread is making (a report sends its reads together from several): its
        # operation, parameters and the sizes of the items it writes, before.
        self._making = threading.local()
        self._lock = threading.Lock()
        for service in SERVICES:
            client(service).meta.events.register(f"before-call.{service}", self._count)
        dynamodb = client("dynamodb")
        self._region = dynamodb.meta.region_name
        if with_units:
            dynamodb.meta.events.register("before-parameter-build.dynamodb", self._before)
            dynamodb.meta.events.register("after-call.dynamodb", self._after)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Requests made inside the block are not counted (a baseline's, a bench's own housekeeping)."""
        self.counting = False
        try:
            yield
        finally:
            self.counting = True

    def _count(self, event_name: str, **kwargs: Any) -> None:
        if not self.counting:
            return
        _, service, operation = event_name.split(".")
        with self._lock:
            self.counts[(service, operation)] += 1

    def _before(self, event_name: str, params: dict[str, Any], **kwargs: Any) -> None:
        self._making.request = None
        if not self.counting:  # the items of an uncounted request are not looked up
            return
        operation = event_name.rsplit(".", 1)[-1]
        sizes = [self._size(table, key) for table, key, _ in _written(operation, params)]
        self._making.request = (operation, params, sizes)

    def _after(self, parsed: dict[str, Any], **kwargs: Any) -> None:
        request: tuple[str, dict[str, Any], list[int]] | None = getattr(self._making, "request", None)
        if request is None:
            return
        operation, params, before = request
        self._making.request = None
        with self._lock:
            self._add_units(operation, params, before, parsed)

    def _add_units(self, operation: str, params: dict[str, Any], before: list[int], parsed: dict[str, Any]) -> None:
        for (table, key, factor), size in zip(_written(operation, params), before, strict=True):
            self.units["write"] += factor * max(1, math.ceil(max(size, self._size(table, key)) / 1024))
        consistent = 1.0 if params.get("ConsistentRead") else 0.5
        if operation == "GetItem":
            self.units["read"] += consistent * _blocks(self._size(params["TableName"], params["Key"]))
        elif operation == "BatchGetItem":
            for table, request in params["RequestItems"].items():
                each = 1.0 if request.get("ConsistentRead") else 0.5
                self.units["read"] += sum(each * _blocks(self._size(table, key)) for key in request["Keys"])
        elif operation == "TransactGetItems":
            for entry in params["TransactItems"]:
                self.units["read"] += 2 * _blocks(self._size(entry["Get"]["TableName"], entry["Get"]["Key"]))
        elif operation in ("Query", "Scan"):
            returned = sum(self._size(params["TableName"], item) for item in parsed.get("Items", []))
            self.units["read"] += consistent * _blocks(returned)

    def _size(self, table_name: str, attributes: dict[str, Any]) -> int:
        """The size of the stored item whose key `attributes` hold (they may hold more), 0 when there is none."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends
        from moto.dynamodb.models.dynamo_type import DynamoType

        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][self._region].tables[table_name]
        if table.hash_key_attr not in attributes:
            return 0
        # By hash key: the item, or (a table with a sort key) the items by sort key.
        stored: Any = table.items.get(DynamoType(attributes[table.hash_key_attr]))
        if table.range_key_attr is not None:
            range_value = attributes.get(table.range_key_attr)
            stored = stored.get(DynamoType(range_value)) if stored and range_value else None
        return int(stored.size()) if stored else 0

    def reset(self) -> None:
        self.counts.clear()
        self.units = {"write": 0.0, "read": 0.0}

    def total(self, service: str | None = None, operation: str | None = None) -> int:
        return sum(
            number
            for (counted_service, counted_operation), number in self.counts.items()
            if service in (None, counted_service) and operation in (None, counted_operation)
        )

    def by_operation(self) -> str:
        """`dynamodb.GetItem 3, sqs.SendMessage 1, ...`, most frequent first."""
        return ", ".join(
            f"{service}.{operation} {number}" for (service, operation), number in self.counts.most_common()
        )


def _written(operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any], int]]:
    """(table, key attributes, units per KB) of each item a request writes."""
    if operation == "PutItem":
        return [(params["TableName"], params["Item"], 1)]
    if operation in ("UpdateItem", "DeleteItem"):
        return [(params["TableName"], params["Key"], 1)]
    if operation == "TransactWriteItems":  # a transactional write costs two (a condition check too)
        return [
            (entry["TableName"], entry.get("Key") or entry["Item"], 2)
            for entry in (next(iter(item.values())) for item in params["TransactItems"])
        ]
    if operation == "BatchWriteItem":
        return [
            (table, (request.get("PutRequest") or {}).get("Item") or request["DeleteRequest"]["Key"], 1)
            for table, requests in params["RequestItems"].items()
            for request in requests
        ]
    return []


def _blocks(size: int) -> int:
    """Read units of `size` bytes read: one per 4 KB, at least one."""
    return max(1, math.ceil(size / 4096))
