"""The scheduled run in routing: deadline reminders, and the sweeper for complaints never routed."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from shared import queues
from shared.dal import CaseStore
from shared.deadlines import reminder_window
from shared.messages import Envelope, MessageType
from shared.models import Case, Status
from shared.observability import logger
from shared.settings import Settings


class RunSummary(BaseModel):
    due_soon: int = 0
    overdue: int = 0
    requeued: int = 0


def remind_deadlines(settings: Settings, now: datetime | None = None) -> RunSummary:
    now = now or datetime.now(UTC)
    summary = RunSummary()
    store = CaseStore(settings)
    for case in _cases_due(settings, store, now):
        if case.due_at is None or case.due_kind is None:
            continue
        overdue = case.due_at <= now
        kind = f"{case.due_kind}_overdue" if overdue else f"{case.due_kind}_due_soon"
        if kind in case.reminders_sent:
            continue
        queues.send(
            settings.notify_queue,
            Envelope(
                type=MessageType.notification_requested,
                # The consumer sends each (case, kind, deadline) once; an extension's new deadline is reminded anew.
                id=f"{case.tracking_no}:{kind}:{case.due_at:%Y%m%dT%H%M%S}",
                data={
                    "tracking_no": case.tracking_no,
                    "kind": kind,
                    "department": case.department,
                    "due_at": case.due_at.isoformat(),
                },
            ),
        )
        # Noted after the message is queued: a crash in between repeats a message the consumer drops.
        store.add_reminder(case.tracking_no, kind)
        if overdue:
            summary.overdue += 1
        else:
            summary.due_soon += 1
    summary.requeued = sweep_unrouted(settings, store, now)
    logger.info("reminder run", extra=summary.model_dump())
    return summary


def _cases_due(settings: Settings, store: CaseStore, now: datetime) -> Iterator[Case]:
    """Cases whose running deadline is past or within the reminder window, one day shard at a time."""
    due_before = now + reminder_window()
    day = (now - timedelta(days=settings.reminder_lookback_days)).date()
    while day <= due_before.date():
        yield from store.due_on(day.isoformat(), due_before)
        day += timedelta(days=1)


def sweep_unrouted(settings: Settings, store: CaseStore, now: datetime) -> int:
    """Queue again complaints stored but not routed: their first message was lost or failed."""
    cutoff = now - timedelta(seconds=settings.sweep_after_seconds)
    requeued = 0
    for case in store.by_status(Status.received, received_before=cutoff):
        if case.enqueued_at and case.enqueued_at > cutoff:
            continue  # queued again recently: give that message its chance
        queues.send(
            settings.intake_queue, Envelope(type=MessageType.complaint_received, data={"tracking_no": case.tracking_no})
        )
        store.mark_enqueued(case.tracking_no, now)
        requeued += 1
    return requeued
