"""The statistics table of a report (issue 5) as an XLSX workbook, as CSV and as JSON.

Every sheet is first laid out as a `_Table` (columns under their group headers, rows of cells); the workbook and
the CSV render the same tables, so both show the same figures. A figure the workbook computes (totals, the
on-time rate, a hotspot's rise) is a `Formula` cell: its formula goes into the workbook, with its value as the
stored result for viewers that do not recalculate, and its value into the CSV. Sheet names, titles and labels are
the county's, in `shared/data/report_table.json`.

The workbook is written by shared/reporting/xlsx.py, which renders each cell's XML as it is written.
"""

import csv
import io
import itertools
import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, model_validator

from shared.core import reference_data
from shared.core.text import safe_cell, spreadsheet_text
from shared.reporting.report_document import COUNT_FIELDS, SATISFACTION_FIELDS, DepartmentRow, ReportDocument
from shared.reporting.xlsx import Formula, Sheet, Style, Value, Workbook, column_name

# Rows of every sheet: 1 title, 2 unit / period / date, 3 and 4 headers, then the table.
FIRST_ROW = 5
RATE = "on_time_rate"
REMARKS = "remarks"
NO_RATE = "-"  # nothing closed: a dash, not 0%
PERCENT = "0.0%"
BODY_FONT = "宋体"
TITLE_FONT = "方正小标宋简体"


class _LayoutColumn(BaseModel):
    field: str
    label: str


class _Group(BaseModel):
    title: str | None = None
    columns: list[_LayoutColumn]


class _StatisticsLayout(BaseModel):
    sheet: str
    groups: list[_Group]

    @model_validator(mode="after")
    def _known_fields(self) -> "_StatisticsLayout":
        fields = [column.field for group in self.groups for column in group.columns]
        unknown = set(fields) - {*COUNT_FIELDS, RATE, REMARKS}
        if unknown:
            raise ValueError(f"report_table.json: unknown statistics fields {sorted(unknown)}")
        if RATE in fields and not {"closed", "closed_on_time"} <= set(fields):
            raise ValueError("report_table.json: on_time_rate needs the closed and closed_on_time columns")
        return self

    def fields(self) -> list[str]:
        return [column.field for group in self.groups for column in group.columns]


class _BreakdownLayout(BaseModel):
    sheet: str
    title: str
    group: str


class _ListLayout(BaseModel):
    sheet: str
    title: str
    labels: dict[str, str]
    kinds: dict[str, str] = {}
    statuses: dict[str, str] = {}


class _SatisfactionLayout(BaseModel):
    sheet: str
    title: str
    group: str
    labels: dict[str, str]


class _SurveysLayout(BaseModel):
    sheet: str
    title: str
    labels: dict[str, str]
    summary: str


class _Info(BaseModel):
    unit: str
    period: str
    date: str


class _Layout(BaseModel):
    index_label: str
    unit_label: str
    totals_label: str
    info: _Info
    date_format: str
    statistics: _StatisticsLayout
    categories: _BreakdownLayout
    channels: _BreakdownLayout
    hotspots: _ListLayout
    typical_cases: _ListLayout
    assessment: _ListLayout
    satisfaction: _SatisfactionLayout
    surveys: _SurveysLayout


@cache
def _layout() -> _Layout:
    return _Layout.model_validate(reference_data.load_json("report_table.json"))


Cell = Value  # a number, text, None for an empty cell, or a Formula


@dataclass(frozen=True)
class _Column:
    label: str
    group: str | None = None  # consecutive columns of one group share a header over their labels
    width: float = 7
    number_format: str | None = None
    text: bool = False  # free text: left-aligned and wrapped


@dataclass
class _Table:
    sheet: str
    title: str
    columns: list[_Column]
    rows: list[list[Cell]]
    frozen_columns: int = 0
    has_totals: bool = False  # the last row is the totals row
    merged_down: list[tuple[int, int, int]] = field(default_factory=list)  # column, first and last row (0-based)
    note: str = ""  # a line under the table


def _value(cell: Cell) -> Any:
    return cell.value if isinstance(cell, Formula) else cell


def _column_sum(rows: list[list[Cell]], column: int) -> Formula:
    """SUM over the data rows of a 0-based column (the totals row comes right after them)."""
    name = column_name(column)
    last = FIRST_ROW + len(rows) - 1
    total = sum(_value(row[column]) or 0 for row in rows)
    return Formula(f"=SUM({name}{FIRST_ROW}:{name}{last})", total) if rows else Formula("=0", 0)


def _ratio(part: str, whole: str, part_count: int, whole_count: int) -> Formula:
    """part / whole as a formula (`part` may be a sum, e.g. F5+G5), the dash when whole is 0."""
    numerator = f"({part})" if "+" in part else part
    value = part_count / whole_count if whole_count else NO_RATE
    return Formula(f'=IF({whole}=0,"{NO_RATE}",{numerator}/{whole})', value)


def _local_date(moment: datetime | date | None) -> str:
    if moment is None:
        return ""
    day = moment.astimezone(reference_data.county_timezone()).date() if isinstance(moment, datetime) else moment
    return _layout().date_format.format(year=day.year, month=day.month, day=day.day)


def _department_name(code: str | None) -> str:
    names = {department.code: department.name for department in reference_data.departments()}
    return names.get(code, code) if code else ""


def _statistics(document: ReportDocument) -> _Table:
    layout = _layout()
    fields = layout.statistics.fields()
    columns = [_Column(layout.index_label, width=5), _Column(layout.unit_label, width=22, text=True)]
    for group in layout.statistics.groups:
        for column in group.columns:
            if column.field == RATE:
                columns.append(_Column(column.label, group.title, width=9, number_format=PERCENT))
            elif column.field == REMARKS:
                columns.append(_Column(column.label, group.title, width=24, text=True))
            else:
                columns.append(_Column(column.label, group.title))
    # Column names of the figures the rate is computed from (the statistics columns start at the third).
    names = {name: column_name(2 + position) for position, name in enumerate(fields)}
    rows: list[list[Cell]] = []
    for index, department in enumerate(document.rows):
        row_number = FIRST_ROW + index
        cells: list[Cell] = [index + 1, department.name]
        for name in fields:
            if name == RATE:
                cells.append(
                    _ratio(
                        f"{names['closed_on_time']}{row_number}",
                        f"{names['closed']}{row_number}",
                        department.closed_on_time,
                        department.closed,
                    )
                )
            else:
                cells.append(getattr(department, name))
        rows.append(cells)
    totals_row = FIRST_ROW + len(rows)
    totals: list[Cell] = [None, layout.totals_label]
    for position, name in enumerate(fields, start=2):
        if name == REMARKS:
            totals.append(None)
        elif name == RATE:
            closed = sum(row.closed for row in document.rows)
            on_time = sum(row.closed_on_time for row in document.rows)
            totals.append(
                _ratio(f"{names['closed_on_time']}{totals_row}", f"{names['closed']}{totals_row}", on_time, closed)
            )
        else:
            totals.append(_column_sum(rows, position))
    return _Table(layout.statistics.sheet, document.title, columns, [*rows, totals], frozen_columns=2, has_totals=True)


def _breakdown(document: ReportDocument, kind: Literal["categories", "channels"]) -> _Table:
    """Departments x categories or x channels, with a total per department and per column."""
    layout = _layout()
    sheet = getattr(layout, kind)
    names: dict[str, str] = getattr(document, kind)
    counts_of = "by_category" if kind == "categories" else "by_channel"
    columns = [
        _Column(layout.index_label, width=5),
        _Column(layout.unit_label, width=22, text=True),
        *[_Column(name, sheet.group, width=9) for name in names.values()],
        _Column(layout.totals_label),
    ]
    first, last = column_name(2), column_name(1 + len(names))
    rows: list[list[Cell]] = []
    for index, department in enumerate(document.rows):
        counts = [getattr(department, counts_of).get(code, 0) for code in names]
        row_number = FIRST_ROW + index
        total = Formula(f"=SUM({first}{row_number}:{last}{row_number})", sum(counts))
        rows.append([index + 1, department.name, *counts, total])
    totals: list[Cell] = [None, layout.totals_label, *[_column_sum(rows, c) for c in range(2, len(columns))]]
    title = sheet.title.format(scope=document.scope_name)
    return _Table(sheet.sheet, title, columns, [*rows, totals], frozen_columns=2, has_totals=True)


def _hotspots(document: ReportDocument) -> _Table:
    """The hotspots in the document's order, which is their rank."""
    sheet = _layout().hotspots
    labels = sheet.labels
    columns = [
        _Column(labels["rank"], width=5),
        _Column(labels["title"], width=30, text=True),
        _Column(labels["kind"], width=12),
        _Column(labels["window_days"], width=9),
        _Column(labels["count"]),
        _Column(labels["previous_count"]),
        _Column(labels["rise"]),
        _Column(labels["status"], width=11),
        _Column(labels["opened_at"], width=15),
        _Column(labels["cases"], width=34, text=True),
    ]
    rows: list[list[Cell]] = []
    for index, hotspot in enumerate(document.hotspots):
        row_number = FIRST_ROW + index
        rows.append(
            [
                index + 1,
                hotspot.title,
                sheet.kinds.get(hotspot.kind, hotspot.kind),
                hotspot.window_days,
                hotspot.count,
                hotspot.previous_count,
                Formula(f"=E{row_number}-F{row_number}", hotspot.count - hotspot.previous_count),
                sheet.statuses.get(hotspot.status, hotspot.status),
                _local_date(hotspot.opened_at),
                "、".join(hotspot.cases),
            ]
        )
    return _Table(sheet.sheet, sheet.title.format(scope=document.scope_name), columns, rows)


def _typical_cases(document: ReportDocument) -> _Table:
    sheet = _layout().typical_cases
    labels = sheet.labels
    columns = [
        _Column(_layout().index_label, width=5),
        _Column(labels["tracking_no"], width=17),
        _Column(labels["kind"], width=10),
        _Column(labels["department"], width=18, text=True),
        _Column(labels["title"], width=22, text=True),
        _Column(labels["summary"], width=40, text=True),
        _Column(labels["outcome"], width=36, text=True),
        _Column(labels["published_at"], width=15),
    ]
    rows: list[list[Cell]] = [
        [
            index + 1,
            case.tracking_no,
            sheet.kinds.get(case.kind, case.kind),
            _department_name(case.department),
            case.title,
            case.summary,
            case.outcome,
            _local_date(case.published_at),
        ]
        for index, case in enumerate(document.typical_cases)
    ]
    return _Table(sheet.sheet, sheet.title.format(scope=document.scope_name), columns, rows)


def _assessment(document: ReportDocument) -> _Table:
    """One row per scored item; a department's number, name and total span its items' rows."""
    sheet = _layout().assessment
    labels = sheet.labels
    columns = [
        _Column(_layout().index_label, width=5),
        _Column(labels["department"], width=22, text=True),
        _Column(labels["total"], number_format="0.0"),
        _Column(labels["item"], width=18, text=True),
        _Column(labels["weight"], number_format="0.0"),
        _Column(labels["score"], number_format="0.0"),
        _Column(labels["basis"], width=44, text=True),
    ]
    rows: list[list[Cell]] = []
    merged: list[tuple[int, int, int]] = []
    for index, department in enumerate(document.assessment):
        first = len(rows)
        head: list[Cell] = [index + 1, department.name, department.total]
        for item in department.items:
            rows.append([*(head if len(rows) == first else [None] * 3), item.name, item.weight, item.score, item.basis])
        if not department.items:
            rows.append([*head, None, None, None, None])
        if len(rows) - first > 1:
            merged += [(column, first, len(rows) - 1) for column in range(3)]
    return _Table(
        sheet.sheet,
        sheet.title.format(scope=document.scope_name),
        columns,
        rows,
        frozen_columns=2,
        merged_down=merged,
    )


SATISFACTION_COLUMNS = (
    "callback_asked",
    "callback_answered",
    "answer_rate",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
    "satisfaction_rate",
)


def _satisfaction(document: ReportDocument) -> _Table:
    """The call-back (回访) per department: asked, answered and its rate, the ratings, the satisfaction rate
    (satisfied and basically satisfied of those answering)."""
    layout = _layout()
    sheet = layout.satisfaction
    columns = [_Column(layout.index_label, width=5), _Column(layout.unit_label, width=22, text=True)]
    for name in SATISFACTION_COLUMNS:
        rate = name.endswith("_rate")
        columns.append(_Column(sheet.labels[name], sheet.group, width=9, number_format=PERCENT if rate else None))
    asked, answered, _, satisfied, basically, _, _ = (column_name(2 + n) for n in range(len(SATISFACTION_COLUMNS)))

    def cells(row: DepartmentRow, number: int) -> list[Cell]:
        good = row.satisfied + row.basically_satisfied
        return [
            row.callback_asked,
            row.callback_answered,
            _ratio(f"{answered}{number}", f"{asked}{number}", row.callback_answered, row.callback_asked),
            row.satisfied,
            row.basically_satisfied,
            row.dissatisfied,
            _ratio(f"{satisfied}{number}+{basically}{number}", f"{answered}{number}", good, row.callback_answered),
        ]

    rows: list[list[Cell]] = [
        [index + 1, row.name, *cells(row, FIRST_ROW + index)] for index, row in enumerate(document.rows)
    ]
    total = computed_totals(document)
    totals_row: list[Cell] = [None, layout.totals_label]
    for position, cell in enumerate(cells(total, FIRST_ROW + len(rows)), start=2):
        totals_row.append(cell if isinstance(cell, Formula) else _column_sum(rows, position))
    title = sheet.title.format(scope=document.scope_name)
    return _Table(sheet.sheet, title, columns, [*rows, totals_row], frozen_columns=2, has_totals=True)


def _surveys(document: ReportDocument) -> _Table:
    """The opinion forms (征求意见): per department rated, per aspect the ratings and the share satisfied."""
    layout = _layout()
    sheet = layout.surveys
    section = document.surveys
    columns = [_Column(layout.index_label, width=5), _Column(layout.unit_label, width=22, text=True)]
    for name in section.aspects.values():
        columns.append(_Column(sheet.labels["rated"], name, width=7))
        columns.append(_Column(sheet.labels["rate"], name, width=8, number_format=PERCENT))
    rows: list[list[Cell]] = []
    for index, row in enumerate(section.rows):
        cells: list[Cell] = [index + 1, row.name]
        for aspect in section.aspects:
            rated = row.rated.get(aspect, 0)
            cells += [rated, row.satisfied.get(aspect, 0) / rated if rated else NO_RATE]
        rows.append(cells)
    note = sheet.summary.format(**section.model_dump(include={"surveys", "issued", "answered", "complaints"}))
    return _Table(
        sheet.sheet, sheet.title.format(scope=document.scope_name), columns, rows, frozen_columns=2, note=note
    )


def _tables(document: ReportDocument) -> list[_Table]:
    return [
        _statistics(document),
        _breakdown(document, "categories"),
        _breakdown(document, "channels"),
        _hotspots(document),
        _typical_cases(document),
        _assessment(document),
        _satisfaction(document),
        _surveys(document),
    ]


def _info(document: ReportDocument) -> list[str]:
    """The line under the title: unit, period and the date the table was made (county time)."""
    info = _layout().info
    return [
        info.unit.format(unit=document.unit),
        info.period.format(period=document.period.label),
        info.date.format(date=_local_date(document.generated_at)),
    ]


def to_xlsx(document: ReportDocument) -> bytes:
    """One workbook for the document's scope, a sheet per table, formatted for printing on A4 landscape."""
    book = Workbook(document.title, document.unit, document.generated_at)
    info = _info(document)
    formats = _Formats(book)
    for table in _tables(document):
        _write_sheet(book.add_sheet(table.sheet), table, info, formats)
    return book.to_bytes()


class _Formats:
    """The workbook's cell styles, by the number its cells name them with."""

    def __init__(self, book: Workbook) -> None:
        self.book = book
        self.styles: dict[int, Style] = {}  # to derive a style's quoted twin

    def __call__(self, style: Style) -> int:
        number = self.book.style(style)
        self.styles[number] = style
        return number

    def table(self, *, bold: bool, text: bool = False, number_format: str | None = None) -> int:
        """A table cell: thin borders, wrapped, free text left-aligned and the rest centred."""
        return self(
            Style(
                BODY_FONT,
                10,
                bold=bold,
                horizontal="left" if text else "center",
                vertical="center",
                wrap=True,
                border=True,
                number_format=number_format or "General",
            )
        )

    def quoted(self, style: int) -> int:
        """The same style with the quote prefix, which keeps text that looks like a formula text when edited."""
        return self(replace(self.styles[style], quote_prefix=True))


def _write_sheet(sheet: Sheet, table: _Table, info: list[str], formats: _Formats) -> None:
    # Rows and columns are counted from 0 here: the sheet's row n, as the formulas name it, is n - 1.
    width = len(table.columns)
    top = FIRST_ROW - 1
    title = formats(Style(TITLE_FONT, 18, bold=True, horizontal="center", vertical="center"))
    _merge(sheet, 0, 0, 0, width - 1, table.title, title, formats)
    sheet.row_height(0, 36)
    # Unit on the left, period in the middle, date on the right, each over a third of the width.
    bounds = [0, width // 3, 2 * width // 3, width]
    spans = itertools.pairwise(bounds)
    for text, (start, end), horizontal in zip(info, spans, ("left", "center", "right"), strict=True):
        line = formats(Style(BODY_FONT, 11, horizontal=horizontal, vertical="center"))
        _merge(sheet, 1, start, 1, end - 1, text, line, formats)
    sheet.row_height(1, 22)
    _write_headers(sheet, table, formats)
    body, totals = (
        [formats.table(bold=bold, text=column.text, number_format=column.number_format) for column in table.columns]
        for bold in (False, table.has_totals)
    )
    # Merged before the rows are written: the merge blanks the range, the rows then fill its first cell.
    for spanned, first, last in table.merged_down:
        sheet.merge(top + first, spanned, top + last, spanned, body[spanned])
    last_index = len(table.rows) - 1
    for index, row in enumerate(table.rows):
        styles = totals if index == last_index else body
        sheet.write(top + index, 0, [_cell(value, style, formats) for value, style in zip(row, styles, strict=True)])
    if table.note:
        note_row = top + len(table.rows) + 1
        note = formats(Style(BODY_FONT, 11))
        _merge(sheet, note_row, 0, note_row, width - 1, table.note, note, formats)
    for column, spec in enumerate(table.columns):
        sheet.column_width(column, spec.width)
    sheet.freeze(top, table.frozen_columns)
    sheet.repeat_rows(2, top - 1)  # the two header rows on every printed page


def _write_headers(sheet: Sheet, table: _Table, formats: _Formats) -> None:
    """Row 3 holds group titles over their columns' labels in row 4; a column without a group spans both rows."""
    header = formats.table(bold=True)
    numbered = enumerate(table.columns)
    for group, run in itertools.groupby(numbered, key=lambda item: item[1].group):
        members = list(run)
        if group is None:
            for number, column in members:
                _merge(sheet, 2, number, 3, number, column.label, header, formats)
            continue
        first, last = members[0][0], members[-1][0]
        _merge(sheet, 2, first, 2, last, group, header, formats)
        for number, column in members:
            _put(sheet, 3, number, column.label, header, formats)
    sheet.row_height(2, 24)
    sheet.row_height(3, 42)


def _merge(
    sheet: Sheet,
    first_row: int,
    first_column: int,
    last_row: int,
    last_column: int,
    value: Cell,
    style: int,
    formats: _Formats,
) -> None:
    """Merge a range as one cell holding `value`; Excel cannot merge a single cell, which is just written."""
    if (first_row, first_column) != (last_row, last_column):
        sheet.merge(first_row, first_column, last_row, last_column, style)
    _put(sheet, first_row, first_column, value, style, formats)


def _put(sheet: Sheet, row: int, column: int, value: Cell, style: int, formats: _Formats) -> None:
    sheet.write(row, column, [_cell(value, style, formats)])


def _cell(value: Cell, style: int, formats: _Formats) -> tuple[Value, int]:
    """Formulas only where the table computes one; text that looks like a formula stays text."""
    if not isinstance(value, str):
        return value, style
    # Control characters (which XML cannot hold) dropped first, then the check on what the cell holds.
    text, formula = spreadsheet_text(value)
    if not text:
        # An empty cell, not a string of nothing (which Excel's COUNTA would count).
        return None, style
    # A string cell is never evaluated, and the quote prefix keeps it text when someone edits it.
    return text, formats.quoted(style) if formula else style


def to_csv(document: ReportDocument) -> bytes:
    """The tables of the workbook one after another, with the computed values; UTF-8 with a BOM, CRLF."""
    lines: list[list[object]] = [[safe_cell(document.title)], [safe_cell(text) for text in _info(document)]]
    for table in _tables(document):
        header = [f"{column.group}·{column.label}" if column.group else column.label for column in table.columns]
        lines += [[], [table.sheet], [safe_cell(label) for label in header]]
        lines += [
            [_csv_cell(cell, column) for cell, column in zip(row, table.columns, strict=True)] for row in table.rows
        ]
        if table.note:
            lines.append([safe_cell(table.note)])
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(lines)
    # The byte order mark makes Excel read the file as UTF-8 rather than the system code page.
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def _csv_cell(cell: Cell, column: _Column) -> object:
    if isinstance(cell, Formula):
        # Our own values: a rate as the workbook shows it, the dash for no rate left as it is.
        return f"{cell.value:.1%}" if column.number_format == PERCENT and isinstance(cell.value, float) else cell.value
    if isinstance(cell, str):
        return safe_cell(cell)
    return "" if cell is None else cell


def computed_totals(document: ReportDocument) -> DepartmentRow:
    """The sum of the document's rows, computed here so the JSON agrees with the workbook's SUM formulas."""
    rows = document.rows
    return DepartmentRow(
        department="TOTAL",
        name=_layout().totals_label,
        **{name: sum(getattr(row, name) for row in rows) for name in (*COUNT_FIELDS, *SATISFACTION_FIELDS)},
        by_category={code: sum(row.by_category.get(code, 0) for row in rows) for code in document.categories},
        by_channel={code: sum(row.by_channel.get(code, 0) for row in rows) for code in document.channels},
    )


def _rates(row: DepartmentRow) -> dict[str, float | None]:
    return {RATE: row.on_time_rate, "answer_rate": row.answer_rate, "satisfaction_rate": row.satisfaction_rate}


def to_json(document: ReportDocument) -> bytes:
    """The document with each row's rates (on time, call-backs answered, satisfied) and the computed totals; UTF-8,
    Chinese as written."""
    data = document.model_dump(mode="json")
    for row, source in zip(data["rows"], document.rows, strict=True):
        row.update(_rates(source))
    total = computed_totals(document)
    data["totals"] = {**total.model_dump(mode="json"), **_rates(total)}
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
