"""The phase summary PDF (shared/reporting/summary_pdf.py): the embedded font covers the text, in Simplified Chinese
forms.

Needs poppler-utils (pdftotext, pdftoppm) and fonts-noto-cjk (the default report font): `.ci/run` installs
them. The PDF is read with a minimal parser of fpdf2's output: numbered objects, each stream's length given.
"""

import io
import re
import subprocess
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fontTools.cffLib import CFFFontSet
from fontTools.ttLib import TTFont
from PIL import Image

from shared.core import reference_data
from shared.core.settings import get_settings
from shared.reporting.report_document import COUNTY_SCOPE, DepartmentRow, Period, ReportDocument
from shared.reporting.summary_pdf import font_file, to_pdf
from tests.report_sample import sample_document

# A dictionary may nest others: it ends where the stream or the object does.
_OBJECT = re.compile(rb"(\d+) 0 obj\s*(<<.*?>>)\s*(?:(stream\r?\n)|endobj)", re.S)


def pdf_objects(data: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    """Object number -> (dictionary, decoded stream or None)."""
    objects: dict[int, tuple[bytes, bytes | None]] = {}
    for match in _OBJECT.finditer(data):
        head, stream = match.group(2), None
        if match.group(3):
            length = int(re.search(rb"/Length (\d+)", head).group(1))  # type: ignore[union-attr]
            stream = data[match.end() : match.end() + length]
            if b"/FlateDecode" in head:
                stream = zlib.decompress(stream)
        objects[int(match.group(1))] = (head, stream)
    return objects


def reference(head: bytes, key: bytes) -> int:
    found = re.search(rb"/" + key + rb" \[?(\d+) 0 R", head)
    assert found, f"no /{key.decode()} in {head[:200]!r}"
    return int(found.group(1))


class EmbeddedFont:
    """The one Type0 font of the PDF: its name, code -> text, code -> CID and the embedded CFF program."""

    def __init__(self, data: bytes) -> None:
        objects = pdf_objects(data)
        type0 = [head for head, _ in objects.values() if b"/Subtype /Type0" in head]
        assert len(type0) == 1, "one embedded font expected"
        head = type0[0]
        self.base_font = re.search(rb"/BaseFont /(\S+)", head).group(1).decode()  # type: ignore[union-attr]
        to_unicode = objects[reference(head, b"ToUnicode")][1] or b""
        encoding = objects[reference(head, b"Encoding")][1] or b""
        self.text_of = {
            int(code, 16): bytes.fromhex(text.decode()).decode("utf-16-be")
            for code, text in re.findall(rb"<([0-9A-F]{4})> <([0-9A-F]+)>", to_unicode)
        }
        self.cid_of = {int(code, 16): int(cid) for code, cid in re.findall(rb"<([0-9A-F]{4})> (\d+)", encoding)}
        descendant = objects[reference(head, b"DescendantFonts")][0]
        descriptor = objects[reference(descendant, b"FontDescriptor")][0]
        program = objects[reference(descriptor, b"FontFile3")][1] or b""
        cff = CFFFontSet()
        cff.decompile(io.BytesIO(program), None)
        self.cff_top = cff[cff.fontNames[0]]

    def cids(self, char: str) -> set[int]:
        return {self.cid_of[code] for code, text in self.text_of.items() if text == char}

    def draws(self, cid: int) -> bool:
        """The embedded program has an outline (not an empty glyph) for the CID."""
        charstrings = self.cff_top.CharStrings
        name = f"cid{cid:05d}"
        if name not in charstrings:
            return False
        charstring = charstrings[name]
        return charstring.calcBounds(charstrings) is not None


def pdftotext(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def page_images(data: bytes, tmp_path: Path) -> Iterator[Image.Image]:
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-", str(tmp_path / "page")], input=data, check=True)
    for path in sorted(tmp_path.glob("page-*.png")):
        yield Image.open(path).convert("L")


def dark_pixels(image: Image.Image) -> int:
    return sum(image.histogram()[:128])


# A page number alone gives a few dozen dark pixels at 50 dpi, two lines of text several hundred.
NOT_BLANK = 300


def squeezed(text: str) -> str:
    """Without line breaks and spaces: wrapped lines joined again."""
    return "".join(text.split())


@pytest.fixture(scope="module")
def county_pdf() -> bytes:
    return to_pdf(sample_document(COUNTY_SCOPE))


def empty_document() -> ReportDocument:
    return ReportDocument(
        report_id="empty",
        campaign="2026",
        title="靖宇县行政执法热点追踪活动开展情况统计表",
        unit="县自然资源局",
        scope="ZRZY",
        scope_name="县自然资源局",
        period=Period(
            key="week:2026-W21",
            kind="week",
            label="2026年5月18日至5月24日",
            start=date(2026, 5, 18),
            end=date(2026, 5, 24),
        ),
        generated_at=datetime(2026, 5, 25, 0, 0, tzinfo=UTC),
        rows=[],
        totals=DepartmentRow(department="TOTAL", name="合计"),
        categories={c.code: c.name for c in reference_data.categories()},
        channels={c.code: c.name for c in reference_data.channels()},
    )


def test_every_character_of_the_text_is_drawn_by_the_embedded_font(county_pdf: bytes) -> None:
    # given the county summary of the sample document
    document = sample_document(COUNTY_SCOPE)
    # when its text is extracted and its embedded font program read
    text = pdftotext(county_pdf)
    font = EmbeddedFont(county_pdf)
    # then every character other than white space maps to glyphs the embedded program draws
    characters = {char for char in text if not char.isspace()}
    assert len(characters) > 200
    missing = sorted(char for char in characters if not font.cids(char) or not all(map(font.draws, font.cids(char))))
    assert missing == []
    # and the text carries the figures and the typical cases of the document
    flat = squeezed(text)
    assert f"共受理投诉举报{document.totals.received}件" in flat
    assert f"本期办结{document.totals.closed}件" in flat
    for case in document.typical_cases:
        assert squeezed(case.title) in flat and squeezed(case.outcome) in flat
    assert squeezed(document.hotspots[0].title) in flat
    for heading in ("一、受理投诉情况", "二、投诉类型", "三、突出执法问题", "四、办结情况", "五、典型案例"):
        assert heading in flat


def test_the_glyphs_are_the_simplified_chinese_forms(county_pdf: bytes) -> None:
    # given the configured font collection and its Japanese and Simplified Chinese faces
    settings = get_settings()
    face = TTFont(font_file(), fontNumber=settings.report_font_index, lazy=True)
    japanese = TTFont(font_file(), fontNumber=0, lazy=True)
    # when the summary's text and the CIDs it is drawn with are read
    text = pdftotext(county_pdf)
    font = EmbeddedFont(county_pdf)
    # then the configured face is the Simplified Chinese one, and so is the font named in the PDF
    assert face["name"].getDebugName(1).endswith(" SC")
    assert font.base_font.endswith("SC")
    # and characters whose forms differ between the faces (punctuation, 关, 直, ...) use the SC glyphs
    sc_cmap, jp_cmap = face.getBestCmap(), japanese.getBestCmap()
    differing = {char for char in set(text) if ord(char) in sc_cmap and sc_cmap[ord(char)] != jp_cmap.get(ord(char))}
    assert len(differing) >= 5
    for char in differing:
        assert {f"cid{cid:05d}" for cid in font.cids(char)} == {sc_cmap[ord(char)]}, char


def test_the_pages_render_with_text_and_charts(county_pdf: bytes, tmp_path: Path) -> None:
    # given the county summary
    # when pdftoppm renders it at 50 dpi
    pages = list(page_images(county_pdf, tmp_path))
    # then there are several pages, none blank
    assert len(pages) >= 3
    assert all(dark_pixels(page) > NOT_BLANK for page in pages)
    # and the charts are there: the figure captions (categories, departments, weekly, on-time rate)
    flat = squeezed(pdftotext(county_pdf))
    for caption in ("各类型投诉件数", "各单位受理投诉件数", "每周受理与办结件数", "各单位按期办结率"):
        assert caption in flat


def test_a_department_summary_speaks_of_the_department_without_per_department_charts(tmp_path: Path) -> None:
    # given the sample document of one department
    document = sample_document("JJDD")
    # when it is rendered
    data = to_pdf(document)
    # then the summary is titled and counted for that department, with the category and weekly charts only
    flat = squeezed(pdftotext(data))
    assert "县公安局交通警察大队行政执法热点追踪活动工作总结" in flat
    assert f"县公安局交通警察大队共受理投诉举报{document.totals.received}件" in flat
    assert "各类型投诉件数" in flat and "每周受理与办结件数" in flat
    assert "各单位受理投诉件数" not in flat and "各单位按期办结率" not in flat
    assert dark_pixels(next(page_images(data, tmp_path))) > NOT_BLANK


def test_a_document_without_cases_renders_without_rates(tmp_path: Path) -> None:
    # given a week of a department with no cases, hotspots, typical cases or weekly points
    document = empty_document()
    # when it is rendered
    data = to_pdf(document)
    # then every section says there is nothing yet, and no rate is computed
    flat = squeezed(pdftotext(data))
    assert "县自然资源局行政执法热点追踪活动周情况汇总" in flat
    assert "县自然资源局未受理投诉举报" in flat
    assert "本期没有可按类型统计的投诉" in flat
    assert "本期未发现达到预警标准的执法热点问题" in flat
    assert "本期暂无办结案件" in flat
    assert "本期暂无公布的典型案例" in flat
    assert "%" not in flat
    assert dark_pixels(next(page_images(data, tmp_path))) > NOT_BLANK


def test_the_summary_tells_the_call_back_and_the_opinion_forms(county_pdf: bytes) -> None:
    # given the county summary of a document with call-backs and a survey of 20 forms, 5 answered, 1 filed
    totals = sample_document(COUNTY_SCOPE).totals
    # when its text is read
    flat = squeezed(pdftotext(county_pdf))
    # then section 六 gives the call-backs asked and answered, the ratings, and the per-department chart
    assert "六、回访和征求意见情况" in flat and "七、经验做法和下一步打算" in flat
    assert f"对{totals.callback_asked}件投诉的投诉人进行回访，{totals.callback_answered}件作出评价" in flat
    assert f"不满意{totals.dissatisfied}件" in flat and "各单位回访满意率" in flat
    # and the opinion forms: issued, answered, filed as complaints, then each rated department
    assert "向企业发放征求意见表20份，收回5份，据此登记投诉1件" in flat
    assert "收到评价6项，满意和基本满意占50.0%，评价相对较低的是“行政收费”" in flat


def test_questions_are_reported_apart_from_complaints(tmp_path: Path) -> None:
    # given a week of a department with no complaints but questions, two of three answered, one on time
    document = empty_document()
    document.totals = DepartmentRow(
        department="TOTAL", name="合计", questions_received=3, questions_answered=2, questions_answered_on_time=1
    )
    # when it is rendered
    flat = squeezed(pdftotext(to_pdf(document)))
    # then the summary says no complaint was received, and counts the questions in a sentence of their own
    assert "县自然资源局未受理投诉举报" in flat
    assert "咨询3件（不计入投诉），已答复2件，其中按期答复1件" in flat
