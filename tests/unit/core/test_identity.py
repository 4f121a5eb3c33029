"""Checksums and masking of what complainants give about themselves."""

import pytest

from shared.core import identity


@pytest.mark.parametrize("number", ["11010519491231002X", "440524188001010014"])
def test_valid_resident_ids_pass_the_checksum(number: str) -> None:
    assert identity.is_valid_id_number(number)
    assert identity.is_valid_id_number(number.lower())


@pytest.mark.parametrize("number", ["110105194912310021", "11010519491231002", "A1010519491231002X"])
def test_wrong_resident_ids_fail(number: str) -> None:
    assert not identity.is_valid_id_number(number)


def test_credit_codes_are_checked_by_their_check_character() -> None:
    # given a valid unified social credit code, and the same with its check character changed
    valid = "91350100M000100Y43"
    assert identity.is_valid_credit_code(valid)
    assert not identity.is_valid_credit_code(valid[:-1] + "4")
    # and letters outside the code's alphabet are refused
    assert not identity.is_valid_credit_code("91350100M000100I43")


@pytest.mark.parametrize(
    ("phone", "valid"),
    [
        ("13912345678", True),
        ("+86 139-1234-5678", True),
        ("0439-6212345", True),
        ("12912345678", False),
        ("1391234567", False),
        ("hello", False),
    ],
)
def test_phone_numbers(phone: str, valid: bool) -> None:
    assert identity.is_valid_phone(phone) is valid


def test_contact_hash_is_keyed_and_stable() -> None:
    first = identity.contact_hash("phone:13912345678", "key-a")
    assert first == identity.contact_hash("phone:13912345678", "key-a")
    assert first != identity.contact_hash("phone:13912345678", "key-b")
    assert "13912345678" not in first


def test_masked_phone_keeps_only_ends() -> None:
    assert identity.mask_phone("+8613912345678") == "139****5678"
