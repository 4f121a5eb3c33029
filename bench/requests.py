"""AWS requests counted by service and operation, with botocore hooks on the code's own clients; DynamoDB's request
units estimated from each request's parameters (items up to 1 KB written, 4 KB read: a lower bound)."""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Every service the functions call (shared/core/aws.py makes one client each, cached for the process).
SERVICES = ("dynamodb", "s3", "sqs", "sns", "ses", "secretsmanager")


class RequestCounter:
    """Counts each request made through `shared.core.aws.client`; call after moto started (the clients it patches)."""

    def __init__(self) -> None:
        from shared.core.aws import client

        self.counts: Counter[tuple[str, str]] = Counter()
        self.units = {"write": 0.0, "read": 0.0}  # request units of DynamoDB
        self.counting = True
        for service in SERVICES:
            client(service).meta.events.register(f"before-call.{service}", self._count)
        client("dynamodb").meta.events.register("before-parameter-build.dynamodb", self._units)

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
        self.counts[(service, operation)] += 1

    def _units(self, event_name: str, params: dict[str, Any], **kwargs: Any) -> None:
        if not self.counting:
            return
        operation = event_name.rsplit(".", 1)[-1]
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            self.units["write"] += 1
        elif operation == "TransactWriteItems":
            self.units["write"] += 2 * len(params["TransactItems"])  # a transactional write costs two
        elif operation == "BatchWriteItem":
            self.units["write"] += sum(len(requests) for requests in params["RequestItems"].values())
        elif operation == "GetItem":
            self.units["read"] += 1 if params.get("ConsistentRead") else 0.5
        elif operation == "BatchGetItem":
            self.units["read"] += sum(len(table["Keys"]) for table in params["RequestItems"].values())
        elif operation == "TransactGetItems":
            self.units["read"] += 2 * len(params["TransactItems"])
        elif operation in ("Query", "Scan"):
            self.units["read"] += 1  # one page of up to 4 KB at least

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
