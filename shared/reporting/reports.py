"""Reports: what the county legal office reads and submits (issue 5, items 3, 4 and 7).

One report is one scope (the county, or one department) for one period (shared/reporting/periods.py). Its numbers are a
ReportDocument built from the aggregate counters (shared/reporting/stats.py: one Query per period, so the cost grows
with departments, not with cases; the county legal office's records, shared/reporting/records.py, are counted there
too), the hotspots
(shared/reporting/hotspots.py), the published typical cases and the assessment (shared/reporting/assessment.py). The
formats only
render that document (shared/reporting/workbook.py, shared/reporting/summary_pdf.py), so they always agree.

Stored as `reports/<campaign>/<period>/<scope>/<name>.<ext>` in the reports bucket, with a `manifest.json`
beside the files (generated at, source counts, SHA-256 of each file). Weekly reports every Monday 08:00
county time, phase-end reports the day after a phase of shared/data/campaign.json ends, and on demand.
A department lists and downloads its own reports; the county legal office and auditors all; links expire
after `report_url_seconds` (15 minutes).
"""

import hashlib
import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.core import objects, reference_data, roles
from shared.core.auth import Principal, Role
from shared.core.campaign import load_campaign
from shared.core.concurrent_reads import Reads
from shared.core.dal.campaign import CampaignStore
from shared.core.dal.publications import PublicationStore
from shared.core.errors import ApiError, parse_model
from shared.core.observability import logger
from shared.core.settings import Settings
from shared.reporting import (
    assessment,
    hotspots,
    materials,
    periods,
    stats,
    summary_pdf,
    surveys,
    workbook,
)
from shared.reporting.report_document import (
    COUNT_FIELDS,
    COUNTY_SCOPE,
    SATISFACTION_FIELDS,
    DepartmentRow,
    Period,
    ReportDocument,
    TypicalCase,
)

PREFIX = "reports/"
MANIFEST = "manifest.json"
UNROUTED = "UNROUTED"
# County-wide reports: the county legal office and the auditors; a department reads its own scope.
COUNTY_READERS = (Role.county_admin, Role.auditor)
DEPARTMENT_READERS = (Role.dept_head, Role.dept_officer)
TYPICAL_CASES_READ = 200

Format = Literal["xlsx", "csv", "json", "pdf"]
TABLE_FORMATS: tuple[Format, ...] = ("xlsx", "csv", "json")
ALL_FORMATS: tuple[Format, ...] = (*TABLE_FORMATS, "pdf")
RENDERERS: dict[Format, tuple[str, str, Callable[[ReportDocument], bytes]]] = {
    "xlsx": (
        "statistics.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        workbook.to_xlsx,
    ),
    "csv": ("statistics.csv", "text/csv; charset=utf-8", workbook.to_csv),
    "json": ("statistics.json", "application/json; charset=utf-8", workbook.to_json),
    "pdf": ("summary.pdf", "application/pdf", summary_pdf.to_pdf),
}


class ReportFile(BaseModel):
    name: str
    key: str
    url: str
    size: int | None = None
    sha256: str | None = None


class Report(BaseModel):
    report_id: str
    campaign: str
    period: str
    scope: str
    generated_at: datetime
    source_counts: dict[str, int] = Field(default_factory=dict)
    files: list[ReportFile]


def _scope_enum(schema: dict[str, Any]) -> None:
    schema["enum"] = scopes()


class ReportRequest(BaseModel):
    """POST /reports: a period key (default: the whole campaign), one scope (default: the caller's)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # The key's shape and the scopes are checked by the logic (422 unknown_period, unknown_scope) and stated here.
    period: Annotated[str, Field(max_length=40, json_schema_extra={"pattern": periods.KEY_PATTERN})] | None = None
    scope: Annotated[str, Field(max_length=20, json_schema_extra=_scope_enum)] | None = None
    formats: list[Format] = Field(default_factory=lambda: list(ALL_FORMATS), min_length=1)


# --- the document -------------------------------------------------------------------------------------------


def scopes() -> list[str]:
    """The county, then every department that handles cases (the county legal office triages, it is a row)."""
    return [COUNTY_SCOPE, *[d.code for d in reference_data.departments()]]


def build_document(settings: Settings, period: Period, scope: str, now: datetime, report_id: str) -> ReportDocument:
    code = None if scope == COUNTY_SCOPE else scope
    departments = [code] if code else None
    # The reads of the document's parts depend on none of each other: sent at once, they wait one round trip.
    with Reads() as reads:
        counted = reads.start(stats.department_rows, settings, period.key, departments)
        # The campaign's material submissions and surveys: one Query of its partition for both.
        campaign_items = reads.start(CampaignStore(settings).read, periods.campaign_id())
        ranked = reads.start(hotspots.summaries, settings, period.start, period.end, department=code)
        typical = reads.start(_typical_cases, settings, period, scope)
        trend = reads.start(stats.weekly, settings, period.start, period.end, code)
    rows, listed = counted.result(), campaign_items.result()
    county = reference_data.county()
    department = reference_data.department(code) if code else None
    campaign = load_campaign()
    return ReportDocument(
        report_id=report_id,
        campaign=periods.campaign_id(),
        title=f"{county.name}{campaign.title}开展情况统计表",
        unit=department.name if department else campaign.organiser,
        scope=scope,
        scope_name=department.name if department else county.name,
        period=period,
        generated_at=now,
        rows=rows,
        totals=_totals(rows),
        categories={c.code: c.name for c in reference_data.categories()},
        channels={c.code: c.name for c in reference_data.channels()},
        hotspots=ranked.result(),
        typical_cases=typical.result(),
        assessment=assessment.assess(
            [row for row in rows if row.department != UNROUTED],
            materials.materials_status(settings, period.end, listed.submissions),
        ),
        weekly=trend.result(),
        surveys=surveys.section(settings, period.start, period.end, departments, listed.survey_ids),
        source_counts={"counter_rows": len(rows), "cases": sum(row.received for row in rows)},
    )


def _totals(rows: list[DepartmentRow]) -> DepartmentRow:
    by_category: dict[str, int] = {}
    by_channel: dict[str, int] = {}
    for row in rows:
        for code, count in row.by_category.items():
            by_category[code] = by_category.get(code, 0) + count
        for code, count in row.by_channel.items():
            by_channel[code] = by_channel.get(code, 0) + count
    return DepartmentRow(
        department="TOTAL",
        name="合计",
        by_category=by_category,
        by_channel=by_channel,
        **{name: sum(getattr(row, name) for row in rows) for name in (*COUNT_FIELDS, *SATISFACTION_FIELDS)},
    )


def _typical_cases(settings: Settings, period: Period, scope: str) -> list[TypicalCase]:
    """Published typical cases up to the end of the period (redacted text only), of the scope's department."""
    names = {d.name: d.code for d in reference_data.departments()}
    found = []
    for item in PublicationStore(settings).published(TYPICAL_CASES_READ, with_tracking_no=True):
        code = names.get(item.get("department") or "")
        published_at = datetime.fromisoformat(item["published_at"]) if item.get("published_at") else None
        local_day = published_at.astimezone(reference_data.county_timezone()).date() if published_at else None
        if (scope != COUNTY_SCOPE and code != scope) or (local_day and local_day > period.end):
            continue
        found.append(
            TypicalCase(
                tracking_no=item["tracking_no"],
                kind=item["kind"],
                department=code,
                title=item["title"],
                summary=item["summary"],
                outcome=item["outcome"],
                published_at=published_at,
            )
        )
    return found


def move_campaign_items(settings: Settings) -> int:
    """Once, after upgrading from separate partitions of the material submissions and the survey list
    (`MATERIALS#<campaign>`, `SURVEYS#<campaign>`) to the campaign partition the reports read in one Query: every
    one moved there (shared/core/dal/campaign.py); how many (none on a second run)."""
    return CampaignStore(settings).move_earlier(periods.campaign_id())


# --- generating and storing -----------------------------------------------------------------------------------


def report_prefix(campaign: str, period: Period, scope: str) -> str:
    # Period keys hold colons (`week:2026-W21`), awkward in URLs: the stored path uses dashes.
    return f"{PREFIX}{campaign}/{period.key.replace(':', '-')}/{scope}/"


def generate(
    settings: Settings,
    period: Period,
    scope: str,
    formats: tuple[Format, ...] | list[Format],
    now: datetime,
    official: bool = True,
) -> Report:
    """Build one scope's document, render it in each format and store the files with their manifest."""
    # An official report (the schedules', the county legal office's) made again for the same scope and period
    # replaces the earlier one: the path names no run. Anyone else's goes to a folder of its own run, so that a
    # read-only auditor or a department never overwrites the official files.
    prefix = report_prefix(periods.campaign_id(), period, scope)
    if not official:
        prefix += f"requested/{now.astimezone(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}/"
    document = build_document(settings, period, scope, now, prefix.removeprefix(PREFIX).rstrip("/"))
    files = []
    for fmt in formats:
        name, content_type, render = RENDERERS[fmt]
        body = render(document)
        checksum = hashlib.sha256(body).hexdigest()
        objects.put(settings.reports_bucket, prefix + name, body, content_type, {"sha256": checksum})
        files.append({"name": name, "key": prefix + name, "size": len(body), "sha256": checksum})
    manifest = {
        "report_id": document.report_id,
        "campaign": document.campaign,
        "period": period.key,
        "scope": scope,
        "generated_at": now.isoformat(),
        "source_counts": document.source_counts,
        "files": files,
    }
    body = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
    objects.put(settings.reports_bucket, prefix + MANIFEST, body, "application/json; charset=utf-8")
    logger.info("report generated", extra={"period": period.key, "scope": scope, "formats": list(formats)})
    return _report(settings, manifest)


def generate_all(settings: Settings, period: Period, formats: tuple[Format, ...], now: datetime) -> list[Report]:
    return [generate(settings, period, scope, formats, now) for scope in scopes()]


def weekly_reports(settings: Settings, now: datetime | None = None) -> list[Report]:
    """Monday morning: the statistics table of the week that just ended, for the county and each department."""
    now = now or datetime.now(UTC)
    last_week = periods.week_of(periods.county_day(now - timedelta(days=7)))
    return generate_all(settings, last_week, TABLE_FORMATS, now)


def phase_end_reports(settings: Settings, now: datetime | None = None) -> list[Report]:
    """The day after a campaign phase ends: its table and summary; after the last phase, the whole campaign's."""
    now = now or datetime.now(UTC)
    yesterday = now.astimezone(reference_data.county_timezone()).date() - timedelta(days=1)
    made = []
    for period in periods.campaign_periods():
        if period.end == yesterday:
            made += generate_all(settings, period, ALL_FORMATS, now)
    return made


def request_report(settings: Settings, principal: Principal, body: bytes, now: datetime | None = None) -> Report:
    """A report on demand: the county legal office for any scope, a department for its own."""
    roles.require_role(principal, *COUNTY_READERS, *DEPARTMENT_READERS)
    request = parse_model(ReportRequest, body)
    scope = request.scope or principal.department or COUNTY_SCOPE
    _require_scope(principal, scope)
    if scope not in scopes():
        raise ApiError(422, "unknown_scope", "没有这个统计范围")
    try:
        period = periods.period(request.period) if request.period else periods.campaign_periods()[0]
    except ValueError:
        raise ApiError(422, "unknown_period", "统计期间格式不正确，例如 campaign:2026、week:2026-W21") from None
    official = principal.role == Role.county_admin
    return generate(settings, period, scope, request.formats, now or datetime.now(UTC), official)


def _require_scope(principal: Principal, scope: str) -> None:
    if principal.role in DEPARTMENT_READERS and scope != principal.department:
        raise ApiError(403, "forbidden_scope", "只能查看本部门的报表")


# --- listing ----------------------------------------------------------------------------------------------------


def list_reports(settings: Settings, principal: Principal, limit: int = 50) -> list[Report]:
    """The newest reports the caller may see first, each file with a presigned download link."""
    roles.require_role(principal, *COUNTY_READERS, *DEPARTMENT_READERS)
    manifests = [
        stored
        for stored in objects.list_under(settings.reports_bucket, PREFIX)
        if stored.key.endswith("/" + MANIFEST) and _visible(principal, stored.key)
    ]
    manifests.sort(key=lambda stored: stored.last_modified, reverse=True)
    return [_report(settings, json.loads(objects.get(settings.reports_bucket, m.key))) for m in manifests[:limit]]


def _visible(principal: Principal, key: str) -> bool:
    # reports/<campaign>/<period>/<scope>/manifest.json
    scope = key.removeprefix(PREFIX).split("/")[2]
    return principal.role in COUNTY_READERS or scope == principal.department


def _report(settings: Settings, manifest: dict) -> Report:
    return Report(
        report_id=manifest["report_id"],
        campaign=manifest["campaign"],
        period=manifest["period"],
        scope=manifest["scope"],
        generated_at=datetime.fromisoformat(manifest["generated_at"]),
        source_counts=manifest.get("source_counts", {}),
        files=[
            ReportFile(
                name=item["name"],
                key=item["key"],
                size=item["size"],
                sha256=item["sha256"],
                url=objects.download_url(settings.reports_bucket, item["key"], settings.report_url_seconds),
            )
            for item in manifest["files"]
        ],
    )
