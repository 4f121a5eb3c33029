"""The complainant's compartment: who may see it, explicit and audited reveals, and messages relayed to the
complainant by the system for staff who may not see the contact.

Rules in shared/data/confidentiality.json. GET /cases/{id} shows everyone the compartment masked; the full one
comes only from a reveal, which is recorded on the case (actor, reason, rule; never the data). A refused reveal
writes nothing and is answered exactly as one of a case that does not exist (or has no complainant), so that it
tells the caller nothing; it is logged.
"""

import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shared.core import outbox, ratelimit, reference_data
from shared.core.auth import DEPARTMENT_ROLES, Principal, Role
from shared.core.dal.cases import CaseStore
from shared.core.errors import ApiError, parse_model
from shared.core.models import AuditEvent, Case, Complainant
from shared.core.observability import logger
from shared.core.roles import case_not_found, require_case_scope, require_role
from shared.core.settings import Settings
from shared.core.text import check_text
from shared.routing import notifications, router


class _Rules(BaseModel):
    not_about_staff: list[str]
    relay_chars: int
    relay_per_hour: int


@cache
def rules() -> _Rules:
    return _Rules.model_validate(reference_data.load_json("confidentiality.json"))


def reveal_rule(principal: Principal, case: Case, complainant: Complainant) -> str | None:
    """Why the caller may see the complainant unmasked (the audit event names it), or None."""
    if principal.role == Role.county_admin:
        return "county_admin"
    if principal.role not in DEPARTMENT_ROLES or principal.department != case.department:
        return None
    if complainant.consent_to_share:
        return "consent"
    # Only a category the classifier gave counts: one staff corrected could be a department's way in.
    if case.category in rules().not_about_staff and case.category_set_by in (None, router.ROUTER):
        return "not_about_staff"
    return None


# Who may send the complainant a message through the system.
RELAYERS = (Role.county_admin, *DEPARTMENT_ROLES)


class RevealBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Kept in the audit event: no control characters, like every text staff write.
    reason: Annotated[str, Field(min_length=2, max_length=200), AfterValidator(check_text)]


def _relay_limit(schema: dict[str, Any]) -> None:
    schema["maxLength"] = rules().relay_chars  # checked in `relay`, with its own message


class RelayBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Sent to the complainant as an SMS or mail: no control characters.
    text: Annotated[str, Field(min_length=1, json_schema_extra=_relay_limit), AfterValidator(check_text)]


def _load(store: CaseStore, tracking_no: str) -> tuple[Case, Complainant]:
    case = store.get(tracking_no) if tracking_no.isascii() and len(tracking_no) <= 40 else None
    complainant = store.complainant(tracking_no) if case is not None and case.has_complainant else None
    if case is None:
        raise case_not_found()
    if complainant is None:
        raise ApiError(404, "no_complainant", "该案件没有投诉人信息（匿名投诉）")
    return case, complainant


def _record(
    store: CaseStore,
    principal: Principal,
    case: Case,
    action: str,
    note: str,
    now: datetime,
    extra: list[dict[str, Any]] | None = None,
    **details: Any,
) -> None:
    event = AuditEvent(
        tracking_no=case.tracking_no,
        version=case.version,
        at=now,
        actor=principal.subject,
        action=action,
        note=note,
        details={
            **principal.audit_details(),
            **details,
        },
    )
    store.add_event(event, f"{now.astimezone(UTC).isoformat()}#{uuid.uuid4().hex[:8]}", extra)


def reveal(
    settings: Settings, principal: Principal, tracking_no: str, body: bytes, now: datetime | None = None
) -> dict:
    """The full compartment when the rules allow, recorded on the case first; else the 404 of a missing case."""
    now = now or datetime.now(UTC)
    request = parse_model(RevealBody, body)
    store = CaseStore(settings)
    case = store.get(tracking_no) if tracking_no.isascii() and len(tracking_no) <= 40 else None
    complainant = store.complainant(tracking_no) if case is not None and case.has_complainant else None
    rule = reveal_rule(principal, case, complainant) if case is not None and complainant is not None else None
    logger.info("complainant reveal", extra={"tracking_no": tracking_no, "role": principal.role, "allowed": bool(rule)})
    if case is None or complainant is None or rule is None:
        raise case_not_found()
    _record(store, principal, case, "reveal_complainant", request.reason, now, allowed=True, rule=rule)
    return {"complainant": complainant.model_dump(mode="json"), "rule": rule}


def relay(settings: Settings, principal: Principal, tracking_no: str, body: bytes, now: datetime | None = None) -> dict:
    """Queue a message to the complainant's stored contact; the caller learns only that it was queued."""
    now = now or datetime.now(UTC)
    require_role(principal, *RELAYERS)
    request = parse_model(RelayBody, body)
    limit = rules().relay_chars
    if len(request.text) > limit:
        raise ApiError(422, "validation_failed", f"消息不能超过 {limit} 个字（一条短信）")
    store = CaseStore(settings)
    case, complainant = _load(store, tracking_no)
    require_case_scope(principal, case.department)
    if case.anonymous or not notifications.channels(complainant):
        raise ApiError(409, "unreachable", "投诉人没有留下可用的手机号码或电子邮箱，无法转发消息")
    ratelimit.enforce(settings, "relay", principal.subject, rules().relay_per_hour, 3600, now)
    relay_id = uuid.uuid4().hex
    notice = notifications.relay(case, f"{case.tracking_no}:relay:{relay_id}", request.text)
    # The message is kept in an outbox with its audit event: if queueing fails, the sweeper sends it later.
    pending = outbox.entry(case.tracking_no, case.version, now, [(settings.notify_queue, notice)], step=relay_id)
    extra = [outbox.write(store, pending)]
    _record(store, principal, case, "relay_message", request.text, now, extra, notice_id=notice.id)
    outbox.deliver(settings, pending)
    logger.info("complainant message relayed", extra={"tracking_no": tracking_no, "notice_id": notice.id})
    return {"notice_id": notice.id, "queued": True}
