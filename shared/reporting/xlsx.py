"""A writer of XLSX workbooks, for the report's printable tables (shared/reporting/workbook.py).

It writes what those tables use and nothing more: string, number, blank and formula cells (a formula with the value
it gives, for viewers that do not recalculate), cell styles (font, alignment, thin borders, number format, quote
prefix), merged ranges, row heights, column widths, frozen panes and header rows repeated on every printed page.
Every sheet prints on A4 landscape, one page wide and centred.

Each cell becomes its XML as it is written (a row's cells in one call), and the parts are zipped at the end. A
county workbook (about 4,000 cells) takes about 8 ms; XlsxWriter, which keeps each cell as an object until the file
is written and checks every call, took 32 ms, more than all of the workbook's reads (issue 14). The output is
checked by LibreOffice, which recomputes every formula, and read back with openpyxl (tests/unit/reporting/).

Rows and columns are counted from 0; the file names them from 1.
"""

import io
import math
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# XML 1.0 cannot hold these characters at all, escaped or not.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# What Excel refuses in a sheet's name (which it also limits to 31 characters).
NOT_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")
# Every entry of the zip carries this time, so that the same tables give the same bytes.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# Printing: A4 (paper size 9), margins in inches (Excel's defaults, but 0.4 on the left and right).
PAGE_MARGINS = '<pageMargins left="0.4" right="0.4" top="1" bottom="1" header="0.5" footer="0.5"/>'


@dataclass(frozen=True)
class Style:
    """How a cell looks; the default is the workbook's default font (Calibri 11) and nothing else."""

    font_name: str = "Calibri"
    font_size: float = 11
    bold: bool = False
    horizontal: str | None = None  # left, center or right
    vertical: str | None = None  # top, center or bottom
    wrap: bool = False
    border: bool = False  # thin on every side
    number_format: str = "General"
    quote_prefix: bool = False  # text that Excel keeps as text when the cell is edited


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attribute(value: str) -> str:
    return _text(value).replace('"', "&quot;")


def _checked(value: str) -> str:
    if NOT_XML.search(value):
        raise ValueError(f"text with a character XML cannot hold: {value!r}")
    return value


@cache
def column_name(column: int) -> str:
    """A 0-based column as the file names it: A, ..., Z, AA, ..."""
    name = ""
    column += 1
    while column:
        column, remainder = divmod(column - 1, 26)
        name = chr(ord("A") + remainder) + name
    return name


def _number(value: int | float) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(int(value))
    if type(value) is float and math.isfinite(value):
        return repr(value)
    raise ValueError(f"not a number a cell can hold: {value!r}")


@dataclass(frozen=True)
class Formula:
    """A cell Excel computes: `formula` as typed there (=SUM(...)), and `value`, what it gives, stored as its
    result for viewers that do not compute."""

    formula: str
    value: int | float | str

    def xml(self) -> str:
        """The cell's type, formula and value, after its reference and style."""
        expression = _text(_checked(self.formula.removeprefix("=")))
        if isinstance(self.value, str):
            return f' t="str"><f>{expression}</f><v>{_text(_checked(self.value))}</v>'
        return f"><f>{expression}</f><v>{_number(self.value)}</v>"


Value = int | float | str | Formula | None


class Sheet:
    """One worksheet; made by Workbook.add_sheet."""

    def __init__(self, name: str, strings: dict[str, int]) -> None:
        if not 0 < len(name) <= 31 or NOT_IN_SHEET_NAME.search(name) or name[0] == "'" or name[-1] == "'":
            raise ValueError(f"not a sheet name Excel allows: {name!r}")
        self.name = _checked(name)
        self._strings = strings
        self._rows: dict[int, dict[int, str]] = {}  # row -> column -> the cell's XML
        self._heights: dict[int, float] = {}
        self._widths: dict[int, float] = {}
        self._merged: list[str] = []
        self._in_merged: set[tuple[int, int]] = set()
        self._frozen = (0, 0)
        self.title_rows: tuple[int, int] | None = None  # first and last row printed on every page (repeat_rows)

    def write(self, row: int, first_column: int, cells: Iterable[tuple[Value, int]]) -> None:
        """Cells from `first_column` on, each a value and the number of its style (`Workbook.style`): a number, text,
        None for a blank cell (which still draws its style's borders), or a Formula."""
        written = self._rows.get(row)
        if written is None:
            written = self._rows[row] = {}
        number = row + 1
        strings = self._strings
        for column, (value, style) in enumerate(cells, start=first_column):
            reference = f"{column_name(column)}{number}"
            # Most cells of a report are counts: an int is written first, without the checks a float needs.
            if type(value) is int:
                written[column] = f'<c r="{reference}" s="{style}"><v>{value}</v></c>'
            elif value is None:
                written[column] = f'<c r="{reference}" s="{style}"/>'
            elif isinstance(value, str):
                index = strings.get(value)
                if index is None:
                    index = strings[_checked(value)] = len(strings)
                written[column] = f'<c r="{reference}" s="{style}" t="s"><v>{index}</v></c>'
            elif isinstance(value, Formula):
                written[column] = f'<c r="{reference}" s="{style}"{value.xml()}</c>'
            else:
                written[column] = f'<c r="{reference}" s="{style}"><v>{_number(value)}</v></c>'

    def merge(self, first_row: int, first_column: int, last_row: int, last_column: int, style: int) -> None:
        """Merge a range, blank in `style` (so that every cell of it draws its borders); write its first cell
        afterwards."""
        if (first_row, first_column) == (last_row, last_column):
            raise ValueError("a single cell cannot be merged")
        # Excel repairs a file whose merged ranges overlap (dropping them): refused here instead.
        cells = {
            (row, column) for row in range(first_row, last_row + 1) for column in range(first_column, last_column + 1)
        }
        if cells & self._in_merged:
            raise ValueError("merged ranges overlap")
        self._in_merged |= cells
        blanks = [(None, style)] * (last_column - first_column + 1)
        for row in range(first_row, last_row + 1):
            self.write(row, first_column, blanks)
        first = f"{column_name(first_column)}{first_row + 1}"
        self._merged.append(f'<mergeCell ref="{first}:{column_name(last_column)}{last_row + 1}"/>')

    def row_height(self, row: int, points: float) -> None:
        self._heights[row] = points

    def column_width(self, column: int, characters: float) -> None:
        """The width Excel stores: characters of the default font's digits (7 pixels each)."""
        self._widths[column] = characters

    def repeat_rows(self, first_row: int, last_row: int) -> None:
        """Print these rows at the top of every page."""
        self.title_rows = (first_row, last_row)

    def freeze(self, rows: int, columns: int) -> None:
        """Keep the first `rows` rows and `columns` columns in view when scrolling."""
        self._frozen = (rows, columns)

    def xml(self, selected: bool) -> str:
        rows = sorted(self._rows.keys() | self._heights.keys())
        if self._rows:
            top, bottom = min(self._rows), max(self._rows)
            left = min(min(cells) for cells in self._rows.values())
            right = max(max(cells) for cells in self._rows.values())
            dimension = f"{column_name(left)}{top + 1}:{column_name(right)}{bottom + 1}"
        else:
            dimension = "A1"
        parts = [
            DECLARATION,
            f'<worksheet xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">',
            '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>',
            f'<dimension ref="{dimension}"/>',
            "<sheetViews><sheetView" + (' tabSelected="1"' if selected else "") + ' workbookViewId="0">',
            self._pane(),
            "</sheetView></sheetViews>",
            '<sheetFormatPr defaultRowHeight="15"/>',
        ]
        if self._widths:
            parts.append("<cols>")
            parts += [
                f'<col min="{column + 1}" max="{column + 1}" width="{width}" customWidth="1"/>'
                for column, width in sorted(self._widths.items())
            ]
            parts.append("</cols>")
        parts.append("<sheetData>")
        for row in rows:
            height = self._heights.get(row)
            opening = f'<row r="{row + 1}"' + (f' ht="{height}" customHeight="1">' if height else ">")
            cells = self._rows.get(row, {})
            parts.append(opening + "".join(cells[column] for column in sorted(cells)) + "</row>")
        parts.append("</sheetData>")
        if self._merged:
            parts += [f'<mergeCells count="{len(self._merged)}">', *self._merged, "</mergeCells>"]
        parts += [
            '<printOptions horizontalCentered="1"/>',
            PAGE_MARGINS,
            '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/>',
            "</worksheet>",
        ]
        return "".join(parts)

    def _pane(self) -> str:
        rows, columns = self._frozen
        if not rows and not columns:
            return ""
        corner = f"{column_name(columns)}{rows + 1}"
        split = (f' xSplit="{columns}"' if columns else "") + (f' ySplit="{rows}"' if rows else "")
        pane = {(True, True): "bottomRight", (True, False): "bottomLeft", (False, True): "topRight"}[
            (bool(rows), bool(columns))
        ]
        return (
            f'<pane{split} topLeftCell="{corner}" activePane="{pane}" state="frozen"/>'
            f'<selection pane="{pane}" activeCell="{corner}" sqref="{corner}"/>'
        )


class Workbook:
    """Sheets in the order added; `to_bytes` gives the file."""

    def __init__(self, title: str, author: str, created: datetime) -> None:
        self.title, self.author, self.created = title, author, created
        self._sheets: list[Sheet] = []
        self._strings: dict[str, int] = {}
        self._styles: dict[Style, int] = {Style(): 0}

    def style(self, style: Style) -> int:
        """The number by which cells name `style`."""
        index = self._styles.get(style)
        if index is None:
            index = self._styles[style] = len(self._styles)
        return index

    def add_sheet(self, name: str) -> Sheet:
        if any(sheet.name.casefold() == name.casefold() for sheet in self._sheets):
            raise ValueError(f"two sheets named {name!r}")
        sheet = Sheet(name, self._strings)
        self._sheets.append(sheet)
        return sheet

    def to_bytes(self) -> bytes:
        # The sheets first: the shared strings and styles are complete once they are rendered.
        sheets = [sheet.xml(selected=number == 0) for number, sheet in enumerate(self._sheets)]
        parts = {
            "[Content_Types].xml": self._content_types(),
            "_rels/.rels": _relationships(
                [
                    (f"{RELATIONSHIPS}/officeDocument", "xl/workbook.xml"),
                    (f"{PACKAGE_RELATIONSHIPS}/metadata/core-properties", "docProps/core.xml"),
                ]
            ),
            "docProps/core.xml": self._core(),
            "xl/workbook.xml": self._workbook(),
            "xl/_rels/workbook.xml.rels": _relationships(
                [(f"{RELATIONSHIPS}/worksheet", f"worksheets/sheet{n}.xml") for n in range(1, len(sheets) + 1)]
                + [(f"{RELATIONSHIPS}/styles", "styles.xml"), (f"{RELATIONSHIPS}/sharedStrings", "sharedStrings.xml")]
            ),
            "xl/styles.xml": _styles(list(self._styles)),
            "xl/sharedStrings.xml": self._shared_strings(),
        } | {f"xl/worksheets/sheet{n}.xml": xml for n, xml in enumerate(sheets, start=1)}
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, xml in parts.items():
                # An entry made with its time takes none of the archive's settings: its compression is given here.
                # Level 1: the XML shrinks almost as much as at the default level, in a fraction of the time.
                archive.writestr(zipfile.ZipInfo(name, ZIP_TIME), xml, zipfile.ZIP_DEFLATED, compresslevel=1)
        return buffer.getvalue()

    def _content_types(self) -> str:
        spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml"
        overrides = [
            ("/xl/workbook.xml", f"{spreadsheet}.sheet.main+xml"),
            ("/xl/styles.xml", f"{spreadsheet}.styles+xml"),
            ("/xl/sharedStrings.xml", f"{spreadsheet}.sharedStrings+xml"),
            ("/docProps/core.xml", "application/vnd.openxmlformats-package.core-properties+xml"),
        ] + [(f"/xl/worksheets/sheet{n}.xml", f"{spreadsheet}.worksheet+xml") for n in range(1, len(self._sheets) + 1)]
        return (
            f'{DECLARATION}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            + "".join(f'<Override PartName="{part}" ContentType="{kind}"/>' for part, kind in overrides)
            + "</Types>"
        )

    def _core(self) -> str:
        created = self.created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            f"{DECLARATION}<cp:coreProperties "
            'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:title>{_text(_checked(self.title))}</dc:title><dc:creator>{_text(_checked(self.author))}</dc:creator>"
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{created}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{created}</dcterms:modified>'
            "</cp:coreProperties>"
        )

    def _workbook(self) -> str:
        sheets = "".join(
            f'<sheet name="{_attribute(sheet.name)}" sheetId="{n}" r:id="rId{n}"/>'
            for n, sheet in enumerate(self._sheets, start=1)
        )
        titles = "".join(
            f'<definedName name="_xlnm.Print_Titles" localSheetId="{n}">'
            f"{_text(_quoted(sheet.name))}!${sheet.title_rows[0] + 1}:${sheet.title_rows[1] + 1}</definedName>"
            for n, sheet in enumerate(self._sheets)
            if sheet.title_rows
        )
        return (
            f'{DECLARATION}<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
            '<bookViews><workbookView activeTab="0"/></bookViews>'
            f"<sheets>{sheets}</sheets>"
            + (f"<definedNames>{titles}</definedNames>" if titles else "")
            # Excel and LibreOffice compute every formula again when they open the file.
            + '<calcPr calcId="191029" fullCalcOnLoad="1"/></workbook>'
        )

    def _shared_strings(self) -> str:
        count = len(self._strings)
        items = "".join(f'<si><t xml:space="preserve">{_text(text)}</t></si>' for text in self._strings)
        return f'{DECLARATION}<sst xmlns="{MAIN}" count="{count}" uniqueCount="{count}">{items}</sst>'


def _quoted(sheet_name: str) -> str:
    """A sheet's name as a reference names it: quoted, its own quotes doubled."""
    doubled = sheet_name.replace("'", "''")
    return f"'{doubled}'"


def _relationships(targets: list[tuple[str, str]]) -> str:
    listed = "".join(
        f'<Relationship Id="rId{n}" Type="{kind}" Target="{target}"/>'
        for n, (kind, target) in enumerate(targets, start=1)
    )
    return f'{DECLARATION}<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">{listed}</Relationships>'


BORDERLESS = "<border><left/><right/><top/><bottom/><diagonal/></border>"
THIN = '<left style="thin"><color auto="1"/></left><right style="thin"><color auto="1"/></right>'
THIN += '<top style="thin"><color auto="1"/></top><bottom style="thin"><color auto="1"/></bottom>'
THIN_BORDERS = f"<border>{THIN}<diagonal/></border>"
# The number formats every spreadsheet knows by number; any other is the workbook's own, numbered from 164.
BUILT_IN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "0%": 9, "0.00%": 10}


def _styles(styles: list[Style]) -> str:
    """styles.xml: a cell format (xf) per style, in the order the sheets' cells name them."""
    fonts: dict[tuple[str, float, bool], int] = {}
    formats: dict[str, int] = {}
    xfs = []
    for style in styles:
        font = fonts.setdefault((style.font_name, style.font_size, style.bold), len(fonts))
        number_format = BUILT_IN_FORMATS.get(style.number_format)
        if number_format is None:
            number_format = formats.setdefault(style.number_format, 164 + len(formats))
        alignment = "".join(
            (
                f' horizontal="{style.horizontal}"' if style.horizontal else "",
                f' vertical="{style.vertical}"' if style.vertical else "",
                ' wrapText="1"' if style.wrap else "",
            )
        )
        xfs.append(
            f'<xf numFmtId="{number_format}" fontId="{font}" fillId="0" borderId="{int(style.border)}" xfId="0"'
            + (' quotePrefix="1"' if style.quote_prefix else "")
            + (
                ' applyNumberFormat="1" applyFont="1" applyBorder="1" applyAlignment="1">'
                f"{f'<alignment{alignment}/>' if alignment else ''}</xf>"
            )
        )
    font_xml = "".join(
        f'<font>{"<b/>" if bold else ""}<sz val="{size:g}"/><name val="{_attribute(name)}"/><family val="2"/></font>'
        for name, size, bold in fonts
    )
    format_xml = "".join(
        f'<numFmt numFmtId="{number}" formatCode="{_attribute(code)}"/>' for code, number in formats.items()
    )
    return (
        f'{DECLARATION}<styleSheet xmlns="{MAIN}">'
        + (f'<numFmts count="{len(formats)}">{format_xml}</numFmts>' if formats else "")
        + f'<fonts count="{len(fonts)}">{font_xml}</fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        f'<borders count="2">{BORDERLESS}{THIN_BORDERS}</borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )
