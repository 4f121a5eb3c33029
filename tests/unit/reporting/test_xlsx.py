"""The XLSX writer on its own: what it writes reads back in openpyxl as written, every part is well-formed XML, the
same workbook gives the same bytes, and what a workbook cannot hold is refused rather than written into a file that
Excel would have to repair. (The report's own workbook, recomputed by LibreOffice: test_workbook.py.)"""

import io
import zipfile
from datetime import UTC, datetime
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from shared.reporting.xlsx import Formula, Style, Workbook, column_name

CREATED = datetime(2026, 10, 20, 14, 0, tzinfo=UTC)


def _sample() -> Workbook:
    book = Workbook("靖宇县统计表", "县司法局", CREATED)
    bordered = book.style(Style("宋体", 10, bold=True, horizontal="center", vertical="center", wrap=True, border=True))
    percent = book.style(Style("宋体", 10, number_format="0.0%"))
    quoted = book.style(Style("宋体", 10, quote_prefix=True))
    sheet = book.add_sheet("开展情况统计表")
    sheet.merge(0, 0, 0, 3, bordered)
    sheet.write(0, 0, [('标题 <&> "引号"', bordered)])
    sheet.write(4, 1, [(12, bordered)])
    sheet.write(5, 1, [(0.125, percent)])
    row = [(Formula("=SUM(B5:B6)", 12.125), bordered), (None, bordered), ('=HYPERLINK("http://x")', quoted)]
    sheet.write(6, 1, row)
    sheet.write(7, 1, [(Formula('=IF(B5=0,"-",B6/B5)', "-"), bordered)])
    sheet.row_height(0, 36)
    sheet.column_width(0, 5)
    sheet.column_width(1, 12.5)
    sheet.freeze(4, 2)
    sheet.repeat_rows(2, 3)
    other = book.add_sheet("O'Brien 表")
    other.write(0, 0, [("第二张", bordered)])
    other.freeze(4, 0)
    other.repeat_rows(2, 3)
    return book


def test_what_is_written_reads_back_as_written() -> None:
    # Given a workbook of two sheets
    # When it is written and read back
    book = load_workbook(io.BytesIO(_sample().to_bytes()))
    # Then the sheets, values, types and formulas are as written
    assert book.sheetnames == ["开展情况统计表", "O'Brien 表"]
    sheet = book["开展情况统计表"]
    assert sheet["A1"].value == '标题 <&> "引号"'
    assert (sheet["B5"].value, sheet["B6"].value) == (12, 0.125)
    assert sheet["B7"].value == "=SUM(B5:B6)" and sheet["B8"].value == '=IF(B5=0,"-",B6/B5)'
    assert (sheet["D7"].value, sheet["D7"].data_type, sheet["D7"].quotePrefix) == ('=HYPERLINK("http://x")', "s", True)
    assert sheet["C7"].value is None and sheet["C7"].border.left.style == "thin"
    # And the styles, merges, heights, widths, panes and print settings
    assert sheet["A1"].font.name == "宋体" and sheet["A1"].font.b and sheet["A1"].font.sz == 10
    assert sheet["A1"].alignment.horizontal == "center" and sheet["A1"].alignment.wrap_text
    assert all(getattr(sheet["B5"].border, side).style == "thin" for side in ("left", "right", "top", "bottom"))
    assert sheet["B6"].number_format == "0.0%"
    assert {str(merged) for merged in sheet.merged_cells.ranges} == {"A1:D1"}
    assert sheet.row_dimensions[1].height == 36
    assert (sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width) == (5, 12.5)
    assert sheet.freeze_panes == "C5" and book["O'Brien 表"].freeze_panes == "A5"
    assert sheet.print_title_rows == "$3:$4" and book["O'Brien 表"].print_title_rows == "$3:$4"
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.print_options.horizontalCentered
    assert (book.properties.title, book.properties.creator) == ("靖宇县统计表", "县司法局")


def test_every_part_is_well_formed_and_the_same_workbook_gives_the_same_bytes() -> None:
    # Given the same workbook written twice
    first, second = _sample().to_bytes(), _sample().to_bytes()
    # Then the bytes are the same
    assert first == second
    # And every part of the package parses as XML
    with zipfile.ZipFile(io.BytesIO(first)) as package:
        names = package.namelist()
        for name in names:
            ElementTree.fromstring(package.read(name))
    assert {"[Content_Types].xml", "xl/workbook.xml", "xl/styles.xml", "xl/sharedStrings.xml"} <= set(names)


@pytest.mark.parametrize("name", ["", "a" * 32, "表[1]", "a/b", "问?", "'引'", "Sheet*"])
def test_a_sheet_name_excel_refuses_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="sheet name"):
        Workbook("t", "a", CREATED).add_sheet(name)


def test_two_sheets_of_one_name_are_refused_whatever_the_case() -> None:
    book = Workbook("t", "a", CREATED)
    book.add_sheet("Summary")
    with pytest.raises(ValueError, match="two sheets"):
        book.add_sheet("SUMMARY")


@pytest.mark.parametrize("text", ["bell\x07", "nul\x00", "\ufffe"])
def test_text_xml_cannot_hold_is_refused(text: str) -> None:
    book = Workbook("t", "a", CREATED)
    sheet = book.add_sheet("s")
    with pytest.raises(ValueError, match="XML cannot hold"):
        sheet.write(0, 0, [(text, 0)])


@pytest.mark.parametrize("value", [float("nan"), float("inf"), True])
def test_a_number_a_cell_cannot_hold_is_refused(value: float) -> None:
    sheet = Workbook("t", "a", CREATED).add_sheet("s")
    with pytest.raises(ValueError, match="not a number"):
        sheet.write(0, 0, [(value, 0)])


def test_columns_are_named_as_spreadsheets_name_them() -> None:
    assert [column_name(n) for n in (0, 25, 26, 51, 52, 701, 702)] == ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]


def test_merged_ranges_that_overlap_are_refused() -> None:
    sheet = Workbook("t", "a", CREATED).add_sheet("s")
    sheet.merge(2, 0, 3, 0, 0)
    with pytest.raises(ValueError, match="overlap"):
        sheet.merge(3, 0, 3, 4, 0)
