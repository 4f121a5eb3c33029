"""Checks and normalisation of free text that people send.

The original text is always what is stored and shown; `for_matching` gives the NFKC form that the
classifier and duplicate checks compare.
"""

import re
import unicodedata

from pydantic_core import PydanticCustomError

# C0 control characters and DEL, but tab and line breaks: nothing a person writes, and XML 1.0 cannot hold most.
_C0_AND_DEL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
_CONTROLS = re.compile(f"[{_C0_AND_DEL}]")
# Those and the C1 controls: every character of Unicode's category Cc but tab and line breaks.
_REFUSED_CONTROLS = re.compile(f"[{_C0_AND_DEL}\\x80-\\x9f]")
# Spreadsheet programs run a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def without_controls(text: str) -> str:
    """The text without control characters (tab and line breaks kept): what every inbound channel stores."""
    return _CONTROLS.sub("", text)


def spreadsheet_text(value: object) -> tuple[str, bool]:
    """A value as the text of a spreadsheet cell (XLSX or CSV), and whether that text starts like a formula.

    The check is made on the cleaned text, the text the cell will hold: "\x01=HYPERLINK(…)" is a formula once the
    control character is gone. Every XLSX and CSV writer goes through here."""
    text = without_controls(str(value))
    return text, text.startswith(FORMULA_STARTS)


def safe_cell(value: object) -> str:
    """A value as CSV text; an apostrophe before text that starts like a formula keeps spreadsheets from running it."""
    text, formula = spreadsheet_text(value)
    return "'" + text if formula else text


def for_matching(text: str) -> str:
    """The form used for matching: NFKC (full-width letters, digits, punctuation), case-folded, no spaces."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def shows_something(text: str) -> bool:
    """Whether the text has a character other than whitespace and invisible format characters (zero-width spaces,
    joiners, BOM). Looks no further than the first such character: a description may be thousands of them."""
    return any(not char.isspace() and unicodedata.category(char) != "Cf" for char in text)


def check_text(text: str) -> str:
    """Refuse control characters and text that shows nothing; keep everything else as written."""
    if _REFUSED_CONTROLS.search(text):
        raise PydanticCustomError("invalid_control_characters", "含有无法识别的控制字符，请删除后重新填写")
    if not shows_something(text):
        raise PydanticCustomError("invalid_blank", "不能为空，请填写内容")
    return text


def check_name(text: str) -> str:
    """A person's or an organisation's name: plain text, no markup, not a spreadsheet formula."""
    check_text(text)
    if any(char in "<>{}" for char in text) or text.startswith(FORMULA_STARTS):
        raise PydanticCustomError("invalid_name", "名称中不能含有 < > { } 等符号，也不能以 = + - @ 开头")
    return text
