"""The printable sheet of a survey's links (shared/reporting/survey_sheet.py): every link written out and drawn as
a QR code that holds exactly that link, the text in the embedded report font.

Needs poppler-utils and fonts-noto-cjk, as the phase summary's tests."""

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import segno
from PIL import Image

from shared.reporting import survey_sheet
from tests.unit.reporting.test_summary_pdf import EmbeddedFont, pdftotext, squeezed

URLS = [f"https://tousu.example.gov.cn/intake/surveys/20260601-a1b2c3?t=token{n:07d}" for n in range(1, 10)]
DPI = 300


def sheet() -> bytes:
    return survey_sheet.to_pdf("企业座谈会", "行政执法工作征求意见表", URLS, datetime(2026, 6, 1, 2, tzinfo=UTC))


def test_every_link_is_written_out_numbered_in_the_embedded_font() -> None:
    # given the sheet of nine links (two pages of eight slips)
    data = sheet()
    # when its text is read
    flat = squeezed(pdftotext(data))
    # then each link and its number are there, under the county's title
    assert "靖宇县行政执法工作征求意见表（企业座谈会）" in flat
    for number, url in enumerate(URLS, start=1):
        assert url in flat and f"第{number}号" in flat
    # and every character is drawn by the one embedded font
    font = EmbeddedFont(data)
    for char in set("".join(flat)) - set(" "):
        assert any(font.draws(cid) for cid in font.cids(char)), char


def test_the_qr_code_of_a_slip_is_its_link(tmp_path: Path) -> None:
    # given the first page rendered at 300 dpi
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(DPI), "-f", "1", "-l", "1", "-", str(tmp_path / "page")],
        input=sheet(),
        check=True,
    )
    page = Image.open(next(tmp_path.glob("page-*.png"))).convert("L")
    for position in (0, 3):
        # when the modules of the slip's code are read at their centres
        expected = [list(row) for row in segno.make(URLS[position], error="m").matrix]
        found = read_code(page, position, len(expected))
        # then they are the QR code of that slip's link, module for module
        assert found == expected, position


def read_code(page: Image.Image, position: int, width: int) -> list[list[int]]:
    """The dark (1) and light (0) modules of the code of the slip at `position` on a page rendered at DPI."""
    size = survey_sheet.QR_SIZE / (width + 2 * survey_sheet.QUIET_ZONE)
    left = survey_sheet.MARGIN + (position % survey_sheet.COLUMNS) * survey_sheet.SLIP_WIDTH + 3
    top = survey_sheet.MARGIN + (position // survey_sheet.COLUMNS) * survey_sheet.SLIP_HEIGHT + 4

    def dark(row: int, column: int) -> int:
        x = (left + (survey_sheet.QUIET_ZONE + column + 0.5) * size) * DPI / 25.4
        y = (top + (survey_sheet.QUIET_ZONE + row + 0.5) * size) * DPI / 25.4
        return int(page.getpixel((round(x), round(y))) < 128)

    return [[dark(row, column) for column in range(width)] for row in range(width)]
