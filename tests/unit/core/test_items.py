"""Items in DynamoDB's typed form: the direct conversions give exactly what boto3's serializer and deserializer
give."""

from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from shared.core.dal.items import from_item, to_item

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
    "widest_int": -(10**38 - 1),
    "tags": {"甲", "乙"},
    "raw": b"\x00\xff",
}


def decimals(value: object) -> object:
    """Floats as the exact decimals DynamoDB stores."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: decimals(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [decimals(inner) for inner in value]
    return value


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
    for too_precise in (Decimal("1." + "1" * 40), 10**38 + 1, -(10**38)):
        with pytest.raises(Exception, match=r"Inexact|Rounded"):
            to_item({"too_precise": too_precise})


def test_an_item_reads_as_boto3_reads_it() -> None:
    # given an item of every kind of value DynamoDB holds, numbers at the edges of what it keeps among them
    numbers = {"big": Decimal("9" * 38), "tiny": Decimal("1E-130"), "huge": Decimal("-1.5E+125"), "zero": Decimal(0)}
    item = to_item({**VALUES, **numbers, "sets": [{1, 2}, {b"\x01"}]})
    # when it is read
    read = from_item(item)
    # then every value, and its type, is what boto3's deserializer gives
    expected = {name: TypeDeserializer().deserialize(value) for name, value in item.items()}
    assert read == expected
    assert [type(read[name]) for name in expected] == [type(value) for value in expected.values()]
    assert {name: str(read[name]) for name in numbers} == {name: str(expected[name]) for name in numbers}
