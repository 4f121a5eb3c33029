"""One way to change a case: its next version and the audit event that says who changed what, when.

Every writer (routing, the workflow's actions, escalation, deadline recompute, an SMS follow-up, publication
steps) builds the change here and stores it with `CaseStore.transition` (or `transition_together`), which writes
both in one transaction guarded by the version read. Audit events that change nothing on the case (a reveal of
the complainant, a relayed message) keep the case's version and are appended apart.
"""

from datetime import datetime
from typing import Any, NamedTuple

from shared.core.models import AuditEvent, Case


class CaseChange(NamedTuple):
    before: Case
    after: Case
    event: AuditEvent


def audit_event(
    before: Case,
    after: Case,
    actor: str,
    action: str,
    now: datetime,
    note: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent(
        tracking_no=after.tracking_no,
        version=after.version,
        at=now,
        actor=actor,
        action=action,
        from_status=before.status,
        to_status=after.status,
        note=note,
        details=details or {},
    )


def change_case(
    case: Case,
    actor: str,
    action: str,
    now: datetime,
    note: str | None = None,
    details: dict[str, Any] | None = None,
    **updates: Any,
) -> CaseChange:
    """The case with `updates` as its next version, and the audit event of the change."""
    after = case.model_copy(update={**updates, "version": case.version + 1})
    return CaseChange(case, after, audit_event(case, after, actor, action, now, note, details))
