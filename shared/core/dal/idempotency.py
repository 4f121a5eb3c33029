"""The idempotency table: answers remembered per Idempotency-Key, and the rate-limit counters."""

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.core.aws import client
from shared.core.dal.items import from_item, is_condition_failure, to_item, write_if
from shared.core.settings import Settings


class IdempotencyStore:
    """Remembers the answer given to a request that carried an Idempotency-Key."""

    def __init__(self, settings: Settings) -> None:
        self._table = settings.idempotency_table
        self._ttl = settings.idempotency_ttl_seconds

    def claim(self, key: str, fingerprint: str, now: datetime) -> dict[str, Any] | None:
        """Claim the key for a new request; if someone already has it, return their record instead."""
        record = {
            "key": key,
            "fingerprint": fingerprint,
            "state": "in_progress",
            "expires_at": int(now.timestamp()) + self._ttl,
        }
        try:
            client("dynamodb").put_item(
                TableName=self._table,
                Item=to_item(record),
                # An expired record may linger: DynamoDB deletes TTL items lazily.
                ConditionExpression="attribute_not_exists(#key) OR expires_at < :now",
                ExpressionAttributeNames={"#key": "key"},
                ExpressionAttributeValues=to_item({":now": int(now.timestamp())}),
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            item = client("dynamodb").get_item(TableName=self._table, Key=to_item({"key": key}), ConsistentRead=True)
            return from_item(item.get("Item", {})) or None
        return None

    def complete(self, key: str, status: int, body: dict[str, Any]) -> None:
        client("dynamodb").update_item(
            TableName=self._table,
            Key=to_item({"key": key}),
            UpdateExpression="SET #state = :done, response_status = :status, response_body = :body",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=to_item({":done": "complete", ":status": status, ":body": body}),
        )

    def release(self, key: str) -> None:
        client("dynamodb").delete_item(TableName=self._table, Key=to_item({"key": key}))


class SeenStore:
    """When a provider's message id was first seen, kept far longer than the answers (the whole campaign)."""

    def __init__(self, settings: Settings) -> None:
        self._table = settings.idempotency_table

    def first_seen(self, key: str, now: datetime, expires_at: int) -> datetime:
        """Record `now` for a new key; the time recorded first for a known one."""
        item = {"key": key, "seen_at": now.isoformat(), "expires_at": expires_at}
        if write_if(
            "put_item",
            TableName=self._table,
            Item=to_item(item),
            ConditionExpression="attribute_not_exists(#k)",
            ExpressionAttributeNames={"#k": "key"},
        ):
            return now
        stored = client("dynamodb").get_item(TableName=self._table, Key=to_item({"key": key}), ConsistentRead=True)
        return datetime.fromisoformat(from_item(stored["Item"])["seen_at"])


class RateLimitStore:
    """Fixed-window counters: at most `limit` hits per subject per window."""

    def __init__(self, settings: Settings) -> None:
        self._table = settings.idempotency_table

    def hit(self, key: str, limit: int, expires_at: int) -> bool:
        """Count one hit; False (and nothing counted) when the window is already full."""
        return write_if(
            "update_item",
            TableName=self._table,
            Key=to_item({"key": key}),
            UpdateExpression="ADD hits :one SET expires_at = :expires",
            ConditionExpression="attribute_not_exists(hits) OR hits < :limit",
            ExpressionAttributeValues=to_item({":one": 1, ":limit": limit, ":expires": expires_at}),
        )
