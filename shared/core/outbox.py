"""The outbox: nothing is lost between a write and its messages (DESIGN.md, section 5).

A change that must be followed by queue messages (a staff action: the case event for the reports and the
complainant's notice; a message relayed to the complainant) writes an outbox item holding those messages in the
same transaction as the change (`entry` -> CaseStore.outbox_write). `deliver` then sends them and deletes the
item. When a send fails, or the function dies in between, the item stays, and the scheduled run
(shared/routing/reminders.py) sends it again once it is
older than `outbox_sweep_after_seconds`. Message ids are fixed by case version and kind, so a message sent twice
(partly delivered before) is dropped by its consumer.
"""

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from shared.core import queues
from shared.core.batch import each_isolated
from shared.core.dal.cases import CaseStore
from shared.core.messages import Envelope, MessageType
from shared.core.models import Case
from shared.core.observability import logger
from shared.core.settings import Settings


class OutboxMessage(BaseModel):
    queue: str
    # The envelope as JSON: stored as a string, so it is sent again exactly as it was (DynamoDB would turn its
    # numbers into decimals).
    body: str


class Outbox(BaseModel):
    """The messages of one change of a case (its version after the change)."""

    tracking_no: str
    version: int
    # A step that changes no case version (a relayed message) names itself, so several stay apart.
    step: str = ""
    created_at: datetime
    messages: list[OutboxMessage]


def transition_message(case: Case, correlation_id: str | None) -> Envelope:
    """The case event of the case's current version, for the events queue (reports)."""
    return Envelope(
        type=MessageType.case_transitioned,
        # One id per transition, so that a re-announcement is a duplicate consumers can drop.
        id=f"{case.tracking_no}:v{case.version}",
        correlation_id=correlation_id,
        data={
            "tracking_no": case.tracking_no,
            "to_status": case.status,
            "version": case.version,
            "department": case.department,
            "category": case.category,
            "channel": case.channel,
        },
    )


def entry(
    tracking_no: str, version: int, now: datetime, messages: list[tuple[str, Envelope]], step: str = ""
) -> Outbox:
    return Outbox(
        tracking_no=tracking_no,
        version=version,
        step=step,
        created_at=now,
        messages=[OutboxMessage(queue=queue, body=message.model_dump_json()) for queue, message in messages],
    )


def write(store: CaseStore, outbox: Outbox) -> dict:
    """The transaction write that keeps the outbox beside its change."""
    values = outbox.model_dump(mode="json")
    return store.outbox_write(outbox.tracking_no, outbox.version, outbox.created_at, values, outbox.step)


def deliver(settings: Settings, outbox: Outbox) -> bool:
    """Send the messages, then delete the item; False (logged, the item kept for the sweeper) when a send fails."""
    try:
        for message in outbox.messages:
            queues.send(message.queue, Envelope.model_validate_json(message.body))
    except Exception:
        logger.exception("outbox not delivered", extra={"tracking_no": outbox.tracking_no, "version": outbox.version})
        return False
    CaseStore(settings).outbox_done(outbox.tracking_no, outbox.version, outbox.step)
    return True


def sweep(settings: Settings, now: datetime | None = None) -> int:
    """Send the outbox items left behind (older than the setting, so a change still sending is not raced);
    how many were delivered now. A schedule of its own; an item that fails is logged and left for the next run."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(seconds=settings.outbox_sweep_after_seconds)
    delivered = 0

    def send(item: dict) -> None:
        nonlocal delivered
        delivered += deliver(settings, Outbox.model_validate(item))

    stranded = CaseStore(settings).outbox_before(cutoff)
    each_isolated(stranded, send, "outbox sweep", lambda item: str(item.get("tracking_no")))
    return delivered
