"""Routing: classify a received complaint, choose the department, start the acceptance deadline."""

from datetime import UTC, datetime
from typing import Any

from shared.core import queues
from shared.core.changes import change_case
from shared.core.classifier import classify
from shared.core.dal.cases import CaseStore
from shared.core.dal.items import CaseNotFound, ConditionFailed
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
    now = now or datetime.now(UTC)
    store = CaseStore(settings)
    tracking_no = str(message.data["tracking_no"])
    case = store.get(tracking_no)
    if case is None:
        raise CaseNotFound(tracking_no)
    if case.status != Status.received:
        # Routed before (a redelivery, or the event was lost after the write): only re-announce it.
        announce(settings, case, message.correlation_id)
        return case
    updates = _routing(case, learning.current_model(settings), now)
    decided = {name: updates[name] for name in ROUTING_DETAILS}
    _, routed, event = change_case(case, ROUTER, "route", now, details={**decided, "message_id": message.id}, **updates)
    try:
        store.transition(case, routed, event)
    except ConditionFailed:
        current = store.get(tracking_no)
        if current is None or current.status == Status.received:
            raise
        routed = current  # a concurrent delivery of the same message won the race
    logger.info(
        "complaint routed",
        extra={"tracking_no": tracking_no, "department": routed.department, "category": routed.category},
    )
    count("ComplaintsRouted")
    announce(settings, routed, message.correlation_id)
    return routed


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
