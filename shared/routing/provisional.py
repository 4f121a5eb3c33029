"""Provisional deadlines counted again once their year's official calendar arrives (DESIGN.md, section 3).

A deadline counted into a year without calendar data (shared/routing/calendar.py) falls back to weekends only and is
marked provisional; its case item then sits in the sparse gsi4 partition `PROVISIONAL#<year>` (shared/core/dal/).
When a deployment brings that year's file, the scheduled run (shared/routing/reminders.py; `hotspot recompute-deadlines`
on demand) reads the partitions of the years around now that have data, counts each deadline again from what
the case kept (`due_rule`, `due_from`, `due_days`), and stores the new due date in `due_at` and the field of
its kind, clears the flag (so the case leaves the partition) and appends a `recompute_deadline` audit event,
in one transaction guarded by the version read. Reminder points already sent stay noted: the same deadline
moved, it is not a new one.
"""

from collections.abc import Iterator
from datetime import UTC, datetime

from pydantic import BaseModel

from shared.core.changes import change_case
from shared.core.dal.cases import CaseStore
from shared.core.dal.items import ConditionFailed
from shared.core.models import AuditEvent, Case, DueKind
from shared.core.observability import logger
from shared.core.settings import Settings
from shared.routing import calendar
from shared.routing.deadlines import deadline_after

SYSTEM_ACTOR = "system:deadlines"

# The record field of each running deadline's kind, set along with due_at.
RECORD_FIELDS = {
    DueKind.acceptance: "acceptance_due_at",
    DueKind.reply: "reply_due_at",
    DueKind.review_reply: "review_reply_due_at",
    DueKind.answer: "answer_due_at",
}


class Recomputed(BaseModel):
    """One deadline counted again (no personal data: printed by the CLI, logged)."""

    tracking_no: str
    due_kind: DueKind
    old_due_at: datetime
    new_due_at: datetime


def recompute_deadlines(settings: Settings, now: datetime | None = None, dry_run: bool = False) -> list[Recomputed]:
    """Count again the provisional deadlines whose calendar years now all have data; `dry_run` only finds them."""
    now = now or datetime.now(UTC)
    store = CaseStore(settings)
    done = []
    for case in _candidates(store, now):
        change = recount(case, now)
        if change is None:
            continue
        after, event, recomputed = change
        if not dry_run:
            try:
                store.transition(case, after, event)
            except ConditionFailed:
                continue  # the index read was stale or a staff action came first: the next run reads it again
        done.append(recomputed)
        logger.info("deadline recomputed", extra={"tracking_no": case.tracking_no, "dry_run": dry_run})
    return done


def _candidates(store: CaseStore, now: datetime) -> Iterator[Case]:
    # A running deadline lies at most a few months ahead; a year behind covers data that came late.
    for year in range(now.year - 1, now.year + 2):
        if calendar.has_data(year):
            yield from store.provisional(year)


def recount(case: Case, now: datetime) -> tuple[Case, AuditEvent, Recomputed] | None:
    """The case with its running deadline counted again, its audit event and what changed; None while a year of
    the span still lacks data (or the case no longer has a provisional deadline)."""
    if not case.deadline_provisional or case.due_at is None or case.due_kind is None:
        return None
    if case.due_rule is None or case.due_from is None:
        return None  # counted before cases kept how (none in production): left as it is
    deadline = deadline_after(case.due_from, case.due_rule, case.due_days)
    if deadline.provisional:
        return None
    updates = {"due_at": deadline.due_at, RECORD_FIELDS[case.due_kind]: deadline.due_at, "deadline_provisional": False}
    _, after, event = change_case(
        case,
        SYSTEM_ACTOR,
        "recompute_deadline",
        now,
        note="已按国务院公布的节假日安排重新计算期限",
        details={
            "due_kind": case.due_kind,
            "rule": case.due_rule,
            "old_due_at": case.due_at.isoformat(),
            "new_due_at": deadline.due_at.isoformat(),
        },
        **updates,
    )
    recomputed = Recomputed(
        tracking_no=case.tracking_no, due_kind=case.due_kind, old_due_at=case.due_at, new_due_at=deadline.due_at
    )
    return after, event, recomputed
