"""The phase summary as a PDF: a draft the legal office edits from (issue 5, item 4).

The campaign plan (三(三)) asks each department, and the county, for a summary covering five things: cases
received, their types, the prominent enforcement problems they show, cases closed, and typical cases. This
renders one ReportDocument as that summary: Chinese prose generated from the figures (wording in
`shared/data/summary_pdf.json`), with bar and line charts drawn from fpdf2's own rectangles, lines and text.

The CJK font is embedded (fpdf2 subsets it to the glyphs used). Noto CJK comes as a collection whose faces
share one set of glyphs but map characters to different forms: the configured face must be the Simplified
Chinese one (`report_font_index`), or 关, 直, 骨 and the full-width punctuation print in Japanese forms.
fpdf2 is imported inside `to_pdf`: it and fontTools cost the reporting Lambda's other handlers nothing.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from shared.core import reference_data
from shared.core.settings import get_settings
from shared.reporting.report_document import (
    COUNTY_SCOPE,
    SATISFACTION_FIELDS,
    DepartmentRow,
    ReportDocument,
    WeekPoint,
)

if TYPE_CHECKING:
    from fpdf import FPDF

PAGE_WIDTH = 210.0  # A4 portrait, millimetres
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 25.0, 20.0, 22.0, 22.0
BODY_SIZE, BODY_LINE = 12.0, 7.5  # points, millimetres
TITLE_SIZE = 20.0
FONT = "summary"
RECEIVED_COLOUR = (31, 78, 121)
CLOSED_COLOUR = (197, 90, 17)
TEXT_COLOUR, GRID_COLOUR = (0, 0, 0), (200, 200, 200)
TOP_DEPARTMENTS = 5  # named in the prose of section 一
UNROUTED = "UNROUTED"


class _Texts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    kind_titles: dict[str, str]
    title: str
    draft_note: str
    header_lines: list[str]
    footer: str
    sections: dict[str, str]
    received: str
    received_none: str
    questions: str
    channels: str
    departments: str
    categories: str
    categories_none: str
    hotspots: str
    hotspot_item: str
    hotspot_status: dict[str, str]
    hotspots_none: str
    overdue: str
    closed: str
    closed_none: str
    findings: str
    measures: str
    typical: str
    typical_none: str
    typical_heading: str
    typical_kinds: dict[str, str]
    typical_summary: str
    typical_outcome: str
    own_work: str
    callbacks: str
    callbacks_none: str
    surveys: str
    surveys_none: str
    survey_item: str
    count_item: str
    list_separator: str
    figure: str
    charts: dict[str, str]
    legend: dict[str, str]


@cache
def texts() -> _Texts:
    return _Texts.model_validate(reference_data.load_json("summary_pdf.json"))


def font_file() -> Path:
    """The configured font; a relative path is resolved from the directory holding the `shared` package."""
    path = Path(get_settings().report_font_path)
    return path if path.is_absolute() else Path(__file__).resolve().parents[2] / path


def to_pdf(document: ReportDocument) -> bytes:
    from fpdf import FPDF

    font = font_file()
    if not font.is_file():
        raise FileNotFoundError(f"report font not found: {font} (setting report_font_path)")
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.add_font(FONT, fname=str(font), collection_font_number=get_settings().report_font_index)
    pdf.set_margins(MARGIN_LEFT, MARGIN_TOP, MARGIN_RIGHT)
    pdf.set_auto_page_break(True, MARGIN_BOTTOM)
    pdf.set_title(_title(document))
    pdf.set_lang("zh-CN")
    pdf.set_creation_date(document.generated_at)
    _Summary(pdf, document).write()
    return bytes(pdf.output())


def _title(document: ReportDocument) -> str:
    t = texts()
    return t.title.format(scope=document.scope_name, kind_title=t.kind_titles[document.period.kind])


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def _rate(rate: float | None) -> str:
    return "—" if rate is None else f"{100 * rate:.1f}%"


_DIGITS = "零一二三四五六七八九"


def _item_number(n: int) -> str:
    """（一）..（九十九）: how Chinese official writing numbers the items of a section."""
    tens, ones = divmod(n, 10)
    if tens == 0:
        return f"（{_DIGITS[ones]}）"
    return f"（{'' if tens == 1 else _DIGITS[tens]}十{_DIGITS[ones] if ones else ''}）"


def _axis_maximum(value: float) -> float:
    """Four gridline steps of 1, 2, 2.5 or 5 x 10^k whole cases reaching value: round ticks."""
    steps = (m * 10**k for k in range(12) for m in (1, 2, 2.5, 5) if (m * 10**k) % 1 == 0)
    return float(4 * next(step for step in steps if 4 * step >= value))


class _Summary:
    """Writes one document into a fresh FPDF, section by section; numbers the figures as it goes."""

    def __init__(self, pdf: FPDF, document: ReportDocument) -> None:
        self.pdf = pdf
        self.doc = document
        self.t = texts()
        self.figures = 0
        self.width = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
        # The county lists every department: charts per department only make sense there.
        self.departments = [row for row in document.rows if row.department != UNROUTED]
        self.per_department = document.scope == COUNTY_SCOPE and len(document.rows) > 1

    def write(self) -> None:
        self.pdf.add_page()
        self.header()
        self.received()
        self.categories()
        self.hotspots()
        self.closing()
        self.typical()
        self.opinions()
        self.heading(self.t.sections["own_work"])
        self.paragraph(self.t.own_work)
        self.footers()

    # Text blocks

    def font(self, size: float) -> None:
        self.pdf.set_font(FONT, size=size)
        self.pdf.set_text_color(*TEXT_COLOUR)

    def bold(self) -> AbstractContextManager[None]:
        """The font has one weight: a thin outline around each glyph (a PDF text mode) makes text bold.

        In a local graphics state, since fpdf2 does not switch the text mode back for later text. No page
        break may happen inside: callers check the space first.
        """
        return self.pdf.local_context(text_mode="FILL_STROKE", line_width=0.25, draw_color=TEXT_COLOUR)

    def header(self) -> None:
        t, pdf, title = self.t, self.pdf, _title(self.doc)
        size = TITLE_SIZE
        self.font(size)
        while size > TITLE_SIZE - 5 and pdf.get_string_width(title) > self.width:  # one line if it can be
            size -= 1
            self.font(size)
        with self.bold():
            pdf.multi_cell(0, 11, title, align="C", new_x="LMARGIN", new_y="NEXT")
        self.font(11)
        pdf.multi_cell(0, 7, t.draft_note, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        generated = self.doc.generated_at.astimezone(reference_data.county_timezone())
        values = {
            "unit": self.doc.unit,
            "period": self.doc.period.label,
            "generated": f"{generated.year}年{generated.month}月{generated.day}日 {generated:%H:%M}",
        }
        for line in t.header_lines:
            pdf.multi_cell(0, 6.5, line.format(**values), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)

    def heading(self, text: str) -> None:
        if self.pdf.will_page_break(3 * BODY_LINE):  # never a heading alone at the foot of a page
            self.pdf.add_page()
        self.pdf.ln(2)
        self.font(14)
        with self.bold():
            self.pdf.multi_cell(0, 9, text, new_x="LMARGIN", new_y="NEXT")

    def paragraph(self, text: str) -> None:
        from fpdf.enums import WrapMode  # imported already by to_pdf

        self.font(BODY_SIZE)
        body = "\u3000\u3000" + text  # two ideographic spaces: the first-line indent
        self.pdf.multi_cell(0, BODY_LINE, body, wrapmode=WrapMode.CHAR, new_x="LMARGIN", new_y="NEXT")

    def counts(self, counts: list[tuple[str, int]]) -> str:
        """热线电话12件、网上投诉8件: the non-zero counts, largest first."""
        ranked = sorted((item for item in counts if item[1] > 0), key=lambda item: -item[1])
        return self.t.list_separator.join(self.t.count_item.format(name=name, count=n) for name, n in ranked)

    # Sections

    def received(self) -> None:
        t, doc, totals = self.t, self.doc, self.doc.totals
        self.heading(t.sections["received"])
        if not totals.received:
            self.paragraph(t.received_none.format(period=doc.period.label, scope=doc.scope_name))
        else:
            self.paragraph(
                t.received.format(
                    period=doc.period.label,
                    scope=doc.scope_name,
                    received=totals.received,
                    enterprise=totals.enterprise_related,
                    enterprise_share=_share(totals.enterprise_related, totals.received),
                    livelihood=totals.livelihood_related,
                    livelihood_share=_share(totals.livelihood_related, totals.received),
                    accepted=totals.accepted,
                    accepted_on_time=totals.accepted_on_time,
                    not_accepted=totals.not_accepted,
                    transferred=totals.transferred,
                )
            )
        if totals.questions_received:  # 有问必答: questions are answered, and counted apart
            self.paragraph(t.questions.format(**totals.model_dump()))
        channels = self.counts([(doc.channels.get(code, code), n) for code, n in totals.by_channel.items()])
        if channels:
            self.paragraph(t.channels.format(items=channels))
        if self.per_department:
            top = sorted((row for row in self.departments if row.received), key=lambda row: -row.received)
            if top:
                items = self.counts([(row.name, row.received) for row in top[:TOP_DEPARTMENTS]])
                self.paragraph(t.departments.format(items=items))
        if self.doc.weekly:
            self.weekly_chart(t.charts["weekly"], self.doc.weekly)
        if self.per_department and top:
            self.bar_chart(t.charts["departments"], [(row.name, row.received, str(row.received)) for row in top], None)

    def categories(self) -> None:
        t, doc, totals = self.t, self.doc, self.doc.totals
        self.heading(t.sections["categories"])
        by_category = [(name, totals.by_category.get(code, 0)) for code, name in doc.categories.items()]
        items = self.counts(by_category)
        if not items:
            self.paragraph(t.categories_none)
            return
        top_name, top_count = max(by_category, key=lambda item: item[1])
        share = _share(top_count, totals.received)
        self.paragraph(t.categories.format(items=items, top=top_name, top_share=share))
        self.bar_chart(t.charts["categories"], [(name, n, str(n)) for name, n in by_category], None)

    def hotspots(self) -> None:
        t, totals = self.t, self.doc.totals
        self.heading(t.sections["hotspots"])
        ranked = sorted(self.doc.hotspots, key=lambda hotspot: -hotspot.count)
        if not ranked:
            self.paragraph(t.hotspots_none)
        else:
            self.paragraph(t.hotspots.format(count=len(ranked)))
            for number, hotspot in enumerate(ranked, start=1):
                self.paragraph(
                    t.hotspot_item.format(
                        no=_item_number(number),
                        title=hotspot.title,
                        window_days=hotspot.window_days,
                        count=hotspot.count,
                        previous_count=hotspot.previous_count,
                        status=t.hotspot_status[hotspot.status],
                    )
                )
        if totals.overdue or totals.escalations:
            self.paragraph(t.overdue.format(overdue=totals.overdue, escalations=totals.escalations))

    def closing(self) -> None:
        t, totals = self.t, self.doc.totals
        self.heading(t.sections["closing"])
        if not totals.closed:
            self.paragraph(t.closed_none)
            return
        self.paragraph(
            t.closed.format(
                closed=totals.closed, closed_on_time=totals.closed_on_time, on_time_rate=_rate(totals.on_time_rate)
            )
        )
        self.paragraph(t.findings.format(**totals.model_dump()))
        self.paragraph(t.measures.format(**totals.model_dump()))
        if self.per_department:
            closing = [row for row in self.departments if row.closed]
            ranked = sorted(closing, key=lambda row: -(row.on_time_rate or 0.0))
            self.bar_chart(t.charts["on_time"], [_rate_bar(row) for row in ranked], 1.0)

    def typical(self) -> None:
        t, cases = self.t, self.doc.typical_cases
        self.heading(t.sections["typical"])
        if not cases:
            self.paragraph(t.typical_none)
            return
        positive = sum(case.kind == "positive" for case in cases)
        self.paragraph(t.typical.format(count=len(cases), positive=positive, negative=len(cases) - positive))
        for number, case in enumerate(cases, start=1):
            heading = t.typical_heading.format(
                no=_item_number(number), title=case.title, kind=t.typical_kinds[case.kind], tracking_no=case.tracking_no
            )
            if self.pdf.will_page_break(3 * BODY_LINE):
                self.pdf.add_page()
            with self.bold():
                self.paragraph(heading)
            self.paragraph(t.typical_summary.format(summary=case.summary))
            self.paragraph(t.typical_outcome.format(outcome=case.outcome))

    def opinions(self) -> None:
        """The call-back after the reply (satisfaction) and the opinion forms of enterprises (征求意见)."""
        t, totals, section = self.t, self.doc.totals, self.doc.surveys
        self.heading(t.sections["opinions"])
        if not totals.callback_asked:
            self.paragraph(t.callbacks_none)
        else:
            self.paragraph(
                t.callbacks.format(
                    **totals.model_dump(include=set(SATISFACTION_FIELDS)),
                    answer_rate=_rate(totals.answer_rate),
                    satisfaction_rate=_rate(totals.satisfaction_rate),
                )
            )
            if self.per_department:
                answered = [row for row in self.departments if row.callback_answered]
                ranked = sorted(answered, key=lambda row: -(row.satisfaction_rate or 0.0))
                bars = [(row.name, row.satisfaction_rate or 0.0, _rate(row.satisfaction_rate)) for row in ranked]
                self.bar_chart(t.charts["satisfaction"], bars, 1.0)
        if not section.issued:
            self.paragraph(t.surveys_none)
            return
        self.paragraph(t.surveys.format(**section.model_dump(include={"surveys", "issued", "answered", "complaints"})))
        for number, row in enumerate(section.rows, start=1):
            rated = sum(row.rated.values())
            share = _share(sum(row.satisfied.values()), rated)
            low = [
                (section.aspects.get(aspect, aspect), row.satisfied.get(aspect, 0) / count)
                for aspect, count in row.rated.items()
                if count
            ]
            weakest = min(low, key=lambda item: item[1])[0] if low else ""
            self.paragraph(
                t.survey_item.format(no=_item_number(number), name=row.name, rated=rated, share=share, weakest=weakest)
            )

    def footers(self) -> None:
        """Page numbers, written once every page exists."""
        pdf = self.pdf
        pdf.set_auto_page_break(False)
        self.font(10)
        for page in range(1, pdf.pages_count + 1):
            pdf.page = page
            pdf.set_xy(MARGIN_LEFT, -MARGIN_BOTTOM + 8)
            pdf.cell(self.width, 6, self.t.footer.format(page=page), align="C")

    # Charts: fpdf2 primitives only (no plotting library in the Lambda)

    def figure_title(self, title: str) -> None:
        self.figures += 1
        self.font(10.5)
        caption = self.t.figure.format(no=self.figures, title=title)
        self.pdf.multi_cell(0, 6, caption, align="C", new_x="LMARGIN", new_y="NEXT")

    def bar_chart(self, title: str, bars: list[tuple[str, float, str]], scale: float | None) -> None:
        """Horizontal bars (label, value, value as printed), one per line, against `scale` or the largest value."""
        if not bars:
            return
        pdf = self.pdf
        bar_pitch, label_width, value_width = 5.5, 46.0, 16.0
        height = len(bars) * bar_pitch + 14
        if pdf.will_page_break(height):
            pdf.add_page()
        pdf.ln(2)
        top, left = pdf.get_y(), MARGIN_LEFT + label_width
        plot_width = self.width - label_width - value_width
        maximum = scale if scale is not None else _axis_maximum(max(value for _, value, _ in bars))
        self.font(8.5)
        pdf.set_draw_color(*GRID_COLOUR)
        pdf.set_line_width(0.1)
        for tick in range(5):  # gridlines at quarters of the scale
            x = left + plot_width * tick / 4
            pdf.line(x, top, x, top + len(bars) * bar_pitch)
            value = maximum * tick / 4
            label = f"{100 * value:.0f}%" if scale == 1.0 else f"{value:g}"
            pdf.set_xy(x - 10, top + len(bars) * bar_pitch)
            pdf.cell(20, 4, label, align="C")
        pdf.set_fill_color(*RECEIVED_COLOUR)
        for index, (label, value, printed) in enumerate(bars):
            y = top + index * bar_pitch
            pdf.set_xy(MARGIN_LEFT, y)
            pdf.cell(label_width - 2, bar_pitch, _fit(pdf, label, label_width - 2), align="R")
            if value > 0:
                pdf.rect(left, y + 1, plot_width * min(value / maximum, 1.0), bar_pitch - 2, style="F")
            pdf.set_xy(left + plot_width * min(value / maximum, 1.0) + 1, y)
            pdf.cell(value_width, bar_pitch, printed)
        pdf.set_draw_color(*TEXT_COLOUR)
        pdf.line(left, top, left, top + len(bars) * bar_pitch)
        pdf.set_xy(MARGIN_LEFT, top + len(bars) * bar_pitch + 5)
        self.figure_title(title)
        pdf.ln(2)

    def weekly_chart(self, title: str, weeks: list[WeekPoint]) -> None:
        """Received and closed per week as two lines over the weeks, with a legend."""
        pdf = self.pdf
        plot_height, axis_width = 55.0, 10.0
        if pdf.will_page_break(plot_height + 24):
            pdf.add_page()
        pdf.ln(3)
        top, left = pdf.get_y() + 6, MARGIN_LEFT + axis_width
        plot_width = self.width - axis_width
        bottom = top + plot_height
        maximum = _axis_maximum(max(max(week.received, week.closed) for week in weeks))
        self.font(8.5)
        # Legend above the plot.
        legend_x = left
        for colour, name in ((RECEIVED_COLOUR, self.t.legend["received"]), (CLOSED_COLOUR, self.t.legend["closed"])):
            pdf.set_fill_color(*colour)
            pdf.rect(legend_x, top - 5, 6, 2.5, style="F")
            pdf.set_xy(legend_x + 7, top - 6.25)
            pdf.cell(14, 5, name)
            legend_x += 24
        pdf.set_draw_color(*GRID_COLOUR)
        pdf.set_line_width(0.1)
        for tick in range(5):
            y = bottom - plot_height * tick / 4
            pdf.line(left, y, left + plot_width, y)
            pdf.set_xy(MARGIN_LEFT - 2, y - 2)
            pdf.cell(axis_width, 4, f"{maximum * tick / 4:g}", align="R")
        step = plot_width / len(weeks)
        every = max(1, round(len(weeks) / 8))  # at most about eight date labels under the axis
        for index, week in enumerate(weeks):
            if index % every == 0:
                pdf.set_xy(left + step * index, bottom + 1)
                pdf.cell(step * every, 4, _short_date(week.week_start))
        for colour, values in (
            (RECEIVED_COLOUR, [week.received for week in weeks]),
            (CLOSED_COLOUR, [week.closed for week in weeks]),
        ):
            points = [(left + step * (i + 0.5), bottom - plot_height * v / maximum) for i, v in enumerate(values)]
            pdf.set_draw_color(*colour)
            pdf.set_fill_color(*colour)
            pdf.set_line_width(0.5)
            if len(points) > 1:
                pdf.polyline(points)
            for x, y in points:
                pdf.circle(x, y, 0.8, style="F")
        pdf.set_draw_color(*TEXT_COLOUR)
        pdf.set_line_width(0.2)
        pdf.line(left, bottom, left + plot_width, bottom)
        pdf.set_xy(MARGIN_LEFT, bottom + 7)
        self.figure_title(title)
        pdf.ln(2)


def _rate_bar(row: DepartmentRow) -> tuple[str, float, str]:
    rate = row.on_time_rate or 0.0
    return row.name, rate, _rate(row.on_time_rate)


def _short_date(day: date) -> str:
    return f"{day.month}/{day.day}"


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """The text, cut with an ellipsis where it would overrun the width."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"
