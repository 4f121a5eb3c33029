"""AWS requests counted by service and operation, with botocore `before-call` hooks on the code's own clients."""

from collections import Counter
from typing import Any

# Every service the functions call (shared/core/aws.py makes one client each, cached for the process).
SERVICES = ("dynamodb", "s3", "sqs", "sns", "ses", "secretsmanager")


class RequestCounter:
    """Counts each request made through `shared.core.aws.client`; call after moto started (the clients it patches)."""

    def __init__(self) -> None:
        from shared.core.aws import client

        self.counts: Counter[tuple[str, str]] = Counter()
        for service in SERVICES:
            client(service).meta.events.register(f"before-call.{service}", self._count)

    def _count(self, event_name: str, **kwargs: Any) -> None:
        _, service, operation = event_name.split(".")
        self.counts[(service, operation)] += 1

    def reset(self) -> None:
        self.counts.clear()

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
