"""The local stack's moto keeps DynamoDB's all-or-nothing transactions while backing up only written items, and
cancels concurrent transactions on one item as DynamoDB does; its faster reads, queries and queue counts give the
same answers as moto's own."""

import base64
import copy
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.core.parse import BaseJSONParser, JSONParser
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]  # untyped in moto
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]  # untyped in moto

from infra import moto_patches
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


def test_a_transaction_checks_each_condition_once_and_writes_after_it_check_theirs(aws: Settings) -> None:
    # given a counter at its limit
    dynamodb = client("dynamodb")
    counter = {"pk": {"S": "CASE#T"}, "sk": {"S": "COUNTER"}}
    dynamodb.put_item(TableName=aws.cases_table, Item={**counter, "hits": {"N": "2"}})
    add_one = {
        "TableName": aws.cases_table,
        "Key": counter,
        "UpdateExpression": "ADD hits :one",
        "ConditionExpression": "hits < :limit",
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":limit": {"N": "2"}},
    }
    # when a transaction adds to it beside a put
    with pytest.raises(ClientError) as failure:
        dynamodb.transact_write_items(
            TransactItems=[{"Put": {"TableName": aws.cases_table, "Item": item("A", "new")}}, {"Update": add_one}]
        )
    # then its condition (checked once, before the writes) cancels it
    assert failure.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert read(aws, "A") is None
    # and writes outside a transaction, in the same thread, after a cancelled and a successful one, check theirs
    dynamodb.transact_write_items(TransactItems=[{"Put": {"TableName": aws.cases_table, "Item": item("B", "x")}}])
    with pytest.raises(ClientError) as refused:
        dynamodb.update_item(**add_one)
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(
            TableName=aws.cases_table, Item=item("B", "y"), ConditionExpression="attribute_not_exists(pk)"
        )
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert read(aws, "B") == "x"


def test_an_expression_parsed_once_is_checked_afresh_each_time(aws: Settings) -> None:
    # given one counter update, its condition and update expression the same in every request
    dynamodb = client("dynamodb")

    def add_one(sk: str, limit: str, **extra: dict) -> dict:
        return {
            "TableName": aws.cases_table,
            "Key": {"pk": {"S": "CASE#T"}, "sk": {"S": sk}},
            "UpdateExpression": "ADD #hits :one SET expires_at = :expires",
            "ConditionExpression": "attribute_not_exists(#hits) OR #hits < :limit",
            "ExpressionAttributeNames": {"#hits": "hits", **extra.get("names", {})},
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":expires": {"N": "9"}, ":limit": {"N": limit}},
        }

    def hits(sk: str) -> str:
        key = {"pk": {"S": "CASE#T"}, "sk": {"S": sk}}
        return client("dynamodb").get_item(TableName=aws.cases_table, Key=key)["Item"]["hits"]["N"]

    # when it counts on two items, alone and in transactions, up to a limit of 2, then with a limit of 3
    outcomes = []
    for sk, limit in [("A", "2"), ("B", "2"), ("A", "2"), ("A", "2"), ("A", "3")]:
        try:
            dynamodb.update_item(**add_one(sk, limit))
            outcomes.append("counted")
        except ClientError as error:
            outcomes.append(error.response["Error"]["Code"])
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(TransactItems=[{"Update": add_one("B", "1")}])
    dynamodb.transact_write_items(TransactItems=[{"Update": add_one("B", "2")}])
    # then each request was checked against its own item and its own values
    assert outcomes == ["counted", "counted", "counted", "ConditionalCheckFailedException", "counted"]
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert (hits("A"), hits("B")) == ("3", "2")
    # and a name given but not used is refused every time, as an expression that does not parse
    for _ in range(2):
        with pytest.raises(ClientError) as unused:
            dynamodb.update_item(**add_one("A", "9", names={"#other": "other"}))
        assert unused.value.response["Error"]["Code"] == "ValidationException"
        with pytest.raises(ClientError) as malformed:
            dynamodb.update_item(**{**add_one("A", "9"), "UpdateExpression": "ADD #hits :one SET"})
        assert malformed.value.response["Error"]["Code"] == "ValidationException"
    assert hits("A") == "3"


UPDATES = [
    "ADD #hits :one SET expires_at = :expires",
    "SET a = if_not_exists(a, :zero) + :one, b[1].c = list_append(b, :l) REMOVE x[2], y DELETE s :v",
    "SET #a = :b - :c, d.e.f = :g",
]


def test_an_update_tree_is_copied_as_deepcopy_copies_it() -> None:
    def shape(node: Any, copied: dict[int, Any]) -> Any:
        """A node's class, attributes and children, its parent given as the position it was met at."""
        if not isinstance(node, Node):
            return node
        copied.setdefault(id(node), len(copied))
        children = [shape(child, copied) for child in node.children or []]
        parent = copied.get(id(node.parent)) if node.parent is not None else None
        return (type(node), node.type, parent, children)

    def nodes(node: Any) -> list[Any]:
        if not isinstance(node, Node):
            return []
        return [node, *(member for child in node.children or [] for member in nodes(child))]

    for expression in UPDATES:
        # given a parsed update
        tree = UpdateExpressionParser.make(expression)
        # when the check copies it
        twin = moto_patches._deep_copy(tree)
        # then the copy is what deepcopy gives, and shares no node with the tree
        assert shape(twin, {}) == shape(tree, {}) == shape(copy.deepcopy(tree), {})
        assert not {id(node) for node in nodes(twin)} & {id(node) for node in nodes(tree)}
    # and anything else is deep-copied by deepcopy
    value = DynamoType({"L": [{"S": "a"}]})
    assert moto_patches._deep_copy(value) == value and moto_patches._deep_copy(value).value is not value.value


def test_an_update_is_refused_by_its_shape_every_time_whatever_passed_before(aws: Settings) -> None:
    dynamodb = client("dynamodb")

    def update(table: str, key: dict, expression: str, names: dict) -> str:
        values = {f":{n}": {"S": n} for n in ("x", "y") if f":{n}" in expression}
        try:
            dynamodb.update_item(
                TableName=table,
                Key=key,
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return "updated"

    case = {"pk": {"S": "CASE#T"}, "sk": {"S": "A"}}
    counter = {"key": {"S": "rate:T"}}
    outcomes = []
    # given one expression that passes with some names, on the cases table
    for _ in range(2):
        outcomes.append(update(aws.cases_table, case, "SET #a = :x, #b = :y", {"#a": "one", "#b": "two"}))
        outcomes.append(update(aws.cases_table, case, "SET #k = :x", {"#k": "key"}))
        # when the same expression names one attribute twice, or a key attribute of its table
        outcomes.append(update(aws.cases_table, case, "SET #a = :x, #b = :y", {"#a": "one", "#b": "one"}))
        outcomes.append(update(aws.cases_table, case, "SET #k = :x", {"#k": "pk"}))
        outcomes.append(update(aws.idempotency_table, counter, "SET #k = :x", {"#k": "key"}))
    # then it is refused each time, and what passed passes again
    assert outcomes == ["updated", "updated", "ValidationException", "ValidationException", "ValidationException"] * 2


def test_only_an_update_that_sets_placeholders_on_top_level_attributes_reads_no_item() -> None:
    # given updates that set or add values given in the request, and updates that read the item or a path in it
    item_free = ["ADD #hits :one SET expires_at = :expires", "SET #a = :x, b = :y ADD c :one", "SET a = :x"]
    reading = [*UPDATES[1:], "SET a = b", "SET a = :x + :y", "SET a.b = :x", "SET a[0] = :x", "REMOVE a", "DELETE s :v"]
    # then only the first kind is checked without the item
    assert all(moto_patches._reads_no_item(UpdateExpressionParser.make(text)) for text in item_free)
    assert not any(moto_patches._reads_no_item(UpdateExpressionParser.make(text)) for text in reading)


def test_an_update_checked_once_sets_its_own_values_on_each_item(aws: Settings) -> None:
    dynamodb = client("dynamodb")

    def update(sk: str, expression: str, values: dict) -> None:
        dynamodb.update_item(
            TableName=aws.cases_table,
            Key={"pk": {"S": "CASE#T"}, "sk": {"S": sk}},
            UpdateExpression=expression,
            ExpressionAttributeNames={"#t": "tags"},
            ExpressionAttributeValues=values,
        )

    def stored(sk: str) -> dict:
        key = {"pk": {"S": "CASE#T"}, "sk": {"S": sk}}
        return dynamodb.get_item(TableName=aws.cases_table, Key=key)["Item"]

    # given a set written on one item twice by the same update (the second time, as it was checked the first)
    update("A", "SET #t = :s, seen = :at", {":s": {"SS": ["a"]}, ":at": {"N": "1"}})
    update("A", "SET #t = :s, seen = :at", {":s": {"SS": ["a"]}, ":at": {"N": "1"}})
    # when that item's set grows in place, and the update sets the other item, then with another value
    update("A", "ADD #t :s", {":s": {"SS": ["b"]}})
    update("B", "SET #t = :s, seen = :at", {":s": {"SS": ["a"]}, ":at": {"N": "1"}})
    update("C", "SET #t = :s, seen = :at", {":s": {"SS": ["a"]}, ":at": {"N": "2"}})
    # then each item has the values its request gave, none shared with another item
    assert sorted(stored("A")["tags"]["SS"]) == ["a", "b"]
    assert (stored("B")["tags"], stored("B")["seen"]) == ({"SS": ["a"]}, {"N": "1"})
    assert stored("C")["seen"] == {"N": "2"}


def test_concurrent_transactions_on_one_item_conflict_as_on_dynamodb(aws: Settings, monkeypatch) -> None:
    # given a transaction on item A held half-way (moto's own work paused)
    holding, release = threading.Event(), threading.Event()
    original = moto_patches._original_transact

    def paused(backend, transact_items):  # type: ignore[no-untyped-def]
        if transact_items[0]["Put"]["Item"]["value"]["S"] == "first":
            holding.set()
            release.wait(5)
        return original(backend, transact_items)

    monkeypatch.setattr(moto_patches, "_original_transact", paused)
    dynamodb = client("dynamodb")

    def put(sk: str, value: str) -> None:
        dynamodb.transact_write_items(TransactItems=[{"Put": {"TableName": aws.cases_table, "Item": item(sk, value)}}])

    first = threading.Thread(target=put, args=("A", "first"))
    first.start()
    assert holding.wait(5)
    # when another transaction names item A meanwhile, and a third names item B
    with pytest.raises(ClientError) as conflict:
        put("A", "second")
    put("B", "other")
    release.set()
    first.join(5)
    # then the second is cancelled with TransactionConflict, the third goes through, and the first completes
    reasons = [reason["Code"] for reason in conflict.value.response["CancellationReasons"]]
    assert conflict.value.response["Error"]["Code"] == "TransactionCanceledException" and reasons == [
        "TransactionConflict"
    ]
    assert (read(aws, "A"), read(aws, "B")) == ("first", "other")


def test_a_cancelled_transaction_does_not_undo_one_that_finished_just_before(aws: Settings, monkeypatch) -> None:
    # given a transaction that creates item A only if it is absent, and another that creates A just as the first
    # one starts (before it has reserved its items)
    dynamodb = client("dynamodb")
    reserve = moto_patches._reserve

    def another_transaction_first(named):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(moto_patches, "_reserve", reserve)
        dynamodb.transact_write_items(TransactItems=[{"Put": {"TableName": aws.cases_table, "Item": item("A", "won")}}])
        return reserve(named)

    monkeypatch.setattr(moto_patches, "_reserve", another_transaction_first)
    # when the first one then fails its condition and is cancelled
    with pytest.raises(ClientError) as failure:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": aws.cases_table,
                        "Item": item("A", "lost"),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            ]
        )
    # then the item the other transaction wrote stays
    assert failure.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert read(aws, "A") == "won"


def test_every_kind_of_attribute_value_reads_back_as_it_was_written(aws: Settings) -> None:
    # given an item with an attribute of every DynamoDB type, nested in maps and lists too
    values = {
        "text": {"S": "县城管局 执法"},
        "number": {"N": "12.50"},
        "binary": {"B": b"\x00\xffGB18030"},
        "flag": {"BOOL": False},
        "nothing": {"NULL": True},
        "texts": {"SS": ["甲", "乙"]},
        "numbers": {"NS": ["1", "2"]},
        "binaries": {"BS": [b"\x01", b"\x02"]},
        "map": {"M": {"inner": {"L": [{"S": "列表"}, {"N": "3"}, {"M": {"deep": {"BOOL": True}}}, {"B": b"\x03"}]}}},
        "empty": {"L": []},
    }
    written = {"pk": {"S": "CASE#T"}, "sk": {"S": "ALL"}, **values}
    dynamodb = client("dynamodb")
    dynamodb.put_item(TableName=aws.cases_table, Item=written)
    key = {"pk": {"S": "CASE#T"}, "sk": {"S": "ALL"}}
    # when it is read by GetItem, BatchGetItem and Query
    got = dynamodb.get_item(TableName=aws.cases_table, Key=key)["Item"]
    batch = dynamodb.batch_get_item(RequestItems={aws.cases_table: {"Keys": [key]}})["Responses"][aws.cases_table]
    queried = dynamodb.query(
        TableName=aws.cases_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "CASE#T"}},
    )["Items"]

    # then each read gives back exactly what was written (sets in any order)
    def normalised(read: dict) -> dict:
        return {
            name: {kind: sorted(v) if kind in ("SS", "NS", "BS") else v for kind, v in value.items()}
            for name, value in read.items()
        }

    assert normalised(got) == normalised(batch[0]) == normalised(queried[0]) == normalised(written)


def test_attribute_values_in_a_request_are_parsed_as_moto_parses_them(aws: Settings) -> None:
    # given moto's parser of DynamoDB requests, and attribute values as they come over the wire: every type, nested,
    # and values that are not well-formed (two types, an unknown type, no value, a bad member deep inside)
    model = client("dynamodb").meta.service_model
    parser = JSONParser(model.operation_model("PutItem"))
    shape = model.shape_for("AttributeValue")

    def wire(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    values = [
        {"S": "县城管局"},
        {"N": "12.50"},
        {"B": wire(b"\x00\xffGB18030")},
        {"BOOL": False},
        {"NULL": True},
        {"SS": ["甲", "乙"]},
        {"NS": ["1", "2"]},
        {"BS": [wire(b"\x01"), wire(b"\x02")]},
        {"M": {"inner": {"L": [{"S": "列表"}, {"N": "3"}, {"M": {"deep": {"BOOL": True}}}, {"B": wire(b"\x03")}]}}},
        {"L": []},
        {"S": "x", "N": "1"},
        {"Q": "1"},
        {"S": None},
        {"L": [{"S": "ok"}, {"Q": "1"}]},
        {"M": {"bad": {"S": "x", "N": "1"}}},
    ]
    # when each is parsed by the patch and by moto's own walk through the model
    # then both give the same
    for value in values:
        assert BaseJSONParser._parse_structure(parser, shape, value) == moto_patches._original_parse_structure(
            parser, shape, value
        ), value


def test_an_object_put_with_a_form_content_type_keeps_its_body(aws: Settings) -> None:
    # given a web form's body, as the intake archives it
    body = "description=县城管局乱罚款&who=anonymous".encode()
    s3 = client("s3")
    # when it is put with the form's content type, and read back
    s3.put_object(Bucket=aws.raw_bucket, Key="raw/web/form", Body=body, ContentType="application/x-www-form-urlencoded")
    stored = s3.get_object(Bucket=aws.raw_bucket, Key="raw/web/form")
    # then it is stored as it came, with its content type
    assert stored["Body"].read() == body
    assert stored["ContentType"] == "application/x-www-form-urlencoded"


def _queries(settings: Settings) -> list[dict]:
    """Queries of the cases table's partitions and of an index (ranges, both directions, a filter, pages of two)
    and of the idempotency table, which has no sort key."""
    partition = {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": "CASE#B"}}}
    return [
        {"TableName": settings.cases_table, **partition},
        {"TableName": settings.cases_table, **partition, "ScanIndexForward": False, "Limit": 2},
        {
            "TableName": settings.cases_table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :event)",
            "FilterExpression": "#value <> :skipped",
            "ExpressionAttributeNames": {"#value": "value"},
            "ExpressionAttributeValues": {":pk": {"S": "CASE#B"}, ":event": {"S": "EVENT#"}, ":skipped": {"S": "1"}},
        },
        {
            "TableName": settings.cases_table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": "CASE#NONE"}},
        },
        {
            "TableName": settings.cases_table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :due AND gsi1sk > :from",
            "ExpressionAttributeValues": {":due": {"S": "DUE"}, ":from": {"S": "2026-11-02"}},
            "Limit": 2,
        },
        {
            "TableName": settings.idempotency_table,
            "KeyConditionExpression": "#key = :key",
            "ExpressionAttributeNames": {"#key": "key"},
            "ExpressionAttributeValues": {":key": {"S": "intake:2"}},
        },
    ]


def _every_page(query: dict) -> list[list[dict]]:
    pages, start = [], None
    while True:
        page = client("dynamodb").query(**query, **({"ExclusiveStartKey": start} if start else {}))
        pages.append(page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return pages


def test_a_query_finds_what_moto_finds_in_the_same_order(aws: Settings, monkeypatch) -> None:
    # given items in several partitions, some of them on an index, and keys without a sort key
    dynamodb = client("dynamodb")
    for case in "CBA":
        for number in range(4):
            values = {"pk": {"S": f"CASE#{case}"}, "sk": {"S": f"EVENT#{3 - number}"}, "value": {"S": str(number)}}
            if number % 2:
                values |= {"gsi1pk": {"S": "DUE"}, "gsi1sk": {"S": f"2026-11-0{number}#{case}"}}
            dynamodb.put_item(TableName=aws.cases_table, Item=values)
    for number in range(3):
        dynamodb.put_item(TableName=aws.idempotency_table, Item={"key": {"S": f"intake:{number}"}})
    # when each query is run, page by page, with the patch and with moto's own Query
    assert Table.query is moto_patches._query
    patched = [_every_page(query) for query in _queries(aws)]
    monkeypatch.setattr(Table, "query", moto_patches._original_query)
    unpatched = [_every_page(query) for query in _queries(aws)]
    # then the pages are the same, and not empty where there is something to find
    assert patched == unpatched
    assert [sum(len(page) for page in pages) for pages in patched] == [4, 4, 3, 0, 3, 1]


def test_queue_counts_stay_exact(aws: Settings) -> None:
    # given a queue with a delayed message, one received (in flight) and two waiting
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="counted")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=600)
    for body in ("first", "second", "third"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=600)
    # when its counts are read
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    # then each message is counted where it is
    assert counts["ApproximateNumberOfMessages"] == "2"
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "1"
    assert counts["ApproximateNumberOfMessagesDelayed"] == "1"
