"""A report document with plausible figures for every department, for the renderers' tests."""

import itertools
import random
from datetime import UTC, date, datetime, timedelta

from shared.core import reference_data
from shared.reporting.report_document import (
    COUNT_FIELDS,
    COUNTY_SCOPE,
    SATISFACTION_FIELDS,
    DepartmentRow,
    DepartmentScore,
    HotspotSummary,
    Period,
    ReportDocument,
    ScoreItem,
    SurveyRow,
    SurveySection,
    TypicalCase,
    WeekPoint,
)


def _row(code: str, name: str, rng: random.Random) -> DepartmentRow:
    received = rng.randint(0, 40)
    closed = rng.randint(0, received)
    accepted = rng.randint(closed, received) if received else 0
    counts = {
        "received": received,
        "enterprise_related": rng.randint(0, received),
        "livelihood_related": rng.randint(0, received // 2),
        "accepted": accepted,
        "accepted_on_time": rng.randint(0, accepted),
        "not_accepted": received - accepted,
        "transferred": rng.randint(0, 2),
        "closed": closed,
        "closed_on_time": rng.randint(0, closed),
        "overdue": rng.randint(0, 3),
        "substantiated": closed // 3,
        "partly_substantiated": closed // 4,
        "unsubstantiated": closed - closed // 3 - closed // 4,
        "corrected": closed // 4,
        "revoked": rng.randint(0, 1),
        "rectification_ordered": closed // 5,
        "held_accountable": rng.randint(0, 2),
        "typical_positive": rng.randint(0, 1),
        "typical_negative": rng.randint(0, 1),
        "escalations": rng.randint(0, 2),
        "lawsuits_lost": rng.randint(0, 1),
        "wrong_decision_accountability": rng.randint(0, 1),
    }
    asked = closed
    answered = rng.randint(0, asked)
    satisfied = rng.randint(0, answered)
    basically = rng.randint(0, answered - satisfied)
    counts.update(
        callback_asked=asked,
        callback_answered=answered,
        satisfied=satisfied,
        basically_satisfied=basically,
        dissatisfied=answered - satisfied - basically,
    )
    categories = [c.code for c in reference_data.categories()]
    channels = [c.code for c in reference_data.channels()]
    by_category = {code: 0 for code in categories}
    by_channel = {code: 0 for code in channels}
    for _ in range(received):
        by_category[rng.choice(categories)] += 1
        by_channel[rng.choice(channels)] += 1
    return DepartmentRow(department=code, name=name, by_category=by_category, by_channel=by_channel, **counts)


# Text that spreadsheets would run as a formula: leading = + - @, tab, CR, LF, and each behind control characters
# that the writers drop (the check must look at the text after cleaning).
FORMULA_CORPUS = (
    '=HYPERLINK("http://example.invalid","点击查看")',
    "+1+1",
    "-1+1",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    '\x01=HYPERLINK("http://example.invalid")',
    "\x1b+1+1",
    "\x00\x7f-1+1",
    "\x0b@SUM(1,1)",
    "\x08\t=1+1",
    "=cmd|' /C calc'!A0",
)


def sample_document(scope: str = COUNTY_SCOPE, seed: int = 7, corpus: tuple[str, ...] = ()) -> ReportDocument:
    """Every department in the county scope, or the one department asked for; with `corpus`, remarks and typical
    cases that hold its texts (for the spreadsheet writers)."""
    rng = random.Random(seed)
    departments = [(d.code, d.name) for d in reference_data.departments()]
    if scope != COUNTY_SCOPE:
        departments = [(code, name) for code, name in departments if code == scope]
    else:
        departments.append(("UNROUTED", "未分办"))
    rows = [_row(code, name, rng) for code, name in departments]
    totals = DepartmentRow(
        department="TOTAL",
        name="合计",
        **{field: sum(getattr(row, field) for row in rows) for field in (*COUNT_FIELDS, *SATISFACTION_FIELDS)},
        by_category={c.code: sum(r.by_category.get(c.code, 0) for r in rows) for c in reference_data.categories()},
        by_channel={c.code: sum(r.by_channel.get(c.code, 0) for r in rows) for c in reference_data.channels()},
    )
    rows[0].remarks = '=HYPERLINK("http://example.invalid")'  # a remark that must not become a formula
    for row, text in zip(rows[1:], itertools.cycle(corpus), strict=False) if corpus else ():
        row.remarks = text
    scope_name = reference_data.county().name if scope == COUNTY_SCOPE else departments[0][1]
    return ReportDocument(
        report_id=f"sample-{scope}",
        campaign="2026",
        title=f"{reference_data.county().name}行政执法热点追踪活动开展情况统计表",
        unit="靖宇县人民政府法制办公室" if scope == COUNTY_SCOPE else departments[0][1],
        scope=scope,
        scope_name=scope_name,
        period=Period(
            key="campaign:2026",
            kind="campaign",
            label="2026年5月5日至10月20日",
            start=date(2026, 5, 5),
            end=date(2026, 10, 20),
        ),
        generated_at=datetime(2026, 9, 18, 1, 30, tzinfo=UTC),
        rows=rows,
        totals=totals,
        categories={c.code: c.name for c in reference_data.categories()},
        channels={c.code: c.name for c in reference_data.channels()},
        hotspots=[
            HotspotSummary(
                hotspot_id="hs-1",
                kind="department_category",
                title="县公安局交通警察大队 · 行政处罚",
                department="JJDD",
                category="penalty",
                window_days=7,
                count=6,
                previous_count=1,
                status="open",
                opened_at=datetime(2026, 9, 1, 2, tzinfo=UTC),
                cases=["JY20260901-0001", "JY20260901-0002"],
            ),
            HotspotSummary(
                hotspot_id="hs-2",
                kind="unit",
                title="城关市场监管所",
                unit="城关市场监管所",
                window_days=30,
                count=4,
                previous_count=0,
                status="tracking",
                opened_at=datetime(2026, 8, 20, 2, tzinfo=UTC),
            ),
        ],
        typical_cases=[
            TypicalCase(
                tracking_no="JY20260601-0003",
                kind="negative",
                department="JJDD",
                title="某交警中队按指标罚款案",
                summary="群众反映某中队执法人员在路口查车时现场收取罚款且不开具票据。",
                outcome="经查属实，退还罚款，对相关人员批评教育并责令整改。",
                published_at=datetime(2026, 7, 1, 2, tzinfo=UTC),
            ),
            TypicalCase(
                tracking_no="JY20260602-0011",
                kind="positive",
                department="ZWFW",
                title="企业开办一日办结",
                summary="企业反映开办手续繁琐，政务服务中心推行一窗受理。",
                outcome="办理时限由5个工作日压缩至1日。",
            ),
            *(
                TypicalCase(
                    tracking_no=f"JY20260603-{number:04d}",
                    kind="negative",
                    department="JJDD",
                    title=text,
                    summary=text,
                    outcome=text,
                )
                for number, text in enumerate(corpus, start=1)
            ),
        ],
        assessment=[
            DepartmentScore(
                department=row.department,
                name=row.name,
                total=round(rng.uniform(60, 100), 1),
                items=[
                    ScoreItem(
                        code="on_time_closing",
                        name="按期办结率",
                        weight=30,
                        score=round(30 * (row.on_time_rate or 0), 1),
                        basis=f"按期办结 {row.closed_on_time} 件 / 办结 {row.closed} 件",
                        numbers={"closed_on_time": row.closed_on_time, "closed": row.closed},
                    )
                ],
            )
            for row in rows
            if row.department != "UNROUTED"
        ],
        weekly=[
            WeekPoint(
                week_start=date(2026, 5, 4) + timedelta(weeks=week),
                received=rng.randint(0, 30),
                closed=rng.randint(0, 25),
            )
            for week in range(24)
        ],
        surveys=SurveySection(
            surveys=1,
            issued=20,
            answered=5,
            complaints=1,
            rows=[
                SurveyRow(
                    department=code,
                    name=name,
                    rated={"inspections": 4, "fees": 2},
                    satisfied={"inspections": 3, "fees": 0},
                )
                for code, name in departments[:3]
                if code != "UNROUTED"
            ],
        ),
        source_counts={"counter_items": len(rows)},
    )
