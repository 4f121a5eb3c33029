"""The statistics table as XLSX, CSV and JSON: LibreOffice recomputes the workbook's formulas and must agree with
the JSON; the workbook is laid out as a printable government table; no text cell can run as a formula."""

import csv
import io
import json
import shutil
import subprocess
from typing import Any

import pytest
from openpyxl import load_workbook

from shared.core import reference_data
from shared.core.text import FORMULA_STARTS, spreadsheet_text
from shared.reporting import workbook
from shared.reporting.report_document import COUNTY_SCOPE
from shared.reporting.xlsx import Formula
from tests.report_sample import FORMULA_CORPUS, sample_document

DEPARTMENT = "JJDD"
SCOPES = {"county": COUNTY_SCOPE, "department": DEPARTMENT}
SHEETS = ["开展情况统计表", "案件类型", "受理渠道", "突出执法问题", "典型案例", "考核评分", "回访满意度", "征求意见"]
FIRST_DATA_LINE = 4  # title, info line, two header rows
# LibreOffice's CSV export: comma, double quote, UTF-8, raw values (not as shown), every sheet (-1) to its own file.
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
LAYOUT = reference_data.load_json("report_table.json")


def _statistics_fields() -> list[str]:
    return [column["field"] for group in LAYOUT["statistics"]["groups"] for column in group["columns"]]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Both workbooks, their JSON, and every sheet as LibreOffice computes it, from one LibreOffice run."""
    folder = tmp_path_factory.mktemp("workbooks")
    result: dict[str, dict[str, Any]] = {}
    for name, scope in SCOPES.items():
        document = sample_document(scope, corpus=FORMULA_CORPUS)
        (folder / f"{name}.xlsx").write_bytes(workbook.to_xlsx(document))
        result[name] = {"json": json.loads(workbook.to_json(document)), "csv": workbook.to_csv(document)}
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice (Debian package libreoffice-calc-nogui) is needed: .ci/run installs it"
    subprocess.run(
        [
            soffice,
            "--headless",
            "--norestore",
            # A profile of its own, so parallel runs and a desktop session never share one.
            f"-env:UserInstallation={(folder / 'profile').as_uri()}",
            "--convert-to",
            CSV_FILTER,
            "--outdir",
            str(folder / "out"),
            *[str(folder / f"{name}.xlsx") for name in SCOPES],
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    # The same workbooks as LibreOffice reads them, in its flat XML: a cell it would compute has table:formula.
    subprocess.run(
        [
            soffice,
            "--headless",
            "--norestore",
            f"-env:UserInstallation={(folder / 'profile').as_uri()}",
            "--convert-to",
            "fods",
            "--outdir",
            str(folder / "flat"),
            *[str(folder / f"{name}.xlsx") for name in SCOPES],
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    for name in SCOPES:
        result[name]["formulas"] = _formula_cells((folder / "flat" / f"{name}.fods").read_bytes())
        result[name]["xlsx"] = load_workbook(folder / f"{name}.xlsx")
        result[name]["computed"] = {
            sheet: list(csv.reader(io.StringIO((folder / "out" / f"{name}-{sheet}.csv").read_text("utf-8-sig"))))
            for sheet in SHEETS
        }
    return result


# OpenDocument's table namespace, as ElementTree spells qualified names.
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"


def _formula_cells(flat_ods: bytes) -> set[tuple[str, int, int]]:
    """(sheet, row, column), 1-based, of every cell LibreOffice holds as a formula."""
    from xml.etree import ElementTree

    table = TABLE
    found = set()
    for sheet in ElementTree.fromstring(flat_ods).iter(f"{table}table"):
        row_number = 0
        for row in sheet.iter(f"{table}table-row"):
            row_number += 1
            column = 0
            for cell in row:
                if cell.tag not in (f"{table}table-cell", f"{table}covered-table-cell"):
                    continue
                column += 1
                if cell.get(f"{table}formula"):
                    found.add((sheet.get(f"{table}name", ""), row_number, column))
                column += int(cell.get(f"{table}number-columns-repeated", "1")) - 1
            row_number += int(row.get(f"{table}number-rows-repeated", "1")) - 1
    return found


def _own_formulas(scope: str) -> set[tuple[str, int, int]]:
    """Where the workbook computes something itself: its totals, sums and rises."""
    return {
        (table.sheet, workbook.FIRST_ROW + index, column)
        for table in workbook._tables(sample_document(scope, corpus=FORMULA_CORPUS))
        for index, row in enumerate(table.rows)
        for column, cell in enumerate(row, start=1)
        if isinstance(cell, Formula)
    }


@pytest.mark.parametrize("name", SCOPES)
def test_no_cell_libreoffice_reads_is_a_formula_but_the_workbooks_own(
    rendered: dict[str, dict[str, Any]], name: str
) -> None:
    # Given workbooks whose remarks and typical cases hold the formula corpus, control-prefixed variants included
    assert any(text in json.dumps(rendered[name]["json"]) for text in ("\\u0001=HYPERLINK", "\\t=1+1"))
    # Then LibreOffice finds formulas exactly where the workbook computes its own figures, and nowhere else
    assert rendered[name]["formulas"] == _own_formulas(SCOPES[name])
    # And every corpus text reads as text, without its control characters (XML reads a CR as a line feed)
    shown = {cell for sheet in rendered[name]["computed"].values() for line in sheet for cell in line}
    for text in FORMULA_CORPUS:
        assert spreadsheet_text(text)[0].replace("\r", "\n") in shown, repr(text)


def _number(text: str) -> Any:
    """A value of LibreOffice's CSV: an int, a fraction from a percentage, or the dash for no rate."""
    if text.endswith("%"):
        return float(text[:-1]) / 100
    return text if text == "-" else int(float(text))


def _assert_rate(shown: str, expected: float | None) -> None:
    if expected is None:
        assert shown == "-"
    else:
        assert _number(shown) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("scope", SCOPES)
def test_libreoffice_computes_the_statistics_table_as_the_json_says(
    rendered: dict[str, dict[str, Any]], scope: str
) -> None:
    # Given the workbook of the scope, recomputed by LibreOffice, and the JSON of the same document
    lines = rendered[scope]["computed"]["开展情况统计表"]
    document = rendered[scope]["json"]
    fields = _statistics_fields()
    labels = [column["label"] for group in LAYOUT["statistics"]["groups"] for column in group["columns"]]
    # Then the columns are where the layout puts them
    assert [label or previous for label, previous in zip(lines[3][2:], lines[2][2:], strict=True)] == labels
    # And every department's figures, its on-time rate and the formula totals equal the JSON's
    body = lines[FIRST_DATA_LINE:]
    assert len(body) == len(document["rows"]) + 1
    for line, row in zip(body, [*document["rows"], document["totals"]], strict=True):
        assert line[1] == row["name"]
        for shown, name in zip(line[2:], fields, strict=True):
            if name == "on_time_rate":
                _assert_rate(shown, row["on_time_rate"])
            elif name == "remarks":
                # as the workbook holds it: control characters dropped, a CR read back as a line feed
                assert shown == spreadsheet_text(row["remarks"])[0].replace("\r", "\n")
            else:
                assert _number(shown) == row[name], (row["name"], name)
    assert body[-1][1] == "合计"


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize(
    ("sheet", "key", "counts"), [("案件类型", "categories", "by_category"), ("受理渠道", "channels", "by_channel")]
)
def test_libreoffice_computes_category_and_channel_totals_as_the_json_says(
    rendered: dict[str, dict[str, Any]], scope: str, sheet: str, key: str, counts: str
) -> None:
    # Given a breakdown sheet recomputed by LibreOffice
    lines = rendered[scope]["computed"][sheet]
    document = rendered[scope]["json"]
    codes = list(document[key])
    # Then its columns are the document's categories or channels, then the total
    assert lines[3][2:-1] == list(document[key].values())
    # And each row's counts, its SUM across and the SUM down equal the JSON's
    for line, row in zip(lines[FIRST_DATA_LINE:], [*document["rows"], document["totals"]], strict=True):
        expected = [row[counts].get(code, 0) for code in codes]
        assert [_number(shown) for shown in line[2:]] == [*expected, sum(expected)]
    assert sum(document["totals"][counts].values()) == document["totals"]["received"]


def test_libreoffice_computes_hotspot_rises_and_shows_the_assessment(rendered: dict[str, dict[str, Any]]) -> None:
    # Given the county workbook recomputed by LibreOffice
    computed = rendered["county"]["computed"]
    document = rendered["county"]["json"]
    # Then each hotspot's rise is its count minus the previous window's, in rank order
    hotspots = computed["突出执法问题"][FIRST_DATA_LINE:]
    assert [(line[0], line[1]) for line in hotspots] == [
        (str(rank), hotspot["title"]) for rank, hotspot in enumerate(document["hotspots"], start=1)
    ]
    assert [_number(line[6]) for line in hotspots] == [h["count"] - h["previous_count"] for h in document["hotspots"]]
    assert hotspots[0][9] == "、".join(document["hotspots"][0]["cases"])
    # And the assessment shows each department's total, the item's weight, score and basis
    scores = computed["考核评分"][FIRST_DATA_LINE:]
    expected = [
        [dept["name"], dept["total"], item["name"], item["weight"], item["score"], item["basis"]]
        for dept in document["assessment"]
        for item in dept["items"]
    ]
    shown = [[line[1], float(line[2]), line[3], float(line[4]), float(line[5]), line[6]] for line in scores]
    assert shown == expected
    # And the typical cases are listed with their redacted text
    cases = computed["典型案例"][FIRST_DATA_LINE:]
    assert [line[1] for line in cases] == [case["tracking_no"] for case in document["typical_cases"]]
    assert cases[0][5] == document["typical_cases"][0]["summary"]


@pytest.mark.parametrize("scope", SCOPES)
def test_libreoffice_computes_the_call_back_rates_as_the_json_says(
    rendered: dict[str, dict[str, Any]], scope: str
) -> None:
    # Given the satisfaction sheet recomputed by LibreOffice
    lines = rendered[scope]["computed"]["回访满意度"]
    document = rendered[scope]["json"]
    # Then its columns are asked, answered, answer rate, the three ratings and the satisfaction rate
    assert lines[3][2:] == ["回访件数", "已评价", "评价率", "满意", "基本满意", "不满意", "满意率"]
    # And each department's figures, both rates and the totals equal the JSON's
    for line, row in zip(lines[FIRST_DATA_LINE:], [*document["rows"], document["totals"]], strict=True):
        assert line[1] == row["name"]
        counts = [line[2], line[3], line[5], line[6], line[7]]
        fields = ["callback_asked", "callback_answered", "satisfied", "basically_satisfied", "dissatisfied"]
        assert [_number(shown) for shown in counts] == [row[name] for name in fields], row["name"]
        _assert_rate(line[4], row["answer_rate"])
        _assert_rate(line[8], row["satisfaction_rate"])


def test_the_survey_sheet_shows_ratings_per_department_and_aspect(rendered: dict[str, dict[str, Any]]) -> None:
    # Given the county workbook's 征求意见 sheet as LibreOffice reads it
    lines = rendered["county"]["computed"]["征求意见"]
    section = rendered["county"]["json"]["surveys"]
    # Then each aspect of the questionnaire heads a ratings and a satisfied-share column
    aspects = list(section["aspects"].values())
    assert [name for name in lines[2][2::2]] == aspects
    assert lines[3][2:4] == ["评价数", "满意率"]
    # And a rated department shows its counts and shares, a dash where nobody rated the aspect
    first = lines[FIRST_DATA_LINE]
    assert first[1] == section["rows"][0]["name"]
    assert (_number(first[2]), _number(first[3])) == (4, 0.75)
    assert first[4] == "0" and first[5] == "-"
    # And the line under the table gives forms issued, answered and filed as complaints
    note = lines[FIRST_DATA_LINE + len(section["rows"]) + 1][0]
    assert "发放征求意见表20份，收回5份，据此登记投诉1件" in note


def test_a_remark_that_looks_like_a_formula_stays_text(rendered: dict[str, dict[str, Any]]) -> None:
    # Given a department's remark that is a HYPERLINK formula (the sample's first row)
    remark = rendered["county"]["json"]["rows"][0]["remarks"]
    assert remark.startswith("=HYPERLINK(")
    sheet = rendered["county"]["xlsx"]["开展情况统计表"]
    column = 2 + _statistics_fields().index("remarks") + 1
    cell = sheet.cell(5, column)
    # Then the workbook holds it as a quoted string cell, not a formula
    assert (cell.value, cell.data_type, cell.quotePrefix) == (remark, "s", True)
    # And LibreOffice shows the text rather than evaluating it
    assert rendered["county"]["computed"]["开展情况统计表"][FIRST_DATA_LINE][column - 1] == remark


@pytest.mark.parametrize("scope", SCOPES)
def test_the_workbook_is_laid_out_as_a_printable_government_table(
    rendered: dict[str, dict[str, Any]], scope: str
) -> None:
    # Given the workbook of a scope
    book = rendered[scope]["xlsx"]
    document = rendered[scope]["json"]
    # Then it has the eight sheets in order
    assert book.sheetnames == SHEETS
    sheet = book["开展情况统计表"]
    width = 2 + len(_statistics_fields())
    last = f"{_letter(width)}"
    merged = {str(cell_range) for cell_range in sheet.merged_cells.ranges}
    # And the title spans the table, with the unit, period and date (county time) beneath it
    assert f"A1:{last}1" in merged
    assert sheet["A1"].value == document["title"] and sheet["A1"].font.b and sheet["A1"].font.sz >= 16
    info = " ".join(str(cell.value) for cell in sheet[2] if cell.value)
    assert f"填报单位：{document['unit']}" in info and "2026年5月5日至10月20日" in info and "2026年9月18日" in info
    # And the header has its groups merged over their columns and single columns merged down both rows
    column = 3
    for group in LAYOUT["statistics"]["groups"]:
        span = len(group["columns"])
        if group.get("title"):
            assert f"{_letter(column)}3:{_letter(column + span - 1)}3" in merged
            assert sheet.cell(3, column).value == group["title"]
        else:
            assert f"{_letter(column)}3:{_letter(column)}4" in merged
        column += span
    assert {"A3:A4", "B3:B4"} <= merged
    # And it prints on A4 landscape, one page wide, with the header repeated and frozen
    assert sheet.freeze_panes == "C5"
    assert sheet.page_setup.orientation == "landscape"
    assert str(sheet.page_setup.paperSize) == str(sheet.PAPERSIZE_A4)
    # (a fitToWidth left out is 1, the file format's default)
    fit_width = 1 if sheet.page_setup.fitToWidth is None else sheet.page_setup.fitToWidth
    assert (fit_width, sheet.page_setup.fitToHeight) == (1, 0)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$3:$4"
    # And each column has the width the table gives it
    widths = {
        number: dimension.width
        for dimension in sheet.column_dimensions.values()
        for number in range(dimension.min, dimension.max + 1)
    }
    statistics = workbook._tables(sample_document(SCOPES[scope], corpus=FORMULA_CORPUS))[0]
    assert [widths.get(number) for number in range(1, width + 1)] == [column.width for column in statistics.columns]
    # And every table cell has thin borders (a merged header on its outer edges) and a CJK serif font
    for row in sheet.iter_rows(min_row=3, max_row=sheet.max_row, max_col=width):
        for cell in row:
            outer = next((r for r in sheet.merged_cells.ranges if cell.coordinate in r), None)
            edges = {
                "left": outer is None or cell.column == outer.min_col,
                "right": outer is None or cell.column == outer.max_col,
                "top": outer is None or cell.row == outer.min_row,
                "bottom": outer is None or cell.row == outer.max_row,
            }
            assert all(getattr(cell.border, side).style == "thin" for side, edge in edges.items() if edge), cell
            if outer is None or cell.coordinate == outer.start_cell.coordinate:
                assert cell.font.name == "宋体", cell.coordinate
    # And the totals row sums the department rows with formulas, the rate a formula as a percentage
    totals = sheet[sheet.max_row]
    assert totals[1].value == "合计"
    rate = 2 + _statistics_fields().index("on_time_rate")
    closed = _letter(3 + _statistics_fields().index("closed"))
    assert totals[2].value == f"=SUM(C5:C{sheet.max_row - 1})"
    assert all(str(cell.value).startswith("=SUM(") for cell in totals[2:rate])
    assert totals[rate].value.startswith(f"=IF({closed}{sheet.max_row}=0,")
    assert sheet.cell(5, rate + 1).number_format == totals[rate].number_format == "0.0%"
    for name in ("案件类型", "受理渠道"):
        breakdown = book[name]
        assert breakdown.freeze_panes == "C5"
        assert all(str(cell.value).startswith("=SUM(") for cell in breakdown[breakdown.max_row][2:])


def _letter(column: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(column))


def _csv_section(lines: list[list[str]], name: str) -> list[list[str]]:
    """The header and rows of one sheet's section of the CSV (up to the blank line after it)."""
    start = lines.index([name]) + 1
    end = next((index for index in range(start, len(lines)) if not lines[index]), len(lines))
    return lines[start:end]


def test_csv_has_a_bom_the_json_totals_and_no_formula() -> None:
    # Given the CSV and the JSON of the county document
    document = sample_document(COUNTY_SCOPE, corpus=FORMULA_CORPUS)
    body = workbook.to_csv(document)
    data = json.loads(workbook.to_json(document))
    # Then it is UTF-8 with a byte order mark and CRLF line ends
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert text.startswith(document.title + "\r\n") and text.endswith("\r\n")
    lines = list(csv.reader(io.StringIO(text)))
    # And the statistics section's totals row has the JSON's totals
    section = _csv_section(lines, "开展情况统计表")
    header, totals = section[0], section[-1]
    assert totals[1] == "合计"
    for name in ("received", "closed", "closed_on_time", "held_accountable", "wrong_decision_accountability"):
        label = next(c["label"] for g in LAYOUT["statistics"]["groups"] for c in g["columns"] if c["field"] == name)
        shown = next(value for heading, value in zip(header, totals, strict=True) if heading.endswith(label))
        assert int(shown) == data["totals"][name]
    assert totals[2 + _statistics_fields().index("on_time_rate")] == f"{data['totals']['on_time_rate']:.1%}"
    # And the category section's totals add up to the JSON's
    categories = _csv_section(lines, "案件类型")
    assert [int(value) for value in categories[-1][2:-1]] == list(data["totals"]["by_category"].values())
    # And the remark that looks like a formula is quoted, and no other cell starts like a formula
    assert "'" + document.rows[0].remarks in section[1]
    cells = [cell for line in lines for cell in line if cell != "-"]
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]


def test_json_has_on_time_rates_and_computed_totals() -> None:
    # Given a department's document whose stored totals are wrong
    document = sample_document(DEPARTMENT)
    document.totals.received += 100
    # When it is rendered as JSON
    body = workbook.to_json(document)
    data = json.loads(body)
    # Then Chinese is written as UTF-8, not escaped
    assert "合计".encode() in body
    # And each row carries its on-time rate, and the totals are the sum of the rows
    row = document.rows[0]
    assert data["rows"][0]["on_time_rate"] == row.on_time_rate
    assert data["totals"]["received"] == row.received
    assert data["totals"]["on_time_rate"] == row.on_time_rate
    assert data["totals"]["by_channel"] == row.by_channel
