"""Routing: classify a received complaint, choose the department, start the acceptance deadline."""

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.core import queues
from shared.core.changes import CaseChange, change_case
from shared.core.classifier import classify
from shared.core.dal.cases import CaseStore
from shared.core.dal.items import CaseNotFound, ConditionFailed
from shared.core.filing import CARRIED_NOTICE
from shared.core.messages import Envelope
from shared.core.models import Case, CaseKind, DueKind, Status
from shared.core.ngram_model import NgramModel
from shared.core.observability import count, logger
from shared.core.outbox import transition_message
from shared.core.settings import Settings
from shared.routing import learning, questions
from shared.routing.deadlines import deadline_after

ROUTER = "system:routing"
# What the route audit event records of the routing decision.
ROUTING_DETAILS = (
    "category",
    "category_confidence",
    "classifier_model",
    "department",
    "department_confidence",
    "triage_reason",
    "kind",
)


def route_complaint(settings: Settings, message: Envelope, now: datetime | None = None) -> Case:
    """Route the case named by a complaint.received message. A redelivered message changes nothing."""
    store = CaseStore(settings)
    if _carried_notices(settings, {message.id: message}):
        raise RuntimeError(f"notice carried by message {message.id} not queued")
    now = now or datetime.now(UTC)
    case = _read(message, store.get(_tracking_no(message)))
    change = _routing_change(settings, message, case, now)
    routed = case if change is None else _write(store, change)
    announce(settings, routed, message.correlation_id)
    return routed


def route_batch(settings: Settings, messages: dict[str, Envelope], now: datetime | None = None) -> set[str]:
    """Route the cases of a batch of complaint.received messages (by message id), the notices they carry queued
    first (_carried_notices): the cases read in one request, their routings written in one transaction, their case
    events sent in one request. The ids of the messages that failed (retried by the queue): one whose notice was
    not queued, whose routing failed, or whose case event was not sent.

    The transaction is all or none: when one case of it changed since it was read (a concurrent delivery routed
    it), or it cannot be written together, each case is written on its own, as `route_complaint` does."""
    now = now or datetime.now(UTC)
    store = CaseStore(settings)
    failed = _carried_notices(settings, messages)
    cases = store.get_many([_tracking_no(message) for message in messages.values()])
    outcome: dict[str, Case] = {}  # by message id: the case after routing, or as found (routed before)
    changes: dict[str, CaseChange] = {}  # by message id: the routings to write
    repeats: dict[str, str] = {}  # a message naming a case named before in the batch: the first one's id
    for message_id, message in messages.items():
        tracking_no = _tracking_no(message)
        try:
            case = _read(message, cases.get(tracking_no))
            change = _routing_change(settings, message, case, now)
        except Exception:
            logger.exception("routing failed", extra={"message_id": message_id, "tracking_no": tracking_no})
            failed.add(message_id)
            continue
        first = next((other for other, known in changes.items() if known.before.tracking_no == tracking_no), None)
        if change is None:
            outcome[message_id] = case
        elif first is not None:
            repeats[message_id] = first  # routed once, with the first message
        else:
            changes[message_id] = change
    outcome.update(_write_batch(store, changes, failed))
    for message_id, first in repeats.items():
        if first in failed:
            failed.add(message_id)
        else:
            outcome[message_id] = outcome[first]
    announced = [
        (message_id, transition_message(case, messages[message_id].correlation_id))
        for message_id, case in outcome.items()
        if message_id not in failed
    ]
    # A case event not sent fails its message: redelivered, the case is routed already and only announced again.
    unsent = queues.send_batch(settings.events_queue, [event for _, event in announced])
    return failed | {announced[index][0] for index in unsent}


def _carried_notices(settings: Settings, messages: dict[str, Envelope]) -> set[str]:
    """Queue the notices the messages carry (an SMS reply to the sender, filing.Guarded.notice), before anything
    else: in one request, under the ids their senders fixed (a redelivered message asks again; the sender sends
    once). The ids of the messages whose notice was not queued: they fail, to be redelivered."""
    carried = [
        (message_id, Envelope.model_validate(message.data[CARRIED_NOTICE]))
        for message_id, message in messages.items()
        if message.data.get(CARRIED_NOTICE)
    ]
    unsent: set[str] = set()
    for start in range(0, len(carried), 10):  # at most ten a request
        part = carried[start : start + 10]
        unsent |= {part[index][0] for index in queues.send_batch(settings.notify_queue, [n for _, n in part])}
    return unsent


def _tracking_no(message: Envelope) -> str:
    return str(message.data["tracking_no"])


def _read(message: Envelope, case: Case | None) -> Case:
    if case is None:
        raise CaseNotFound(_tracking_no(message))
    return case


def _routing_change(settings: Settings, message: Envelope, case: Case, now: datetime) -> CaseChange | None:
    """The routing of the case as read, or None when it was routed before (a redelivery, or the event was lost
    after the write): then it is only announced again."""
    if case.status != Status.received:
        return None
    updates = _routing(case, learning.current_model(settings), now)
    decided = {name: updates[name] for name in ROUTING_DETAILS}
    return change_case(case, ROUTER, "route", now, details={**decided, "message_id": message.id}, **updates)


def _write_batch(store: CaseStore, changes: dict[str, CaseChange], failed: set[str]) -> dict[str, Case]:
    """Write the routings together, else each on its own; the routed cases by message id, `failed` completed."""
    if len(changes) > 1:
        try:
            store.transition_together(list(changes.values()))
        except (ConditionFailed, ClientError):
            logger.info("routings written one by one", extra={"cases": len(changes)})
        else:
            for change in changes.values():
                _routed(change.after)
            return {message_id: change.after for message_id, change in changes.items()}
    written: dict[str, Case] = {}
    for message_id, change in changes.items():
        try:
            written[message_id] = _write(store, change)
        except Exception:
            logger.exception(
                "routing failed", extra={"message_id": message_id, "tracking_no": change.before.tracking_no}
            )
            failed.add(message_id)
    return written


def _write(store: CaseStore, change: CaseChange) -> Case:
    """Write one routing; the case as it stands after (another delivery's routing if it won the race)."""
    try:
        store.transition(*change)
    except ConditionFailed:
        current = store.get(change.before.tracking_no)
        if current is None or current.status == Status.received:
            raise
        return current  # a concurrent delivery of the same message won the race
    _routed(change.after)
    return change.after


def _routed(case: Case) -> None:
    logger.info(
        "complaint routed",
        extra={"tracking_no": case.tracking_no, "department": case.department, "category": case.category},
    )
    count("ComplaintsRouted")


def _routing(case: Case, model: NgramModel, now: datetime) -> dict[str, Any]:
    """What routing sets on a case: kind (when the sender did not say), category, domain, department, and the
    acceptance deadline, or for a question the department that answers it and the answer deadline."""
    result = classify(case.description, case.respondent, model)
    kind = case.kind
    if case.kind_set_by is None:
        kind = CaseKind.question if questions.is_question(case.description) else CaseKind.complaint
    routing = {
        "status": Status.routed,
        "kind": kind,
        "kind_set_by": case.kind_set_by or ROUTER,
        "category": result.category,
        "category_confidence": result.category_confidence,
        "category_set_by": ROUTER,
        "classifier_model": result.model_version,
        "category_candidates": result.category_candidates,
        "domain": result.domain,
        "department": result.department,
        "department_confidence": result.department_confidence,
        "triage_reason": result.triage_reason,
        "routed_at": now,
    }
    if kind == CaseKind.question:
        # The department named answers; a question naming none (or several) goes to the county legal office.
        department = result.department if result.triage_reason is None else questions.cues().department
        routing.update(department=department, triage_reason=None, **_deadline_fields(case, "answer"))
    else:
        routing.update(_deadline_fields(case, "acceptance"))
    # The department's legal office (法制机构) works the case until staff assign a handler.
    routing["assigned_unit"] = f"{routing['department']}:legal-office"
    return routing


def _deadline_fields(case: Case, rule: str) -> dict[str, Any]:
    """The first deadline of a case, counted from its receipt: acceptance (a complaint) or answer (a question)."""
    deadline = deadline_after(case.received_at, rule)
    return {
        f"{rule}_due_at": deadline.due_at,
        "due_at": deadline.due_at,
        "due_kind": DueKind(rule),
        "deadline_provisional": deadline.provisional,
        "due_rule": deadline.rule,
        "due_from": deadline.start,
        "due_days": deadline.days,
    }


def announce(settings: Settings, case: Case, correlation_id: str | None) -> None:
    queues.send(settings.events_queue, transition_message(case, correlation_id))
