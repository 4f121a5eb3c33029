"""The dashboard of the staff console (issue 5 item 8): four panels and the call-back satisfaction per department,
for one period, in the caller's scope. The reporting service serves it at /reports/dashboard, in the console's
frame and with its session.

Every figure reads the aggregate counters and the hotspots (shared/reporting/stats.py, shared/reporting/hotspots.py),
never a list
of cases: one Query for the period's department rows, one per week of the trend, one per hotspot status, so the
cost grows with departments and weeks, not with cases. Figures follow shared/reporting/report_document.py: the cohort of
cases *received* in the period (closed = received then and closed by now).

Scope: the county legal office and auditors see the county; a department's head and officers only their own
department's figures (no county totals, no other department); the media have no dashboard.

Each panel drills down to the cases behind it: a hotspot and a category bar to the console queue filtered by
department and / or category (a hotspot also lists its tracking numbers), an overdue bar to the department's
queue (which shows overdue cases first). The queue has no filter by date of receipt, so a week of the trend
links to the dashboard of that week, whose panels then lead to the queue. Links to the queue are given relative
to the console's base path, a week's relative to the dashboard's.
"""

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from functools import cache
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from shared.core import reference_data
from shared.core.auth import Principal, Role
from shared.core.campaign import load_campaign
from shared.core.concurrent_reads import Reads
from shared.core.errors import ApiError, FieldError
from shared.core.pages import Page
from shared.core.roles import COUNTY_WIDE_ROLES, require_role
from shared.core.settings import Settings
from shared.core.staff_pages import Where, session, staff_page
from shared.reporting import hotspots, periods, stats
from shared.reporting.report_document import DepartmentRow, HotspotSummary, Period

VIEWERS = (Role.county_admin, Role.auditor, Role.dept_head, Role.dept_officer)
COUNTY_SCOPE = "county"


class Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    top_hotspots: PositiveInt
    recent_weeks: PositiveInt
    recent_months: PositiveInt
    trend_weeks: PositiveInt


@cache
def config() -> Config:
    return Config.model_validate(reference_data.load_json("dashboard.json"))


# --- the model of the page ----------------------------------------------------------------------------------------


class Choice(BaseModel):
    key: str
    label: str


class ChoiceGroup(BaseModel):
    label: str
    choices: list[Choice]


class Figures(BaseModel):
    """The headline numbers of the scope."""

    received: int
    accepted: int
    closed: int
    closed_on_time: int
    overdue: int
    escalations: int
    on_time_rate: float | None  # closed on time / closed; None when nothing is closed


class Bar(BaseModel):
    code: str
    label: str
    value: int
    percent: int = Field(ge=0, le=100)  # the bar's length, of the panel's largest value
    link: str | None = None  # relative to the console's base path


class OverdueBar(Bar):
    received: int


class SatisfactionRow(BaseModel):
    """A department's call-back after the reply (回访): asked, answered, the ratings and the satisfaction rate."""

    code: str
    label: str
    asked: int
    answered: int
    satisfied: int
    basically_satisfied: int
    dissatisfied: int
    answer_rate: float | None
    satisfaction_rate: float | None
    percent: int = Field(ge=0, le=100)  # the satisfaction rate as the bar's length


class WeekBar(BaseModel):
    key: str
    label: str
    week_start: date
    received: int
    closed: int
    received_percent: int
    closed_percent: int
    link: str


class HotspotRow(BaseModel):
    hotspot_id: str
    title: str
    kind: str
    status: str
    status_name: str
    window_days: int
    count: int
    previous_count: int
    rise: int
    link: str | None  # the queue of its department and category; None for a unit or an unrouted cluster
    cases: list[str]  # its tracking numbers


class Dashboard(BaseModel):
    scope: str  # COUNTY_SCOPE or the caller's department code
    scope_name: str
    period: Period
    choices: list[ChoiceGroup]
    figures: Figures
    hotspots: list[HotspotRow]
    hotspots_total: int
    categories: list[Bar]
    weeks: list[WeekBar]
    overdue: list[OverdueBar]
    satisfaction: list[SatisfactionRow]


# --- building it --------------------------------------------------------------------------------------------------


def _queue(**filters: str) -> str:
    return f"?{urlencode(filters)}"


def _percent(value: int, largest: int) -> int:
    # A non-zero value keeps a visible sliver of bar.
    return max(1, round(100 * value / largest)) if value and largest else 0


def period_choices(today: date) -> list[ChoiceGroup]:
    """The campaign and its phases, then recent weeks and months, newest first."""
    names = [phase.name for phase in load_campaign().phases]
    campaign, *phases = periods.campaign_periods()
    title = load_campaign().title
    weeks = [periods.week_of(today - timedelta(weeks=back)) for back in range(config().recent_weeks)]
    months, first = [], today.replace(day=1)
    for _ in range(config().recent_months):
        months.append(periods.period(f"month:{first.year}-{first.month:02d}"))
        first = (first - timedelta(days=1)).replace(day=1)
    return [
        ChoiceGroup(
            label=title,
            choices=[Choice(key=campaign.key, label=f"活动全程（{campaign.label}）")]
            + [
                Choice(key=phase.key, label=f"{name}（{phase.label}）")
                for phase, name in zip(phases, names, strict=True)
            ],
        ),
        ChoiceGroup(label="近几周", choices=[Choice(key=week.key, label=week.label) for week in weeks]),
        ChoiceGroup(label="近几个月", choices=[Choice(key=month.key, label=month.label) for month in months]),
    ]


def _period(period_key: str | None, today: date) -> Period:
    """The period asked for; by default the campaign while it runs, else the current month."""
    if not period_key:
        campaign = periods.campaign_periods()[0]
        in_campaign = campaign.start <= today <= campaign.end
        period_key = campaign.key if in_campaign else f"month:{today.year}-{today.month:02d}"
    try:
        return periods.period(period_key)
    except ValueError:
        message = "统计期间无效，请从列表中选择"
        raise ApiError(
            400, "invalid_period", message, [FieldError(field="period", code="invalid", message=message)]
        ) from None


def _figures(rows: list[DepartmentRow]) -> Figures:
    summed = {
        name: sum(getattr(row, name) for row in rows)
        for name in ("received", "accepted", "closed", "closed_on_time", "overdue", "escalations")
    }
    rate = summed["closed_on_time"] / summed["closed"] if summed["closed"] else None
    return Figures(**summed, on_time_rate=rate)


def _hotspots(ranked: list[HotspotSummary]) -> list[HotspotRow]:
    found = []
    for item in ranked:
        link = None
        if item.kind == "department_category" and item.department and item.category:
            link = _queue(department=item.department, category=item.category)
        found.append(
            HotspotRow(
                **item.model_dump(
                    include={"hotspot_id", "title", "kind", "status", "window_days", "count", "previous_count", "cases"}
                ),
                status_name=hotspots.STATUS_NAMES[item.status],
                rise=item.count - item.previous_count,
                link=link,
            )
        )
    return found


def _categories(rows: list[DepartmentRow], scope: str) -> list[Bar]:
    """Every category, most received first (ties in the plan's order)."""
    counts = {category.code: 0 for category in reference_data.categories()}
    for row in rows:
        for code, amount in row.by_category.items():
            counts[code] = counts.get(code, 0) + amount
    names = {category.code: category.name for category in reference_data.categories()}
    largest = max(counts.values(), default=0)
    scoped = {} if scope == COUNTY_SCOPE else {"department": scope}
    ordered = sorted(counts.items(), key=lambda pair: -pair[1])
    return [
        Bar(
            code=code,
            label=names.get(code, code),
            value=amount,
            percent=_percent(amount, largest),
            link=_queue(**scoped, category=code),
        )
        for code, amount in ordered
    ]


def _overdue(rows: list[DepartmentRow]) -> list[OverdueBar]:
    """The departments with cases in the period, most overdue first; cases not yet routed have no queue."""
    shown = [row for row in rows if row.department != stats.UNROUTED and (row.received or row.overdue)]
    largest = max((row.overdue for row in shown), default=0)
    return [
        OverdueBar(
            code=row.department,
            label=row.name,
            value=row.overdue,
            received=row.received,
            percent=_percent(row.overdue, largest),
            link=_queue(department=row.department),
        )
        for row in sorted(shown, key=lambda row: -row.overdue)
    ]


def _satisfaction(rows: list[DepartmentRow]) -> list[SatisfactionRow]:
    """The departments whose complainants were asked, in the order of the rows."""
    return [
        SatisfactionRow(
            code=row.department,
            label=row.name,
            asked=row.callback_asked,
            answered=row.callback_answered,
            satisfied=row.satisfied,
            basically_satisfied=row.basically_satisfied,
            dissatisfied=row.dissatisfied,
            answer_rate=row.answer_rate,
            satisfaction_rate=row.satisfaction_rate,
            percent=round(100 * (row.satisfaction_rate or 0.0)),
        )
        for row in rows
        if row.callback_asked
    ]


def _weeks(settings: Settings, period: Period, today: date, department: str | None) -> list[WeekBar]:
    """Received and closed per week of receipt, up to today (a running period has no figures ahead)."""
    last = max(period.start, min(period.end, today))
    weeks = periods.weeks_between(period.start, last)[-config().trend_weeks :]
    points = stats.weekly(settings, weeks[0].start, weeks[-1].end, department)
    largest = max((point.received for point in points), default=0)
    return [
        WeekBar(
            key=week.key,
            label=week.label,
            week_start=point.week_start,
            received=point.received,
            closed=point.closed,
            received_percent=_percent(point.received, largest),
            closed_percent=_percent(point.closed, largest),
            link=f"?{urlencode({'period': week.key})}",
        )
        for week, point in zip(weeks, points, strict=True)
    ]


def build(
    settings: Settings, principal: Principal, period_key: str | None = None, now: datetime | None = None
) -> Dashboard:
    """The dashboard of the period (by default the campaign while it runs, else this month) as the caller may see
    it; 403 for the media, 400 for a period key that is not one."""
    require_role(principal, *VIEWERS)
    today = periods.county_day(now or datetime.now(UTC))
    period = _period(period_key, today)
    county_wide = principal.role in COUNTY_WIDE_ROLES
    department = None if county_wide else principal.department
    scope = department or COUNTY_SCOPE
    with Reads() as reads:
        counted = reads.start(stats.department_rows, settings, period.key, [department] if department else None)
        listed = reads.start(hotspots.summaries, settings, period.start, period.end, department)
        trend = reads.start(_weeks, settings, period, today, department)
    rows, ranked = counted.result(), listed.result()
    choices = period_choices(today)
    if all(period.key != choice.key for group in choices for choice in group.choices):
        choices.insert(0, ChoiceGroup(label="所选期间", choices=[Choice(key=period.key, label=period.label)]))
    return Dashboard(
        scope=scope,
        scope_name=reference_data.county().name if county_wide else rows[0].name,
        period=period,
        choices=choices,
        figures=_figures(rows),
        hotspots=_hotspots(ranked[: config().top_hotspots]),
        hotspots_total=len(ranked),
        categories=_categories(rows, scope),
        weeks=trend.result(),
        overdue=_overdue(rows),
        satisfaction=_satisfaction(rows),
    )


def dashboard_page(
    settings: Settings, where: Where, headers: Mapping[str, str], params: Mapping[str, str], now: datetime | None = None
) -> Page:
    """The four panels of the chosen period in the caller's scope, with drill-downs (shared/reporting/dashboard.py)."""
    signed_in = session(settings, headers)
    board = build(settings, signed_in.principal, params.get("period") or None, now)
    return staff_page(
        "console_dashboard.html",
        where,
        signed_in,
        board=board,
        quote=quote,
    )
