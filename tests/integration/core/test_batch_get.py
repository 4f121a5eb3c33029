"""dal.items.batch_get over moto: every existing item of any number of keys, 100 keys a request, the requests of
more sent together, the keys DynamoDB leaves unprocessed asked again."""

import threading
from typing import Any

from shared.core.aws import client
from shared.core.dal.items import batch_get, to_item
from shared.core.settings import Settings


def _stored(settings: Settings, count: int) -> list[dict[str, Any]]:
    requests = [
        {"PutRequest": {"Item": to_item({"pk": f"BATCH#{number}", "sk": "ITEM", "number": number})}}
        for number in range(count)
    ]
    for start in range(0, count, 25):
        client("dynamodb").batch_write_item(RequestItems={settings.cases_table: requests[start : start + 25]})
    return [to_item({"pk": f"BATCH#{number}", "sk": "ITEM"}) for number in range(count)]


def test_the_items_of_many_keys_come_back_each_once_from_requests_sent_together(aws: Settings) -> None:
    # given 230 stored items, the keys of 20 more that are not there, and the threads the requests are made in
    keys = _stored(aws, 230) + [to_item({"pk": f"BATCH#{number}", "sk": "ITEM"}) for number in range(900, 920)]
    threads: list[str] = []
    events = client("dynamodb").meta.events

    def record(**kwargs: Any) -> None:
        threads.append(threading.current_thread().name)

    events.register("before-call.dynamodb.BatchGetItem", record)
    # when they are read with their keys
    found = list(batch_get(aws.cases_table, keys, ConsistentRead=True))
    events.unregister("before-call.dynamodb.BatchGetItem", record)
    # then every stored item comes once, the missing keys find nothing, in three requests of at most 100 keys sent
    # from the reading threads, together
    assert sorted(item["number"] for item in found) == list(range(230))
    assert len(threads) == 3 and all(name.startswith("read") for name in threads)


def test_keys_left_unprocessed_are_asked_again(aws: Settings, monkeypatch) -> None:
    # given 150 stored items, and a DynamoDB that leaves the last ten keys of each first request unprocessed
    keys = _stored(aws, 150)
    dynamodb = client("dynamodb")
    original = dynamodb.batch_get_item
    asked: list[int] = []

    def partly(RequestItems: dict[str, Any]) -> dict[str, Any]:
        (table, request), *_ = RequestItems.items()
        asked.append(len(request["Keys"]))
        if len(request["Keys"]) <= 10:
            return original(RequestItems=RequestItems)
        answered = original(RequestItems={table: {**request, "Keys": request["Keys"][:-10]}})
        return {**answered, "UnprocessedKeys": {table: {**request, "Keys": request["Keys"][-10:]}}}

    monkeypatch.setattr(dynamodb, "batch_get_item", partly)
    # when they are read
    found = list(batch_get(aws.cases_table, keys))
    # then each item comes once: the unprocessed keys were asked again, each request of its own keys
    assert sorted(item["number"] for item in found) == list(range(150))
    assert sorted(asked) == [10, 10, 50, 100]
