"""Items in DynamoDB's typed form: the direct conversion gives exactly what boto3's serializer gives."""

from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeSerializer

from shared.core.dal.items import decimals, from_item, to_item

VALUES = {
    "text": "县城管局：乱罚款",
    "empty_text": "",
    "yes": True,
    "no": False,
    "count": 3,
    "confidence": 0.875,
    "exact": Decimal("12.50"),
    "nested": [1, "二", [True, None], {"deep": {"list": [], "map": {}}}],
    "record": {"k": "v", "n": 3, "l": [0.5]},
    "tags": {"甲", "乙"},
    "raw": b"\x00\xff",
}


def test_an_item_is_typed_as_boto3_types_it() -> None:
    # given values of every kind a store writes
    # when they are made into an item
    item = to_item({**VALUES, "absent": None})
    # then each attribute is what boto3's serializer makes of it (floats as exact decimals), and None is left out
    boto3 = TypeSerializer()
    assert item == {name: boto3.serialize(decimals(value)) for name, value in VALUES.items()}
    # and it reads back as it was
    back = from_item(item)
    assert back["text"] == VALUES["text"] and back["nested"][3] == {"deep": {"list": [], "map": {}}}
    assert back["confidence"] == Decimal("0.875") and back["tags"] == VALUES["tags"]


def test_a_number_dynamodb_cannot_store_is_refused() -> None:
    # given a number with more digits than DynamoDB keeps
    # when it is made into an item
    # then it is refused before any request, as boto3 refuses it
    with pytest.raises(Exception, match=r"Inexact|Rounded"):
        to_item({"too_precise": Decimal("1." + "1" * 40)})
