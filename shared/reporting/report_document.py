"""The numbers of one report, as every format renders them (issue 5).

A report has a scope (the county, or one department) and a period (the whole campaign, one of its phases, a
week, a month, a year). `shared/reporting/reports.py` builds the document from the aggregate counters
(`shared/reporting/stats.py`), the records the county legal office enters (`shared/reporting/records.py`), the hotspots
(`shared/reporting/hotspots.py`), the published typical cases and the assessment (`shared/reporting/assessment.py`);
the workbook,
CSV, JSON (`shared/reporting/workbook.py`) and the PDF summary (`shared/reporting/summary_pdf.py`) only render it, so
every format
shows the same figures.

What the figures count (cohort of the period: cases *received* in it, merged duplicates left out):
- received: complaints received; enterprise_related / livelihood_related: of which in that domain;
- accepted / accepted_on_time: acceptance decided (accepted), and decided by the acceptance deadline;
- not_accepted: not accepted (status now); transferred: handed back to the county legal office as not this
  department's (counted on the department that transferred it, which may differ from the one now handling it);
- closed / closed_on_time: closed, and replied to by the reply deadline in force (an approved extension counts);
- overdue: missed a deadline (accepted or replied late, or escalated as overdue);
- substantiated / partly_substantiated / unsubstantiated: the finding; corrected, revoked,
  rectification_ordered: cases with that measure; held_accountable: persons held accountable;
- typical_positive / typical_negative: cases marked typical; escalations: cases escalated (督办);
- lawsuits_lost / wrong_decision_accountability: records the county legal office entered for the period;
- callback_asked / callback_answered: complainants asked after the first reply how satisfied they are (回访), and
  of them those who answered; satisfied / basically_satisfied / dissatisfied: their latest answer
  (shared/core/callbacks.py). Not columns of the statistics table: the workbook's satisfaction sheet shows them.
- questions_received / questions_answered / questions_answered_on_time: questions (咨询), counted apart: no
  other figure (nor a category or channel) counts a question.
"""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.core.surveys import questionnaire

COUNTY_SCOPE = "county"
# The figures of a DepartmentRow that are plain counts, in the order of the statistics table's columns.
COUNT_FIELDS = (
    "received",
    "enterprise_related",
    "livelihood_related",
    "accepted",
    "accepted_on_time",
    "not_accepted",
    "transferred",
    "closed",
    "closed_on_time",
    "overdue",
    "substantiated",
    "partly_substantiated",
    "unsubstantiated",
    "corrected",
    "revoked",
    "rectification_ordered",
    "held_accountable",
    "typical_positive",
    "typical_negative",
    "escalations",
    "lawsuits_lost",
    "wrong_decision_accountability",
    "questions_received",
    "questions_answered",
    "questions_answered_on_time",
)

# The call-back figures of a DepartmentRow (counted from the cases like COUNT_FIELDS).
SATISFACTION_FIELDS = ("callback_asked", "callback_answered", "satisfied", "basically_satisfied", "dissatisfied")


def rate(part: int, whole: int) -> float | None:
    """part / whole, None when there is nothing to divide (shown as a dash, not 0%)."""
    return part / whole if whole else None


class Period(BaseModel):
    """`key` is unique across kinds: `campaign:2026`, `phase:2026:2`, `week:2026-W21`, `month:2026-11`, `year:2026`."""

    key: str
    kind: Literal["campaign", "phase", "week", "month", "year"]
    label: str  # as printed on the table, e.g. 2026年5月16日至9月20日
    start: date  # first day, county time
    end: date  # last day, inclusive


class DepartmentRow(BaseModel):
    department: str  # code from shared/data/departments.json; "UNROUTED" for cases not yet routed
    name: str
    received: int = 0
    enterprise_related: int = 0
    livelihood_related: int = 0
    accepted: int = 0
    accepted_on_time: int = 0
    not_accepted: int = 0
    transferred: int = 0
    closed: int = 0
    closed_on_time: int = 0
    overdue: int = 0
    substantiated: int = 0
    partly_substantiated: int = 0
    unsubstantiated: int = 0
    corrected: int = 0
    revoked: int = 0
    rectification_ordered: int = 0
    held_accountable: int = 0
    typical_positive: int = 0
    typical_negative: int = 0
    escalations: int = 0
    lawsuits_lost: int = 0
    wrong_decision_accountability: int = 0
    callback_asked: int = 0
    callback_answered: int = 0
    satisfied: int = 0
    basically_satisfied: int = 0
    dissatisfied: int = 0
    questions_received: int = 0
    questions_answered: int = 0
    questions_answered_on_time: int = 0
    remarks: str = ""
    by_category: dict[str, int] = Field(default_factory=dict)  # category code -> received
    by_channel: dict[str, int] = Field(default_factory=dict)  # channel code -> received

    @property
    def on_time_rate(self) -> float | None:
        """Closed on time / closed; None when nothing is closed (shown as a dash, not 0%)."""
        return rate(self.closed_on_time, self.closed)

    @property
    def answer_rate(self) -> float | None:
        """Call-backs answered / asked."""
        return rate(self.callback_answered, self.callback_asked)

    @property
    def satisfaction_rate(self) -> float | None:
        """(Satisfied + basically satisfied) / answered."""
        return rate(self.satisfied + self.basically_satisfied, self.callback_answered)


class HotspotSummary(BaseModel):
    hotspot_id: str
    kind: Literal["department_category", "unit"]
    title: str  # e.g. 县交警大队 · 行政处罚, or the normalised unit / officer name
    department: str | None = None
    category: str | None = None
    unit: str | None = None
    window_days: int
    count: int
    previous_count: int
    status: Literal["open", "tracking", "resolved"]
    opened_at: datetime
    cases: list[str] = Field(default_factory=list)  # tracking numbers


class TypicalCase(BaseModel):
    """A published typical case: redacted text only."""

    tracking_no: str
    kind: Literal["positive", "negative"]
    department: str | None = None
    title: str
    summary: str
    outcome: str
    published_at: datetime | None = None


class ScoreItem(BaseModel):
    code: str
    name: str
    weight: float
    score: float  # 0..weight
    basis: str  # the numbers behind the score, in Chinese, e.g. 按期办结 9 件 / 办结 10 件 = 90.0%
    numbers: dict[str, float | int | None] = Field(default_factory=dict)


class DepartmentScore(BaseModel):
    department: str
    name: str
    total: float
    items: list[ScoreItem]


class WeekPoint(BaseModel):
    week_start: date  # Monday, county time
    received: int
    closed: int


class SurveyRow(BaseModel):
    """A department's ratings on the opinion forms (征求意见表): per aspect, how many rated it and how many of
    them were satisfied or basically satisfied (the levels marked satisfied in survey_questionnaire.json)."""

    department: str
    name: str
    rated: dict[str, int] = Field(default_factory=dict)  # aspect code -> ratings
    satisfied: dict[str, int] = Field(default_factory=dict)  # aspect code -> of which satisfied


class SurveySection(BaseModel):
    """The opinion forms of the surveys created in the period (shared/reporting/surveys.py)."""

    surveys: int = 0
    issued: int = 0  # links issued
    answered: int = 0
    complaints: int = 0  # answers filed as complaints
    # code -> name, in the questionnaire's order
    aspects: dict[str, str] = Field(default_factory=lambda: {a.code: a.name for a in questionnaire().aspects})
    rows: list[SurveyRow] = Field(default_factory=list)  # departments in scope that were rated


class ReportDocument(BaseModel):
    report_id: str
    campaign: str
    title: str  # e.g. 靖宇县行政执法热点追踪活动开展情况统计表
    unit: str  # 填报单位: the organiser or the department
    scope: str  # COUNTY_SCOPE or a department code
    scope_name: str
    period: Period
    generated_at: datetime  # UTC; shown in Asia/Shanghai
    rows: list[DepartmentRow]  # one per department in scope (county: every department, then UNROUTED)
    totals: DepartmentRow  # the sum of rows (department "TOTAL", name 合计)
    categories: dict[str, str]  # code -> name, in the order of shared/data/categories.json
    channels: dict[str, str]  # code -> name, in the order of reference_data.channels()
    hotspots: list[HotspotSummary] = Field(default_factory=list)
    typical_cases: list[TypicalCase] = Field(default_factory=list)
    assessment: list[DepartmentScore] = Field(default_factory=list)
    weekly: list[WeekPoint] = Field(default_factory=list)
    surveys: SurveySection = Field(default_factory=SurveySection)
    source_counts: dict[str, int] = Field(default_factory=dict)  # e.g. counter items read, records read
