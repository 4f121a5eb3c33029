"""The scheduled run in routing: deadline reminders and escalation, and the sweeper for complaints never routed.

Each run first counts again the provisional deadlines whose year's calendar has arrived (shared/routing/provisional.py),
so that reminders go by the official calendar, and ends by sending the outbox items a change left behind
(shared/core/outbox.py).

Every run finds the cases whose running deadline (`due_at`, of kind `due_kind`) is near or past through the due
index (gsi3, one query per UTC month: a handful whatever the lookback; never a Scan), and for each one queues at
most the reminder points it has reached and not yet had (shared/data/deadline_policy.json, `reminders`):

- `before-<n>`: n working days before the due date (the nearest point reached only: a case routed late is not
  told three times at once);
- `today`: on the due date;
- `overdue-<local date>`: every day once overdue;
- `escalation`: once per deadline, the first overdue run: the department head and the county legal office are
  told (督办), and the case records it (`escalated_at` and an audit event, a versioned update).

A reminder is never sent twice: its message id is fixed by case, deadline and point, so the notification
consumer's once-per-id guard drops a repeat, and the point is noted on the case so later runs skip it. A case's
notices go out in one request and are noted in one write: the first overdue run's notice and escalation in the
escalation's transaction. During the quiet hours (local time) the run queues nothing: the first run after them
sends what fell due.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from shared.core import outbox, queues
from shared.core.batch import each_isolated
from shared.core.changes import change_case
from shared.core.dal.cases import CaseStore, due_shard
from shared.core.dal.items import ConditionFailed
from shared.core.messages import Envelope, MessageType
from shared.core.models import Case, Status
from shared.core.notices import QuietHours
from shared.core.observability import count, logger
from shared.core.outbox import transition_message
from shared.core.reference_data import county_timezone, load_json
from shared.core.settings import Settings
from shared.routing import calendar, provisional

ESCALATION = "escalation"
SYSTEM_ACTOR = "system:reminders"


class ReminderPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    before_working_days: tuple[PositiveInt, ...] = Field(min_length=1)
    quiet_hours: QuietHours


@cache
def policy() -> ReminderPolicy:
    return ReminderPolicy.model_validate(load_json("deadline_policy.json")["reminders"])


class Reminder(BaseModel):
    """One notice a run queues (or, dry, would queue): no personal data, so it can be printed and logged."""

    tracking_no: str
    kind: str  # a key of sms_templates.json, e.g. acceptance_due_soon
    point: str  # before-3, today, overdue-2026-10-09, escalation
    department: str
    due_at: datetime

    def message_id(self) -> str:
        # Fixed by case, deadline and point: an extension's new deadline is reminded anew, nothing else twice.
        return f"{self.tracking_no}:{self.kind}:{self.due_at.astimezone(UTC):%Y%m%dT%H%M%S}:{self.point}"


class RunSummary(BaseModel):
    quiet_hours: bool = False
    due_soon: int = 0
    due_today: int = 0
    overdue: int = 0
    escalated: int = 0
    recomputed: int = 0
    failed: int = 0
    reminders: list[Reminder] = Field(default_factory=list)


def remind_deadlines(settings: Settings, now: datetime | None = None, dry_run: bool = False) -> RunSummary:
    """The scheduled run; `dry_run` only finds what would be sent. Each case on its own: one that fails is logged,
    counted and skipped (shared/core/batch.py each_isolated). The sweeps are schedules of their own."""
    now = now or datetime.now(UTC)
    summary = RunSummary(quiet_hours=policy().quiet_hours.contains(now.astimezone(county_timezone()).time()))
    store = CaseStore(settings)
    summary.recomputed = len(provisional.recompute_deadlines(settings, now, dry_run))

    def remind(case: Case) -> None:
        reminders = due_reminders(case, now)
        if not reminders or (not dry_run and not _send(settings, store, case, reminders, now)):
            return
        for reminder in reminders:
            summary.reminders.append(reminder)
            counter = _counter(reminder.point)
            setattr(summary, counter, getattr(summary, counter) + 1)

    if not summary.quiet_hours:
        due = _cases_due(settings, store, now)
        summary.failed = each_isolated(due, remind, "reminder", lambda case: case.tracking_no)
    logger.info("reminder run", extra=summary.model_dump(exclude={"reminders"}))
    if not dry_run:
        for point in ("due_soon", "due_today", "overdue"):
            count("Reminders", getattr(summary, point), point=point)
        count("Escalations", summary.escalated)
    return summary


def _counter(point: str) -> str:
    if point == ESCALATION:
        return "escalated"
    if point.startswith("overdue-"):
        return "overdue"
    return "due_today" if point == "today" else "due_soon"


def due_reminders(case: Case, now: datetime) -> list[Reminder]:
    """The reminder points of the case's running deadline reached at `now` and not yet noted on the case."""
    if case.due_at is None or case.due_kind is None or case.department is None:
        return []
    zone = county_timezone()
    today, due_day = now.astimezone(zone).date(), case.due_at.astimezone(zone).date()
    kind = case.due_kind.value
    points: list[tuple[str, str]]
    if case.due_at <= now:
        points = [(f"{kind}_overdue", f"overdue-{today.isoformat()}"), (f"{kind}_escalated", ESCALATION)]
    elif today == due_day:
        points = [(f"{kind}_due_today", "today")]
    else:
        left = working_days_left(today, due_day)
        reached = [n for n in policy().before_working_days if left <= n]
        points = [(f"{kind}_due_soon", f"before-{min(reached)}")] if reached else []
    return [
        Reminder(tracking_no=case.tracking_no, kind=name, point=point, department=case.department, due_at=case.due_at)
        for name, point in points
        if point not in case.reminders_sent
    ]


def working_days_left(today: date, due_day: date) -> int:
    """Working days after today up to and including the due date."""
    left, day = 0, calendar.next_working_day(today)
    while day <= due_day:
        left, day = left + 1, calendar.next_working_day(day)
    return left


def _send(settings: Settings, store: CaseStore, case: Case, reminders: list[Reminder], now: datetime) -> bool:
    """Queue the case's notices, then note them on the case: a crash in between repeats messages the consumer
    drops. False when they were noted already or the case changed meanwhile (the next run looks again)."""
    messages = [
        Envelope(
            type=MessageType.notification_requested,
            id=reminder.message_id(),
            data={
                "tracking_no": reminder.tracking_no,
                "kind": reminder.kind,
                "department": reminder.department,
                "due_at": reminder.due_at.isoformat(),
            },
        )
        for reminder in reminders
    ]
    if queues.send_batch(settings.notify_queue, messages):
        raise RuntimeError("reminder notices not queued")
    points = [reminder.point for reminder in reminders]
    overdue = any(point.startswith("overdue-") for point in points)
    zone = county_timezone()
    tomorrow = datetime.combine(now.astimezone(zone).date() + timedelta(days=1), time(0), tzinfo=zone)
    if ESCALATION in points:
        return _record_escalation(settings, store, case, points, tomorrow if overdue else None, now)
    (point,) = points  # without an escalation a run reaches one point of a deadline
    return store.add_reminder(case.tracking_no, point, remind_from=tomorrow if overdue else None)


def _record_escalation(
    settings: Settings, store: CaseStore, case: Case, points: list[str], remind_from: datetime | None, now: datetime
) -> bool:
    """Note the escalation (and the other points reached, `points`) on the case as the index gave it, with its
    audit event, guarded by its version: an index read that lags behind the case, or a staff action first, fails
    the condition and the next run looks again (its messages have the same ids). The case event is kept in an
    outbox written with it, as staff actions do."""
    if case.due_at is None:
        return False
    updates: dict = {"escalated_at": now, "reminders_sent": [*case.reminders_sent, *points]}
    if remind_from is not None:
        updates["remind_from"] = remind_from
    change = change_case(
        case,
        SYSTEM_ACTOR,
        "escalate",
        now,
        note="超期督办：已通知部门负责人和县政府法制办",
        details={"due_kind": case.due_kind, "due_at": case.due_at.isoformat()},
        **updates,
    )
    after = change.after
    pending = outbox.entry(
        case.tracking_no, after.version, now, [(settings.events_queue, transition_message(after, None))]
    )
    try:
        store.transition_together([change], [outbox.write(store, pending)])
    except ConditionFailed:
        return False
    outbox.deliver(settings, pending)
    return True


def move_due_entries(settings: Settings) -> int:
    """Once, after upgrading from day to month shards of the due index (which the runs read): every case whose
    deadline runs gets its entry in its month's shard. Cases by status (gsi2), never a Scan; how many moved."""
    store = CaseStore(settings)
    return sum(store.move_due_entry(case) for status in Status for case in store.by_status(status) if case.due_at)


def _cases_due(settings: Settings, store: CaseStore, now: datetime) -> Iterator[Case]:
    """Cases whose running deadline is past or reaches its first reminder point by the end of today (local),
    one UTC month shard at a time, from the lookback's first month."""
    zone = county_timezone()
    last_day = calendar.add_working_days(now.astimezone(zone).date(), max(policy().before_working_days))
    due_before = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    month = (now - timedelta(days=settings.reminder_lookback_days)).date().replace(day=1)
    while month <= due_before.date():
        yield from store.due_in(due_shard(datetime.combine(month, time(0), tzinfo=UTC)), due_before)
        month = (month + timedelta(days=32)).replace(day=1)


class SweepSummary(BaseModel):
    swept: int = 0
    failed: int = 0


def sweep_unrouted(settings: Settings, now: datetime | None = None) -> SweepSummary:
    """Queue again complaints stored but not routed: their first message was lost or failed. A schedule of its
    own, each complaint on its own, so that nothing else stops it."""
    now = now or datetime.now(UTC)
    store = CaseStore(settings)
    cutoff = now - timedelta(seconds=settings.sweep_after_seconds)
    summary = SweepSummary()

    def requeue(case: Case) -> None:
        if case.enqueued_at and case.enqueued_at > cutoff:
            return  # queued again recently: give that message its chance
        queues.send(
            settings.intake_queue, Envelope(type=MessageType.complaint_received, data={"tracking_no": case.tracking_no})
        )
        store.mark_enqueued(case.tracking_no, now)
        summary.swept += 1

    stranded = store.by_status(Status.received, received_before=cutoff)
    summary.failed = each_isolated(stranded, requeue, "unrouted sweep", lambda case: case.tracking_no)
    return summary
