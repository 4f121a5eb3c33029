"""The printable sheet of a survey's links: A4 pages of cut-out slips, each with a QR code of one one-time link,
the link written out and its number, to hand out at an enterprise forum (shared/reporting/surveys.py).

The QR codes are drawn as filled squares (segno gives the module matrix), so the PDF needs no image; the text uses
the report font, embedded as in the phase summary (shared/reporting/summary_pdf.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import segno

from shared.core import reference_data
from shared.core.settings import get_settings
from shared.reporting.summary_pdf import font_file

if TYPE_CHECKING:
    from fpdf import FPDF

FONT = "sheet"
MARGIN = 15.0  # millimetres
COLUMNS, ROWS = 2, 4  # slips per page
SLIP_WIDTH, SLIP_HEIGHT = 90.0, 64.0
QR_SIZE = 36.0
QUIET_ZONE = 2  # modules of white around a code, the minimum scanners read reliably


def to_pdf(title: str, form_title: str, urls: list[str], now: datetime) -> bytes:
    from fpdf import FPDF

    font = font_file()
    if not font.is_file():
        raise FileNotFoundError(f"report font not found: {font} (setting report_font_path)")
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.add_font(FONT, fname=str(font), collection_font_number=get_settings().report_font_index)
    pdf.set_auto_page_break(False)
    pdf.set_title(f"{title} {form_title}")
    pdf.set_lang("zh-CN")
    pdf.set_creation_date(now)
    county = reference_data.county().name
    per_page = COLUMNS * ROWS
    for index, url in enumerate(urls):
        if index % per_page == 0:
            pdf.add_page()
            pdf.set_font(FONT, size=13)
            pdf.set_xy(MARGIN, 6)
            pdf.cell(0, 7, f"{county}{form_title}（{title}）", align="C")
        position = index % per_page
        x = MARGIN + (position % COLUMNS) * SLIP_WIDTH
        y = MARGIN + (position // COLUMNS) * SLIP_HEIGHT
        _slip(pdf, x, y, index + 1, url, form_title)
    return bytes(pdf.output())


def _slip(pdf: FPDF, x: float, y: float, number: int, url: str, form_title: str) -> None:
    pdf.set_draw_color(160, 160, 160)
    pdf.set_dash_pattern(dash=1, gap=1)
    pdf.rect(x, y, SLIP_WIDTH, SLIP_HEIGHT)
    pdf.set_dash_pattern()
    _qr(pdf, x + 3, y + 4, url)
    text_x, text_width = x + QR_SIZE + 6, SLIP_WIDTH - QR_SIZE - 9
    pdf.set_font(FONT, size=10.5)
    pdf.set_xy(text_x, y + 5)
    pdf.multi_cell(text_width, 6, f"{form_title}\n第 {number} 号", new_x="LEFT", new_y="NEXT")
    pdf.set_font(FONT, size=9)
    pdf.set_x(text_x)
    pdf.multi_cell(text_width, 4.5, "用手机扫描二维码填写，不记名，每张限填一次。", new_x="LEFT", new_y="NEXT")
    pdf.set_font(FONT, size=6.5)
    pdf.set_xy(x + 3, y + QR_SIZE + 7)
    from fpdf.enums import WrapMode  # imported already by to_pdf

    pdf.multi_cell(SLIP_WIDTH - 6, 3.2, url, wrapmode=WrapMode.CHAR)


def _qr(pdf: FPDF, x: float, y: float, url: str) -> None:
    code = segno.make(url, error="m")
    matrix = list(code.matrix)
    modules = len(matrix) + 2 * QUIET_ZONE
    size = QR_SIZE / modules
    pdf.set_fill_color(0, 0, 0)
    for row_number, row in enumerate(matrix):
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            # A run of dark modules is one rectangle: fewer drawing operations, no seams between modules.
            pdf.rect(
                x + (QUIET_ZONE + start) * size,
                y + (QUIET_ZONE + row_number) * size,
                (column - start) * size,
                size,
                style="F",
            )
