"""Aggregate statistics, counted exactly once from the case events (issue 5), and read back for reports.

What a case counts for is a pure function of one snapshot of it (`contribution`): the figures of
shared/reporting/report_document.py for every period its receipt falls in (shared/reporting/periods.py), on the row of
its
department, plus `cat:<category>` and `ch:<channel>`, and the hotspot clusters of its receipt day. The reporting
service's consumer (`count_events`) counts the case's current version in place of the one counted before, in one
transaction with the marker of that version (shared/core/dal/ StatsStore): duplicates, redeliveries and events
arriving out of order change nothing twice. `rebuild` recounts every case and compares (or repairs).

Cases still `received` (not yet routed: seconds after intake, the sweeper re-queues stragglers) have had no
event yet: they count from routing on, in the live counters and in the rebuild alike.
"""

import unicodedata
from collections import defaultdict
from datetime import UTC, date, datetime

from pydantic import BaseModel, Field

from shared.core import reference_data, text
from shared.core.dal.cases import CaseStore
from shared.core.dal.items import CaseNotFound
from shared.core.dal.records import RecordStore
from shared.core.dal.stats import StatsStore
from shared.core.messages import Envelope
from shared.core.models import Case, CaseKind, Contribution, Status
from shared.core.observability import logger
from shared.core.settings import Settings
from shared.reporting import periods, records
from shared.reporting.report_document import COUNT_FIELDS, SATISFACTION_FIELDS, DepartmentRow, Period, WeekPoint

UNROUTED = "UNROUTED"
UNROUTED_NAME = "未分办"
# Figures that come from records the county legal office enters (shared/reporting/records.py), not from cases.
RECORD_FIELDS = ("lawsuits_lost", "wrong_decision_accountability")
COUNTERS = tuple(name for name in COUNT_FIELDS if name not in RECORD_FIELDS) + SATISFACTION_FIELDS
CATEGORY_PREFIX, CHANNEL_PREFIX = "cat:", "ch:"
# The figures of the weekly trend (reports, dashboard).
TREND_COUNTERS = ("received", "closed")
MEASURE_COUNTERS = {"correct": "corrected", "revoke": "revoked", "order_rectification": "rectification_ordered"}
FINDING_COUNTERS = {
    "substantiated": "substantiated",
    "partly": "partly_substantiated",
    "unsubstantiated": "unsubstantiated",
}


# --- what one case counts for ---------------------------------------------------------------------------------


def normalise_unit(name: str) -> str:
    """The matching form of a unit or officer as people write it: NFKC, case-folded, without whitespace,
    punctuation and invisible characters, so that 县 城管局。 and 县城管局 are one unit."""
    return "".join(char for char in text.for_matching(name) if unicodedata.category(char)[0] not in "PZC")


def _question_counters(case: Case) -> dict[str, int]:
    """What a question adds on its department's row: only the question figures, so that no complaint figure
    (nor a category or channel) counts it."""
    answered, due = case.answered_at, case.answer_due_at
    on_time = answered is not None and due is not None and answered <= due
    flags = {
        "questions_received": True,
        "questions_answered": answered is not None,
        "questions_answered_on_time": on_time,
    }
    return {name: 1 for name, on in flags.items() if on}


def _counters(case: Case) -> dict[str, int]:
    """The amounts the case adds on its department's row (what it was transferred from apart)."""
    if case.kind == CaseKind.question:
        return _question_counters(case)
    # The reply deadline in force for the latest reply: the review's once the case was reopened for review;
    # reply_due_at already includes an approved extension.
    reply_due = case.review_reply_due_at if case.review_requested_at else case.reply_due_at
    accepted_late = bool(case.accepted_at and case.acceptance_due_at and case.accepted_at > case.acceptance_due_at)
    replied_late = bool(case.replied_at and reply_due and case.replied_at > reply_due)
    closed = case.status == Status.closed
    flags = {
        "received": True,
        "enterprise_related": case.domain == "enterprise",
        "livelihood_related": case.domain == "livelihood",
        "accepted": case.accepted_at is not None,
        "accepted_on_time": case.accepted_at is not None and not accepted_late,
        "not_accepted": case.status == Status.not_accepted,
        "closed": closed,
        "closed_on_time": closed and case.replied_at is not None and not replied_late,
        "overdue": accepted_late or replied_late or case.escalated_at is not None,
        "typical_positive": case.typical == "positive",
        "typical_negative": case.typical == "negative",
        "escalations": case.escalated_at is not None,
    }
    if case.callback is not None:
        flags["callback_asked"] = True
        if case.callback.rating is not None:
            flags["callback_answered"] = True
            flags[str(case.callback.rating)] = True
    if case.finding:
        flags[FINDING_COUNTERS[case.finding]] = True
    for measure in case.measures:
        if measure in MEASURE_COUNTERS:
            flags[MEASURE_COUNTERS[measure]] = True
    amounts = {name: 1 for name, on in flags.items() if on}
    if "hold_accountable" in case.measures:
        amounts["held_accountable"] = case.accountable_persons or 1
    if case.category:
        amounts[CATEGORY_PREFIX + case.category] = 1
    amounts[CHANNEL_PREFIX + case.channel] = 1
    return amounts


def contribution(case: Case) -> Contribution:
    """What this version of the case counts for; a duplicate merged into another counts nothing."""
    if case.status == Status.merged:
        return Contribution(tracking_no=case.tracking_no, version=case.version)
    department = case.department or UNROUTED
    amounts = _counters(case)
    counts: dict[tuple[str, str, str], int] = {}
    for period in periods.periods_of(case.received_at):
        counts.update({(period.key, department, name): amount for name, amount in amounts.items()})
        if case.transferred_from:
            # On the department that handed it back, whoever handles it now.
            counts[(period.key, case.transferred_from, "transferred")] = 1
    # The county's weekly trend: its week's row in the partition of the ISO year's weeks, read in one query.
    week = periods.week_of(periods.county_day(case.received_at))
    counts.update(
        {(weeks_partition(week), week.key, name): amounts[name] for name in TREND_COUNTERS if name in amounts}
    )
    clusters: set[tuple[str, str]] = set()
    if case.category and case.kind == CaseKind.complaint:  # questions make no hotspot
        day = periods.county_day(case.received_at).isoformat()
        clusters.add((day, f"deptcat:{department}#{case.category}"))
        unit = normalise_unit(case.respondent or "")
        if unit:
            clusters.add((day, f"unit:{unit}"))
    return Contribution(tracking_no=case.tracking_no, version=case.version, counts=counts, clusters=frozenset(clusters))


# --- counting events ------------------------------------------------------------------------------------------


class StaleCount(Exception):
    """Another consumer changed the case's contribution between our read and our write, to an older version:
    left to SQS to deliver again (the next attempt reads the newer state)."""


def count_events(settings: Settings, messages: dict[str, Envelope]) -> set[str]:
    """Count the current version of each case a batch of case events (by message id) names, if not counted yet: the
    cases and their stored contributions read in one BatchGetItem each, each case counted once however many of its
    events the batch holds. The case is read anew, so an event older than the case counts the newer state (and its
    own event then finds nothing to do). The ids of the messages whose case did not count (retried by the queue)."""
    by_case: dict[str, list[str]] = defaultdict(list)
    failed: set[str] = set()
    for message_id, message in messages.items():
        if "tracking_no" in message.data:
            by_case[str(message.data["tracking_no"])].append(message_id)
        else:
            logger.error("case event without a tracking number", extra={"message_id": message_id})
            failed.add(message_id)
    store = StatsStore(settings)
    cases = CaseStore(settings).get_many(list(by_case))
    contributions = store.contributions(list(by_case))
    for tracking_no, message_ids in by_case.items():
        try:
            _count_case(store, tracking_no, cases.get(tracking_no), contributions.get(tracking_no))
        except Exception:
            logger.exception("counting failed", extra={"tracking_no": tracking_no})
            failed.update(message_ids)
    return failed


def _count_case(store: StatsStore, tracking_no: str, case: Case | None, counted: Contribution | None) -> None:
    """Count `case` as read over `counted`, the contribution found stored (the guard of the write catches one counted
    since)."""
    if case is None:
        raise CaseNotFound(tracking_no)
    if counted is not None and counted.version >= case.version:
        return
    if not store.apply(counted, contribution(case)):
        now = store.contribution(tracking_no)
        if now is None or now.version < case.version:
            raise StaleCount(tracking_no)
        return  # a concurrent delivery counted this version (or a newer one) first
    logger.info("case counted", extra={"tracking_no": tracking_no, "version": case.version})


# --- rebuild ----------------------------------------------------------------------------------------------------


class RebuildReport(BaseModel):
    cases_read: int = 0
    items_compared: int = 0
    # One line per item that differs: keys, tracking numbers and numbers only (unit names are left out).
    differences: list[str] = Field(default_factory=list)
    written: int = 0


def _nonzero(values: dict[str, int]) -> dict[str, int]:
    return {name: amount for name, amount in values.items() if amount}


def rebuild(settings: Settings, write: bool) -> RebuildReport:
    """Recount every routed case (one index query per status, never a Scan) and every record the county legal
    office entered (shared/reporting/records.py, one index Query a year), compare with the live counter,
    cluster and contribution items, and unless only checking, replace those that differ. Run it while the
    events queue is quiet: events counted during a rebuild may be overwritten (run it again to check)."""
    cases = [case for status in Status if status != Status.received for case in CaseStore(settings).by_status(status)]
    rebuilt = {case.tracking_no: contribution(case) for case in cases}
    store = StatsStore(settings)
    live = store.contributions(list(rebuilt))
    rows: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    clusters: dict[tuple[str, str], set[str]] = defaultdict(set)
    for counted in rebuilt.values():
        for (period, department, name), amount in counted.counts.items():
            row = rows[(period, department)]
            row[name] = row.get(name, 0) + amount
        for cluster in counted.clusters:
            clusters[cluster].add(counted.tracking_no)
    # The county legal office's records count on the same rows: those dated from the first year of the campaign
    # or of a case to this year (one index Query a year; records cannot be dated later).
    first = min([periods.campaign_periods()[0].start.year, *(case.received_at.year for case in cases)])
    last = periods.county_day(datetime.now(UTC)).year
    entered = [records.counted(record) for record in RecordStore(settings).between(f"{first}-01-01", f"{last}-12-31")]
    for counts in entered:
        for (period, department, name), amount in counts.items():
            row = rows[(period, department)]
            row[name] = row.get(name, 0) + amount
    # Every period and day either side counts for; items of others cannot be found without a Scan.
    period_keys = {key for counted in [*rebuilt.values(), *live.values()] for key, _, _ in counted.counts}
    period_keys |= {key for counts in entered for key, _, _ in counts}
    days = {day for counted in [*rebuilt.values(), *live.values()] for day, _ in counted.clusters}
    report = RebuildReport(cases_read=len(cases))

    for period in sorted(period_keys):
        live_rows = store.period_rows(period)
        for department in sorted(set(live_rows) | {d for p, d in rows if p == period}):
            expected, found = rows.get((period, department), {}), _nonzero(live_rows.get(department, {}))
            report.items_compared += 1
            if expected != found:
                changed = sorted(name for name in set(expected) | set(found) if expected.get(name) != found.get(name))
                detail = ", ".join(
                    f"{name} live {found.get(name, 0)} rebuilt {expected.get(name, 0)}" for name in changed
                )
                report.differences.append(f"STATS#{period} DEPT#{department}: {detail}")
                if write:
                    store.put_row(period, department, expected)
                    report.written += 1
    for day in sorted(days):
        live_clusters = store.clusters(day)
        for key in sorted(set(live_clusters) | {k for d, k in clusters if d == day}):
            expected_cases = clusters.get((day, key), set())
            count, found_cases = live_clusters.get(key, (0, set()))
            report.items_compared += 1
            if count != len(expected_cases) or found_cases != expected_cases:
                kind = key.split(":", 1)[0]
                report.differences.append(
                    f"CLUSTER#{day} {kind}: live {count} {sorted(found_cases)} rebuilt {sorted(expected_cases)}"
                )
                if write:
                    store.put_cluster(day, key, expected_cases)
                    report.written += 1
    for tracking_no, counted in sorted(rebuilt.items()):
        stored = live.get(tracking_no)
        report.items_compared += 1
        # Versions may differ with nothing counted differently (a publication step bumps the version quietly).
        if stored is None or (stored.counts, stored.clusters) != (counted.counts, counted.clusters):
            shown = f"v{stored.version}" if stored else "none"
            report.differences.append(f"CASE#{tracking_no} STATS: live {shown} rebuilt v{counted.version}")
            if write:
                store.put_contribution(counted)
                report.written += 1
    logger.info(
        "statistics rebuilt" if write else "statistics checked", extra=report.model_dump(exclude={"differences"})
    )
    return report


# --- reading for reports: cost grows with departments and weeks, not with cases --------------------------------


def _row(code: str, counters: dict[str, int]) -> DepartmentRow:
    known = {department.code: department.name for department in reference_data.departments()}
    return DepartmentRow.model_validate(
        {
            "department": code,
            "name": UNROUTED_NAME if code == UNROUTED else known.get(code, code),
            **{name: counters.get(name, 0) for name in (*COUNTERS, *RECORD_FIELDS)},
            "by_category": _prefixed(counters, CATEGORY_PREFIX),
            "by_channel": _prefixed(counters, CHANNEL_PREFIX),
        }
    )


def _prefixed(counters: dict[str, int], prefix: str) -> dict[str, int]:
    return {
        name.removeprefix(prefix): amount for name, amount in counters.items() if name.startswith(prefix) and amount
    }


def department_rows(settings: Settings, period_key: str, departments: list[str] | None = None) -> list[DepartmentRow]:
    """One row per department of the period (one Query): the ones given, in that order, or the county's
    departments in the order of departments.json, then UNROUTED, then any other code counted. lawsuits_lost and
    wrong_decision_accountability are the county legal office's records, counted in the same items
    (shared/reporting/records.py)."""
    rows = StatsStore(settings).period_rows(period_key)
    if departments is None:
        departments = [department.code for department in reference_data.departments()] + [UNROUTED]
        departments += sorted(set(rows) - set(departments))
    return [_row(code, rows.get(code, {})) for code in departments]


def weeks_partition(week: Period) -> str:
    """The counter partition of the county's weekly trend that holds a week's row (its ISO year's weeks)."""
    return f"weeks:{week.key.removeprefix('week:')[:4]}"


def weekly(settings: Settings, start: date, end: date, department: str | None = None) -> list[WeekPoint]:
    """Received and closed per ISO week overlapping start..end, county-wide (one Query per ISO year, of its weeks'
    partition, which holds only those two counters) or of one department (one BatchGetItem of its week rows, only
    those two of their counters); like every figure, by week of receipt."""
    store = StatsStore(settings)
    weeks = periods.weeks_between(start, end)
    chosen: dict[str, list[dict[str, int]]]
    if department:
        found = store.department_periods(department, [week.key for week in weeks], TREND_COUNTERS)
        chosen = {week.key: [found.get(week.key, {})] for week in weeks}
    else:
        found = {}
        for partition in dict.fromkeys(weeks_partition(week) for week in weeks):
            found |= store.period_rows(partition)
        chosen = {week.key: [found.get(week.key, {})] for week in weeks}
    return [
        WeekPoint(
            week_start=week.start,
            received=sum(row.get("received", 0) for row in chosen[week.key]),
            closed=sum(row.get("closed", 0) for row in chosen[week.key]),
        )
        for week in weeks
    ]
