"""The common helpers of the stores: items to and from DynamoDB's typed form, queries, conditional writes and
transactions, and the errors the stores raise."""

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from shared.core.aws import client
from shared.core.concurrent_reads import Reads

_serializer = TypeSerializer()


_deserializer = TypeDeserializer()


class ConditionFailed(Exception):
    """A conditional write lost: the item exists already or changed since it was read. For a transaction,
    `failed` holds the positions of the writes whose condition failed."""

    def __init__(self, message: str, failed: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.failed = failed


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _typed(value) for name, value in values.items() if value is not None}


# DynamoDB keeps 38 significant digits: an int below this is stored exactly, as the serializer writes it.
_EXACT_INT = 10**38


def _typed(value: Any) -> dict[str, Any]:
    """A value in DynamoDB's typed form. Text, flags, ints, lists and maps (most of every item) directly; other
    numbers (floats as exact decimals), sets and binary by boto3's serializer, which also refuses a number DynamoDB
    cannot store."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if type(value) is int and -_EXACT_INT < value < _EXACT_INT:
        return {"N": str(value)}
    if isinstance(value, list):
        return {"L": [_typed(member) for member in value]}
    if isinstance(value, dict):
        return {"M": {name: _typed(member) for name, member in value.items()}}
    if isinstance(value, float):
        # DynamoDB numbers are Decimals; the serializer refuses floats.
        return _serializer.serialize(Decimal(str(value)))
    return _serializer.serialize(value)


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _untyped(value) for name, value in item.items()}


def _untyped(value: dict[str, Any]) -> Any:
    """A value from DynamoDB's typed form, as boto3's deserializer gives it (numbers as Decimals). Text, numbers,
    flags, lists and maps (most of every item) directly, in about half the deserializer's time; sets and binary by
    the deserializer."""
    if "S" in value:
        return value["S"]
    if "N" in value:
        # DynamoDB holds at most 38 significant digits: a Decimal of its text is exact, as the deserializer's is.
        return Decimal(value["N"])
    if "M" in value:
        return {name: _untyped(member) for name, member in value["M"].items()}
    if "L" in value:
        return [_untyped(member) for member in value["L"]]
    if "BOOL" in value:
        return value["BOOL"]
    if "NULL" in value:
        return None
    return _deserializer.deserialize(value)


def dump(model: BaseModel) -> dict[str, Any]:
    """A model as stored: JSON types, every time in UTC, so that times compare as text in keys and conditions
    whatever offset a caller gave (an operator's `+08:00`)."""
    return to_jsonable_python(_in_utc(model.model_dump()))


def _in_utc(value: Any) -> Any:
    # model_dump gives plain dicts, lists and tuples: their exact types are checked first, which is quicker than
    # isinstance on the many leaves of a case.
    kind = type(value)
    if kind is dict:
        return {key: _in_utc(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_in_utc(item) for item in value]
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


def is_condition_failure(error: ClientError) -> bool:
    code = error.response["Error"]["Code"]
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = error.response.get("CancellationReasons", [])
        return any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons) or not reasons
    return False


def query(table: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    paginator = client("dynamodb").get_paginator("query")
    for page in paginator.paginate(TableName=table, **kwargs):
        for item in page["Items"]:
            yield from_item(item)


def batch_get(table: str, keys: list[dict[str, Any]], **options: Any) -> Iterator[dict[str, Any]]:
    """The items of `keys` (in DynamoDB's form) that exist, in no particular order: BatchGetItem, 100 keys a request,
    the requests of more keys sent together, the keys DynamoDB leaves unprocessed asked again. `options`:
    ConsistentRead, a projection."""
    chunks = [keys[start : start + 100] for start in range(0, len(keys), 100)]
    if len(chunks) == 1:
        yield from _batch_get_chunk(table, chunks[0], options)
        return
    with Reads() as reads:
        answers = [reads.start(_batch_get_chunk, table, chunk, options) for chunk in chunks]
    for answer in answers:
        yield from answer.result()


def _batch_get_chunk(table: str, keys: list[dict[str, Any]], options: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    request: dict[str, Any] = {table: {"Keys": keys, **options}}
    while request:
        response = client("dynamodb").batch_get_item(RequestItems=request)
        found += [from_item(item) for item in response["Responses"].get(table, [])]
        request = response.get("UnprocessedKeys") or {}
    return found


# What a write meets when others write the same items at once: DynamoDB cancels all but one of concurrent
# transactions on an item (TransactionConflict) and throttles a hot partition. botocore retries throttled single
# writes itself, never a cancelled transaction: those are retried here, with jittered exponential backoff.
RETRIED_REASONS = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
RETRIES = 6
BACKOFF_SECONDS = 0.05


def _contended(error: ClientError) -> bool:
    if error.response["Error"]["Code"] != "TransactionCanceledException":
        return False
    reasons = {reason.get("Code") for reason in error.response.get("CancellationReasons", [])}
    return bool(reasons & RETRIED_REASONS) and "ConditionalCheckFailed" not in reasons


def call(operation: str, **request: Any) -> Any:
    """A DynamoDB call, a transaction retried while it is cancelled only by contention (full jitter: a random
    wait up to 50 ms, 100 ms, ... 1.6 s), so that concurrent consumers of one partition all get through."""
    for attempt in range(RETRIES + 1):
        try:
            return getattr(client("dynamodb"), operation)(**request)
        except ClientError as error:
            if attempt == RETRIES or not _contended(error):
                raise
            # Jitter for a retry's wait, not a secret: a plain pseudo-random number is right here.
            time.sleep(random.uniform(0, BACKOFF_SECONDS * 2**attempt))  # nosec B311
    raise AssertionError("unreachable")


def write_if(operation: str, **request: Any) -> bool:
    """A conditional write; False, with nothing written, when its condition does not hold."""
    try:
        call(operation, **request)
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise
    return True


class CaseNotFound(Exception):
    """A message names a case that is not stored: left to retries and then the dead-letter queue."""


def transact(writes: list[dict[str, Any]]) -> None:
    """One TransactWriteItems; ConditionFailed when a condition of it failed."""
    try:
        call("transact_write_items", TransactItems=writes)
    except ClientError as error:
        if is_condition_failure(error):
            reasons = error.response.get("CancellationReasons", [])
            failed = tuple(i for i, reason in enumerate(reasons) if reason.get("Code") == "ConditionalCheckFailed")
            raise ConditionFailed(str(error), failed) from error
        raise


class Claim(StrEnum):
    """What claiming a delivery found (`claim_delivery`)."""

    claimed = "claimed"  # ours to send now
    done = "done"  # sent before: nothing to do
    busy = "busy"  # another attempt holds a live lease: try again later


class DeliveryBusy(RuntimeError):
    """Another attempt is sending this right now: the message fails and comes back after its visibility timeout,
    when that attempt has either recorded the send or let its lease run out."""


def claim_delivery(table: str, key: dict[str, Any], now: datetime, lease_seconds: int, values: dict[str, Any]) -> Claim:
    """Take the lease on one delivery (a notice to one recipient on one channel) before sending it.

    The claim is a lease, never a record of success: a function can die between the claim and the send, and the
    redelivered message must then send, not skip. A lease past its end is of an attempt that died and is taken
    over; a failed delivery may be claimed again. What was sent is recorded after the send (`finish_delivery`).
    """
    now = now.astimezone(UTC)  # compared as ISO 8601 strings, so always in UTC
    until = now + timedelta(seconds=lease_seconds)
    claimed = write_if(
        "update_item",
        TableName=table,
        Key=to_item(key),
        UpdateExpression="SET #state = :sending, lease_until = :until, claimed_at = :now, "
        + "".join(f"#v{position} = :v{position}, " for position in range(len(values)))
        + "#attempts = if_not_exists(#attempts, :zero) + :one",
        ConditionExpression="attribute_not_exists(#state) OR #state = :failed "
        "OR (#state = :sending AND lease_until < :now)",
        ExpressionAttributeNames={
            "#state": "state",
            "#attempts": "attempts",
            **{f"#v{position}": name for position, name in enumerate(values)},
        },
        ExpressionAttributeValues=to_item(
            {
                ":sending": "sending",
                ":failed": "failed",
                ":until": until.isoformat(),
                ":now": now.isoformat(),
                ":zero": 0,
                ":one": 1,
                **{f":v{position}": value for position, value in enumerate(values.values())},
            }
        ),
    )
    if claimed:
        return Claim.claimed
    item = client("dynamodb").get_item(TableName=table, Key=to_item(key), ConsistentRead=True).get("Item")
    return Claim.done if item and from_item(item).get("state") == "sent" else Claim.busy


def finish_delivery(table: str, key: dict[str, Any], values: dict[str, Any]) -> None:
    """Record how a claimed delivery went: `state` sent (with the provider's message id) or failed (why)."""
    fields = list(values.items())
    client("dynamodb").update_item(
        TableName=table,
        Key=to_item(key),
        UpdateExpression="SET " + ", ".join(f"#n{position} = :v{position}" for position in range(len(fields))),
        ExpressionAttributeNames={f"#n{position}": name for position, (name, _) in enumerate(fields)},
        ExpressionAttributeValues=to_item({f":v{position}": value for position, (_, value) in enumerate(fields)}),
    )
