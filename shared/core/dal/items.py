"""The common helpers of the stores: items to and from DynamoDB's typed form, queries, conditional writes and
transactions, and the errors the stores raise."""

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic import BaseModel

from shared.core.aws import client

_serializer = TypeSerializer()


_deserializer = TypeDeserializer()


class ConditionFailed(Exception):
    """A conditional write lost: the item exists already or changed since it was read."""


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(decimals(value)) for name, value in values.items() if value is not None}


def decimals(value: Any) -> Any:
    # DynamoDB numbers are Decimals; floats are refused by the serializer.
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: decimals(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [decimals(inner) for inner in value]
    return value


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


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


def write_if(operation: str, **request: Any) -> bool:
    """A conditional write; False, with nothing written, when its condition does not hold."""
    try:
        getattr(client("dynamodb"), operation)(**request)
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
        client("dynamodb").transact_write_items(TransactItems=writes)
    except ClientError as error:
        if is_condition_failure(error):
            raise ConditionFailed(str(error)) from error
        raise
