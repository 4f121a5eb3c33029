"""The idempotency table: answers remembered per Idempotency-Key, and the rate-limit counters."""

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.core.aws import client
from shared.core.dal.items import (
    Claim,
    claim_delivery,
    finish_delivery,
    from_item,
    to_item,
    transact,
    write_if,
)
from shared.core.settings import Settings


class IdempotencyStore:
    """Remembers the answer given to a request that carried an Idempotency-Key."""

    def __init__(self, settings: Settings) -> None:
        self._table = settings.idempotency_table
        self._ttl = settings.idempotency_ttl_seconds

    def claim(self, key: str, fingerprint: str, now: datetime, lease_seconds: int, token: str) -> dict[str, Any] | None:
        """Claim the key for this attempt (`token`) under a lease; if another has it, return their record instead.

        A claim whose lease is over, by a request of the same content, is of an attempt that died before it
        stored anything (an attempt that stored its complaint stored its answer in the same transaction): it is
        taken over, so a retry files the complaint instead of being refused for the key's whole lifetime."""
        now = now.astimezone(UTC)
        record = {
            "key": key,
            "fingerprint": fingerprint,
            "state": "in_progress",
            "token": token,
            "lease_until": (now + timedelta(seconds=lease_seconds)).isoformat(),
            "expires_at": int(now.timestamp()) + self._ttl,
        }
        claimed = write_if(
            "put_item",
            TableName=self._table,
            Item=to_item(record),
            # An expired record may linger: DynamoDB deletes TTL items lazily.
            ConditionExpression="attribute_not_exists(#key) OR expires_at < :epoch "
            "OR (#state = :in_progress AND lease_until < :now AND fingerprint = :fingerprint)",
            ExpressionAttributeNames={"#key": "key", "#state": "state"},
            ExpressionAttributeValues=to_item(
                {
                    ":epoch": int(now.timestamp()),
                    ":in_progress": "in_progress",
                    ":now": now.isoformat(),
                    ":fingerprint": fingerprint,
                }
            ),
        )
        if claimed:
            return None
        item = client("dynamodb").get_item(TableName=self._table, Key=to_item({"key": key}), ConsistentRead=True)
        return from_item(item.get("Item", {})) or None

    def answer_write(self, key: str, token: str, status: int, body: dict[str, Any]) -> dict[str, Any]:
        """The transaction write that stores the answer of a claimed key, only while the claim is still ours."""
        return {
            "Update": {
                "TableName": self._table,
                "Key": to_item({"key": key}),
                "UpdateExpression": "SET #state = :done, response_status = :status, response_body = :body",
                "ConditionExpression": "#token = :token",
                "ExpressionAttributeNames": {"#state": "state", "#token": "token"},
                "ExpressionAttributeValues": to_item(
                    {":done": "complete", ":status": status, ":body": body, ":token": token}
                ),
            }
        }

    def new_answer_write(self, key: str, fingerprint: str, status: int, body: dict[str, Any], now: datetime) -> dict:
        """The transaction write that stores the answer of a key never claimed (a request answered in one
        transaction, with nothing done before it), only while the key is new: a retry's claim finds it complete."""
        record = {
            "key": key,
            "fingerprint": fingerprint,
            "state": "complete",
            "response_status": status,
            "response_body": body,
            "expires_at": int(now.timestamp()) + self._ttl,
        }
        return {
            "Put": {
                "TableName": self._table,
                "Item": to_item(record),
                # An expired record may linger: DynamoDB deletes TTL items lazily.
                "ConditionExpression": "attribute_not_exists(#key) OR expires_at < :epoch",
                "ExpressionAttributeNames": {"#key": "key"},
                "ExpressionAttributeValues": to_item({":epoch": int(now.timestamp())}),
            }
        }

    def complete(self, key: str, token: str, status: int, body: dict[str, Any]) -> None:
        """Store the answer of a claimed key; ConditionFailed when another attempt took the claim over."""
        transact([self.answer_write(key, token, status, body)])

    def claim_delivery(self, key: str, now: datetime, lease_seconds: int, values: dict[str, Any]) -> Claim:
        """A delivery that belongs to no case (an SMS reply, a duty-phone notice), kept until the key expires."""
        expires_at = int(now.timestamp()) + self._ttl
        return claim_delivery(self._table, {"key": key}, now, lease_seconds, {**values, "expires_at": expires_at})

    def finish_delivery(self, key: str, values: dict[str, Any]) -> None:
        finish_delivery(self._table, {"key": key}, values)

    def release(self, key: str, token: str) -> None:
        """Give up a claim that produced nothing (the request failed), unless another attempt holds it now."""
        write_if(
            "delete_item",
            TableName=self._table,
            Key=to_item({"key": key}),
            ConditionExpression="#token = :token",
            ExpressionAttributeNames={"#token": "token"},
            ExpressionAttributeValues=to_item({":token": token}),
        )


class SeenStore:
    """When a provider's message id was first seen, kept far longer than the answers (the whole campaign)."""

    def __init__(self, settings: Settings) -> None:
        self._table = settings.idempotency_table

    def first_seen(self, key: str, now: datetime, expires_at: int) -> datetime:
        """Record `now` for a new key; the time recorded first for a known one."""
        if write_if("put_item", **self.first_seen_write(key, now, expires_at)["Put"]):
            return now
        stored = client("dynamodb").get_item(TableName=self._table, Key=to_item({"key": key}), ConsistentRead=True)
        return datetime.fromisoformat(from_item(stored["Item"])["seen_at"])

    def first_seen_write(self, key: str, now: datetime, expires_at: int) -> dict:
        """The write that records `now` for a key, only while it is new (alone, or in a transaction)."""
        item = {"key": key, "seen_at": now.isoformat(), "expires_at": expires_at}
        return {
            "Put": {
                "TableName": self._table,
                "Item": to_item(item),
                "ConditionExpression": "attribute_not_exists(#k)",
                "ExpressionAttributeNames": {"#k": "key"},
            }
        }


class RateLimitStore:
    """Fixed-window counters: at most a limit of hits per subject per window. One item may hold several counters
    of one subject (a phone number's texts and complaints), each an attribute with its own limit."""

    def __init__(self, settings: Settings) -> None:
        self._table = settings.idempotency_table

    def hit(self, key: str, limits: dict[str, int], expires_at: int) -> bool:
        """Count one hit on each counter of `limits`; False (and nothing counted) when one of them is full."""
        return write_if("update_item", **self.hit_write(key, limits, expires_at)["Update"])

    def hit_write(self, key: str, limits: dict[str, int], expires_at: int) -> dict:
        """The write that counts one hit on each counter of `limits` (attribute name: limit) while none of them is
        full (alone, or in a transaction)."""
        names = {f"#c{n}": counter for n, counter in enumerate(limits)}
        values: dict[str, int] = {":one": 1, ":expires": expires_at}
        values |= {f":l{n}": limit for n, limit in enumerate(limits.values())}
        conditions = [f"(attribute_not_exists(#c{n}) OR #c{n} < :l{n})" for n in range(len(limits))]
        counted = ", ".join(f"#c{n} :one" for n in range(len(limits)))
        return {
            "Update": {
                "TableName": self._table,
                "Key": to_item({"key": key}),
                "UpdateExpression": f"ADD {counted} SET expires_at = :expires",
                "ConditionExpression": " AND ".join(conditions),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_item(values),
            }
        }
