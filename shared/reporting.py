"""County statistics: counts by department x category, by channel and by status, as CSV and JSON in S3."""

import csv
import io
import json
import secrets
from collections import Counter
from datetime import UTC, datetime

from pydantic import BaseModel

from shared import auth, objects, reference_data
from shared.auth import Principal, Role
from shared.dal import CaseStore
from shared.models import STATUS_NAMES, Status
from shared.observability import logger
from shared.settings import Settings
from shared.text import FORMULA_STARTS

PREFIX = "reports/"
UNROUTED = "未分办"
# County statistics are for the county legal office and the auditors.
REPORT_ROLES = (Role.county_admin, Role.auditor)


class Statistics(BaseModel):
    total: int
    by_department_category: dict[str, dict[str, int]]
    by_channel: dict[str, int]
    by_status: dict[str, int]


class ReportFile(BaseModel):
    name: str
    key: str
    url: str
    size: int | None = None


class Report(BaseModel):
    report_id: str
    generated_at: datetime
    files: list[ReportFile]


def collect(settings: Settings) -> Statistics:
    """Count every case, one index query per status (never a Scan)."""
    store = CaseStore(settings)
    cells: Counter[tuple[str, str]] = Counter()
    channels: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for status in Status:
        for case in store.by_status(status):
            cells[(case.department or UNROUTED, case.category or UNROUTED)] += 1
            channels[case.channel] += 1
            statuses[status] += 1
    matrix: dict[str, dict[str, int]] = {}
    for (department, category), count in cells.items():
        matrix.setdefault(department, {})[category] = count
    return Statistics(
        total=sum(statuses.values()), by_department_category=matrix, by_channel=dict(channels), by_status=dict(statuses)
    )


def safe_cell(value: object) -> str:
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(stats: Statistics, generated_at: datetime) -> bytes:
    categories = reference_data.categories()
    departments = [(d.code, d.name) for d in reference_data.departments()] + [(UNROUTED, UNROUTED)]
    local_time = generated_at.astimezone(reference_data.county_timezone())
    rows: list[list[object]] = [
        [f"{reference_data.county().name}行政执法热点追踪投诉统计"],
        ["生成时间（北京时间）", f"{local_time:%Y-%m-%d %H:%M}"],
        ["投诉总数", stats.total],
        [],
        ["按部门和类别"],
        ["部门代码", "部门", *[c.name for c in categories], UNROUTED, "合计"],
    ]
    column_totals: Counter[str] = Counter()
    for code, name in departments:
        counts = stats.by_department_category.get(code, {})
        column_totals.update(counts)
        rows.append(
            [code, name, *[counts.get(c.code, 0) for c in categories], counts.get(UNROUTED, 0), sum(counts.values())]
        )
    rows.append(["合计", "", *[column_totals[c.code] for c in categories], column_totals[UNROUTED], stats.total])
    rows += [[], ["按渠道"], ["渠道", "件数"]]
    rows += [[channel.name, stats.by_channel.get(channel.code, 0)] for channel in reference_data.channels()]
    rows += [[], ["按状态"], ["状态", "件数"]]
    rows += [[STATUS_NAMES[status], stats.by_status.get(status, 0)] for status in Status]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([[safe_cell(cell) for cell in row] for row in rows])
    # The byte order mark makes Excel read the file as UTF-8 rather than the system code page.
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def generate_report(settings: Settings, now: datetime | None = None) -> Report:
    now = now or datetime.now(UTC)
    stats = collect(settings)
    report_id = f"county-statistics-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"
    document = {"report_id": report_id, "generated_at": now.isoformat(), **stats.model_dump()}
    files = {
        "statistics.csv": (to_csv(stats, now), "text/csv; charset=utf-8"),
        "statistics.json": (
            json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8"),
            "application/json; charset=utf-8",
        ),
    }
    for name, (body, content_type) in files.items():
        objects.put(settings.reports_bucket, f"{PREFIX}{report_id}/{name}", body, content_type)
    logger.info("report generated", extra={"report_id": report_id, "total": stats.total})
    return Report(
        report_id=report_id,
        generated_at=now,
        files=[_file(settings, f"{PREFIX}{report_id}/{name}", len(body)) for name, (body, _) in files.items()],
    )


def request_report(settings: Settings, principal: Principal, now: datetime | None = None) -> Report:
    """A report on demand, for a staff member allowed to see county statistics."""
    auth.require_role(principal, *REPORT_ROLES)
    return generate_report(settings, now)


def list_reports(settings: Settings, principal: Principal, limit: int = 50) -> list[Report]:
    """The newest reports first, each file with a presigned download link."""
    auth.require_role(principal, *REPORT_ROLES)
    grouped: dict[str, list[objects.StoredObject]] = {}
    for stored in objects.list_under(settings.reports_bucket, PREFIX):
        report_id = stored.key.removeprefix(PREFIX).split("/", 1)[0]
        grouped.setdefault(report_id, []).append(stored)
    reports = []
    for report_id in sorted(grouped, reverse=True)[:limit]:
        stored_files = sorted(grouped[report_id], key=lambda item: item.key)
        reports.append(
            Report(
                report_id=report_id,
                generated_at=min(item.last_modified for item in stored_files),
                files=[_file(settings, item.key, item.size) for item in stored_files],
            )
        )
    return reports


def _file(settings: Settings, key: str, size: int) -> ReportFile:
    return ReportFile(
        name=key.rsplit("/", 1)[-1],
        key=key,
        size=size,
        url=objects.download_url(settings.reports_bucket, key, settings.report_url_seconds),
    )
