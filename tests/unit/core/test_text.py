"""Checks on free text: control characters, invisible-only text, names that are markup or formulas."""

import unicodedata

import pytest
from pydantic_core import PydanticCustomError

from shared.core import text


def test_ordinary_chinese_text_with_line_breaks_passes_unchanged() -> None:
    written = "交警罚款不开票。\n第二天又来了\t一次。"
    assert text.check_text(written) == written


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("罚款\x00", "invalid_control_characters"),
        ("\x1b[31m红色", "invalid_control_characters"),
        ("\u200b\u200c\u200d\ufeff", "invalid_blank"),
        ("  \u3000 ", "invalid_blank"),
    ],
)
def test_control_characters_and_invisible_text_are_refused(written: str, code: str) -> None:
    with pytest.raises(PydanticCustomError) as refused:
        text.check_text(written)
    assert refused.value.type == code


def test_every_control_character_but_tab_and_line_breaks_is_refused() -> None:
    controls = [chr(code) for code in range(0x110000) if unicodedata.category(chr(code)) == "Cc"]
    refused = []
    for char in controls:
        try:
            text.check_text(f"罚款{char}")
        except PydanticCustomError:
            refused.append(char)
    assert set(controls) - set(refused) == {"\t", "\n", "\r"}


def test_a_long_text_that_shows_something_passes() -> None:
    written = "\u200b" * 3 + "罚款" + "不开票。" * 2000
    assert text.check_text(written) == written


@pytest.mark.parametrize("name", ["<b>张三</b>", "=cmd|' /C calc'!A0", "@SUM(1)", "+86", "{{7*7}}"])
def test_names_may_not_be_markup_or_formulas(name: str) -> None:
    with pytest.raises(PydanticCustomError):
        text.check_name(name)


def test_real_names_pass() -> None:
    assert text.check_name("王喆") == "王喆"
    assert text.check_name("靖宇县红星超市（普通合伙）") == "靖宇县红星超市（普通合伙）"


def test_matching_form_is_nfkc() -> None:
    assert text.for_matching("ＡＢＣ １２３，") == "abc123,"
