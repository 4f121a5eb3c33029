"""The local stack's moto keeps DynamoDB's all-or-nothing transactions while backing up only written items."""

import pytest
from botocore.exceptions import ClientError

from shared.core.aws import client
from shared.core.settings import Settings


def item(sk: str, value: str) -> dict:
    return {"pk": {"S": "CASE#T"}, "sk": {"S": sk}, "value": {"S": value}}


def read(settings: Settings, sk: str) -> str | None:
    found = client("dynamodb").get_item(TableName=settings.cases_table, Key={"pk": {"S": "CASE#T"}, "sk": {"S": sk}})
    return found.get("Item", {}).get("value", {}).get("S")


def test_a_cancelled_transaction_leaves_every_item_as_it_was(aws: Settings) -> None:
    # given an existing item
    dynamodb = client("dynamodb")
    dynamodb.put_item(TableName=aws.cases_table, Item=item("A", "before"))
    # when a transaction overwrites it, adds another and then fails a condition
    with pytest.raises(ClientError) as failure:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": aws.cases_table, "Item": item("A", "after")}},
                {"Put": {"TableName": aws.cases_table, "Item": item("B", "new")}},
                {
                    "Put": {
                        "TableName": aws.cases_table,
                        "Item": item("A2", "x"),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    # then it is cancelled and nothing of it remains
    assert failure.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert (read(aws, "A"), read(aws, "B"), read(aws, "A2")) == ("before", None, None)


def test_a_successful_transaction_writes_every_item(aws: Settings) -> None:
    client("dynamodb").transact_write_items(
        TransactItems=[
            {"Put": {"TableName": aws.cases_table, "Item": item("A", "one")}},
            {"Put": {"TableName": aws.cases_table, "Item": item("B", "two")}},
        ]
    )
    assert (read(aws, "A"), read(aws, "B")) == ("one", "two")
