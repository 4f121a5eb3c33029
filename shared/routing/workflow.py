"""The case workflow: one transition table (shared/data/workflow.json) and what each action changes.

`apply_action` is pure: it checks role, department scope, version, state and the action's guards against
the table, and returns the new case(s) with their audit events for CaseStore.transition_together to write in
one transaction, guarded by the versions read. Deadlines are set here, at each transition (shared/routing/deadlines.py).
"""

from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator
from pydantic_core import PydanticCustomError

from shared.core import callbacks, text
from shared.core.auth import Principal, Role
from shared.core.changes import CaseChange, change_case
from shared.core.errors import ApiError, FieldError
from shared.core.models import KIND_NAMES, Case, CaseKind, DueKind, Extension, Rating, Status
from shared.core.reference_data import CategoryCode, DepartmentCode, load_json
from shared.core.roles import COUNTY_WIDE_ROLES, require_case_scope, require_role
from shared.routing.deadlines import Deadline, deadline_after, policy

SUPERVISOR = "FZB"

Guard = Literal[
    "reply_deadline_running",
    "extension_unused",
    "extension_requested",
    "followup_needed",
    "no_followup_pending",
    "within_review_window",
    "review_unused",
    "callback_open",
]


class Rule(BaseModel):
    """One row of the transition table."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    label: str
    from_states: frozenset[Status] = Field(alias="from")
    to: Status | None  # None: the action keeps the state
    kinds: frozenset[CaseKind] = frozenset({CaseKind.complaint})
    roles: frozenset[Role]
    scoped: bool
    guards: tuple[Guard, ...] = ()
    field_roles: dict[str, frozenset[Role]] = Field(default_factory=dict)


class Table(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    followup_measures: frozenset[str]
    actions: dict[str, Rule]


@cache
def table() -> Table:
    return Table.model_validate(load_json("workflow.json"))


# --- bodies: what each action takes, besides the case version -------------------------------------------------


# Free text staff write: no control characters, not blank; kept as written.
Text = Annotated[str, Field(min_length=1, max_length=5000), AfterValidator(text.check_text)]


class ActionBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # The case version the caller saw: a stale one is refused (409), so no one overwrites unseen changes.
    version: StrictInt = Field(ge=1)
    note: Text | None = None


class ReasonBody(ActionBody):
    reason: Text


class ArbitrateBody(ActionBody):
    department: DepartmentCode
    reason: Text | None = None


class MergeBody(ActionBody):
    into: str = Field(min_length=1, max_length=40)


class RequestExtensionBody(ReasonBody):
    days: StrictInt

    @field_validator("days")
    @classmethod
    def _within_policy(cls, value: int) -> int:
        return _extension_days(value)


class ApproveExtensionBody(ActionBody):
    # Fewer days than requested may be granted; none given grants what was asked.
    days: StrictInt | None = None

    @field_validator("days")
    @classmethod
    def _within_policy(cls, value: int | None) -> int | None:
        return _extension_days(value) if value is not None else None


class DecideBody(ActionBody):
    finding: Literal["substantiated", "partly", "unsubstantiated"]
    measures: list[Literal["correct", "revoke", "order_rectification", "hold_accountable"]] = Field(
        default_factory=list
    )
    summary: Text
    # How many persons are held accountable (the statistics table counts persons); only with hold_accountable.
    accountable_persons: StrictInt | None = Field(default=None, ge=1, le=1000)

    @model_validator(mode="after")
    def _measures_follow_finding(self) -> "DecideBody":
        if self.finding == "unsubstantiated" and self.measures:
            raise PydanticCustomError("invalid_measures", "投诉不属实时不能采取纠正或问责措施")
        if len(set(self.measures)) != len(self.measures):
            raise PydanticCustomError("invalid_measures", "处理措施不能重复")
        if self.accountable_persons is not None and "hold_accountable" not in self.measures:
            raise PydanticCustomError("invalid_measures", "只有选择问责措施时才能填写被问责人数")
        return self


class ReplyBody(ActionBody):
    message: Text


class CorrectCategoryBody(ActionBody):
    category: CategoryCode


class ReassignBody(ActionBody):
    department: DepartmentCode | None = None
    handler: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(text.check_name)] | None = None

    @model_validator(mode="after")
    def _something(self) -> "ReassignBody":
        if self.department is None and self.handler is None:
            raise PydanticCustomError("invalid_reassign", "请指定新的承办部门或承办人")
        return self


class FlagMediaBody(ActionBody):
    followup: bool = True


class MarkTypicalBody(ActionBody):
    kind: Literal["positive", "negative"]


class RecordCallbackBody(ActionBody):
    """A telephone call-back (回访) staff made: the complainant's rating and what they said."""

    rating: Rating
    comment: callbacks.Comment = None


class AnswerBody(ActionBody):
    answer: Text


class ChangeKindBody(ActionBody):
    kind: CaseKind


BODIES: dict[str, type[ActionBody]] = {
    "accept": ActionBody,
    "not_accept": ReasonBody,
    "transfer": ReasonBody,
    "arbitrate": ArbitrateBody,
    "merge": MergeBody,
    "request_extension": RequestExtensionBody,
    "approve_extension": ApproveExtensionBody,
    "refuse_extension": ReasonBody,
    "start_investigation": ActionBody,
    "decide": DecideBody,
    "reply": ReplyBody,
    "start_rectification": ActionBody,
    "verify_rectification": ActionBody,
    "close": ActionBody,
    "reopen_for_review": ReasonBody,
    "correct_category": CorrectCategoryBody,
    "reassign": ReassignBody,
    "flag_media": FlagMediaBody,
    "mark_typical": MarkTypicalBody,
    "record_callback": RecordCallbackBody,
    "answer": AnswerBody,
    "change_kind": ChangeKindBody,
}


def _extension_days(value: int) -> int:
    most = policy().rules["extension"].days
    if not 1 <= value <= most:
        raise PydanticCustomError("invalid_days", "延期天数应为 1 至 {most} 天", {"most": most})
    return value


# --- checks ---------------------------------------------------------------------------------------------------


def _invalid(guard: str, message: str) -> ApiError:
    return ApiError(409, "invalid_transition", message, [FieldError(field="status", code=guard, message=message)])


def _followup(case: Case) -> bool:
    return bool(set(case.measures) & table().followup_measures)


_GUARDS: dict[str, tuple[Callable[[Case, datetime], bool], str]] = {
    "reply_deadline_running": (lambda case, now: case.due_kind == DueKind.reply, "只有办理答复期限可以延期"),
    "extension_unused": (lambda case, now: case.extension is None, "每件投诉只能申请一次延期"),
    "extension_requested": (
        lambda case, now: case.extension is not None and case.extension.status == "requested",
        "没有待审批的延期申请",
    ),
    "followup_needed": (lambda case, now: _followup(case), "处理决定没有需要督促整改的措施"),
    "no_followup_pending": (lambda case, now: not _followup(case), "处理决定有整改措施，请先督促整改并验收"),
    "within_review_window": (
        lambda case, now: case.review_request_due_at is not None and now <= case.review_request_due_at,
        "已超过申请复查的期限",
    ),
    "review_unused": (lambda case, now: case.review_requested_at is None, "该投诉已经复查过一次"),
    "callback_open": (callbacks.is_open, "该投诉当前不在回访评价期内"),
}


def rule(action: str) -> Rule:
    found = table().actions.get(action)
    if found is None:
        raise ApiError(404, "unknown_action", "没有这个办理操作")
    return found


def check(principal: Principal, case: Case, action: str, now: datetime, version: int | None = None) -> Rule:
    """Role, department scope, version (when given), state and guards of one action on a case, in that order:
    the first that fails is raised. A stale version wins over the state, since the caller's view is old."""
    found = rule(action)
    require_role(principal, *found.roles)
    if found.scoped:
        require_case_scope(principal, case.department)
    if version is not None and version != case.version:
        raise ApiError(409, "version_conflict", "案件已被他人更新，请刷新后重试")
    if case.status not in found.from_states:
        raise _invalid("state", f"案件当前状态为“{case.status}”，不能进行“{found.label}”操作")
    if case.kind not in found.kinds:
        raise _invalid("kind", f"{KIND_NAMES[case.kind]}不能进行“{found.label}”操作")
    for guard in found.guards:
        passes, message = _GUARDS[guard]
        if not passes(case, now):
            raise _invalid(guard, message)
    return found


def allowed_actions(principal: Principal, case: Case, now: datetime) -> list[str]:
    """The actions this caller may take on this case now (what a console offers)."""
    allowed = []
    for action in table().actions:
        try:
            check(principal, case, action, now)
        except ApiError:
            continue
        allowed.append(action)
    return allowed


def parse_body(action: str, body: Any) -> ActionBody:
    """The action's body model; pydantic's ValidationError for bad fields (the caller makes it a 422)."""
    rule(action)
    return BODIES[action].model_validate(body)


# --- effects --------------------------------------------------------------------------------------------------


def apply_action(
    principal: Principal, case: Case, action: str, body: ActionBody, now: datetime, other: Case | None = None
) -> list[CaseChange]:
    """The writes of one action: (case read, new case, audit event) for the case and, for a merge, the
    case it is merged into (`other`). Raises ApiError 403 / 409 / 422 when the action may not happen."""
    found = check(principal, case, action, now, body.version)
    for name, roles in found.field_roles.items():
        if getattr(body, name, None) is not None and principal.role not in roles:
            raise ApiError(
                403, "forbidden", "您的角色无权修改该项", [FieldError(field=name, code="forbidden", message="")]
            )
    update, details = _EFFECTS[action](case, body, now, principal)
    fields = body.model_dump(exclude={"version", "note"}, exclude_none=True)
    changes: list[CaseChange] = [
        _change(
            principal, case, action, body, now, {**fields, **details}, **{**update, "status": found.to or case.status}
        )
    ]
    if action == "merge":
        changes.append(_link_primary(principal, case, body, now, other))
    return changes


def _change(
    principal: Principal, case: Case, action: str, body: ActionBody, now: datetime, details: dict, **updates: Any
) -> CaseChange:
    """A staff action's change: the note (or the reason given), and who acted in the audit event's details."""
    note = body.note or getattr(body, "reason", None)
    return change_case(case, principal.subject, action, now, note, {**principal.audit_details(), **details}, **updates)


def _deadline(kind: DueKind | None, deadline: Deadline | None) -> dict[str, Any]:
    """The running deadline after a transition; reminders start over for a new one."""
    return {
        "due_at": deadline.due_at if deadline else None,
        "due_kind": kind,
        "deadline_provisional": deadline.provisional if deadline else False,
        "due_rule": deadline.rule if deadline else None,
        "due_from": deadline.start if deadline else None,
        "due_days": deadline.days if deadline else None,
        "reminders_sent": [],
    }


def _no_deadline() -> dict[str, Any]:
    return _deadline(None, None)


Effect = Callable[[Case, Any, datetime, Principal], tuple[dict[str, Any], dict[str, Any]]]


def _accept(case: Case, body: ActionBody, now: datetime, principal: Principal) -> tuple[dict, dict]:
    reply = deadline_after(now, "reply")
    return {"accepted_at": now, "reply_due_at": reply.due_at, **_deadline(DueKind.reply, reply)}, {
        "due_at": reply.due_at.isoformat()
    }


def _not_accept(case: Case, body: ReasonBody, now: datetime, principal: Principal) -> tuple[dict, dict]:
    return {"not_accepted_reason": body.reason, "closed_at": now, **_no_deadline()}, {}


def _transfer(case: Case, body: ReasonBody, now: datetime, principal: Principal) -> tuple[dict, dict]:
    # Back to the county legal office's triage queue; the acceptance deadline keeps running.
    update = {
        "transferred_from": case.department,
        "department": SUPERVISOR,
        "assigned_unit": f"{SUPERVISOR}:legal-office",
        "handler": None,
        "triage_reason": "transferred",
    }
    return update, {"from_department": case.department}


def _arbitrate(case: Case, body: ArbitrateBody, now: datetime, principal: Principal) -> tuple[dict, dict]:
    # The department named receives the case now: its acceptance (a question: answer) period starts again.
    rule = "answer" if case.kind == CaseKind.question else "acceptance"
    first = deadline_after(now, rule)
    update = {
        "department": body.department,
        "assigned_unit": f"{body.department}:legal-office",
        "handler": None,
        "triage_reason": None,
        f"{rule}_due_at": first.due_at,
        **_deadline(DueKind(rule), first),
    }
    return update, {"from_department": case.department, "due_at": first.due_at.isoformat()}


def _merge(case: Case, body: MergeBody, now: datetime, principal: Principal) -> tuple[dict, dict]:
    return {"merged_into": body.into, "closed_at": now, **_no_deadline()}, {}


def _link_primary(principal: Principal, case: Case, body: ActionBody, now: datetime, other: Case | None) -> CaseChange:
    """The case a duplicate is merged into lists it, with an audit event of its own."""
    # Another department's case is answered as a missing one: the caller learns nothing of it.
    hidden = other is not None and principal.role not in COUNTY_WIDE_ROLES and principal.department != other.department
    if other is None or other.tracking_no == case.tracking_no or hidden:
        raise _field_error("into", "invalid_merge_target", "请填写另一件投诉的编号")
    if other.status in (Status.merged, Status.not_accepted, Status.received):
        raise _field_error("into", "invalid_merge_target", "不能合并到已合并、不予受理或尚未分办的投诉")
    merged_cases = [*other.merged_cases, case.tracking_no]
    return _change(principal, other, "merge", body, now, {"duplicate": case.tracking_no}, merged_cases=merged_cases)


def _field_error(field: str, code: str, message: str) -> ApiError:
    return ApiError(422, "validation_failed", message, [FieldError(field=field, code=code, message=message)])


def _request_extension(
    case: Case, body: RequestExtensionBody, now: datetime, principal: Principal
) -> tuple[dict, dict]:
    extension = Extension(
        status="requested", days=body.days, reason=body.reason, requested_at=now, requested_by=principal.subject
    )
    return {"extension": extension}, {}


def _approve_extension(
    case: Case, body: ApproveExtensionBody, now: datetime, principal: Principal
) -> tuple[dict, dict]:
    assert case.extension is not None  # guard extension_requested
    days = body.days or case.extension.days
    if days > case.extension.days:
        raise _field_error("days", "invalid_days", "批准的天数不能多于申请的天数")
    # Counted from the reply deadline it extends, not from today.
    reply = deadline_after(case.reply_due_at or case.due_at or now, "extension", days)
    extension = case.extension.model_copy(
        update={"status": "approved", "days": days, "decided_at": now, "decided_by": principal.subject}
    )
    update = {"extension": extension, "reply_due_at": reply.due_at, **_deadline(DueKind.reply, reply)}
    return update, {"days": days, "due_at": reply.due_at.isoformat()}


def _refuse_extension(case: Case, body: ReasonBody, now: datetime, principal: Principal) -> tuple[dict, dict]:
    assert case.extension is not None  # guard extension_requested
    extension = case.extension.model_copy(
        update={"status": "refused", "decided_at": now, "decided_by": principal.subject, "refusal_reason": body.reason}
    )
    return {"extension": extension}, {}


def _decide(case: Case, body: DecideBody, now: datetime, principal: Principal) -> tuple[dict, dict]:
    update = {"finding": body.finding, "measures": body.measures, "decision_summary": body.summary}
    # A decision taken again on review replaces the count of the first one.
    return {**update, "accountable_persons": body.accountable_persons}, {}


def _reply(case: Case, body: ReplyBody, now: datetime, principal: Principal) -> tuple[dict, dict]:
    update: dict[str, Any] = {"replied_at": now, "reply_text": body.message, **_no_deadline()}
    asked = callbacks.ask(case, now)
    if asked is not None:  # the call-back question goes out with the reply's notice (shared/routing/callbacks.py)
        update["callback"] = asked
    if case.review_requested_at is None:  # the first reply opens the complainant's review window
        window = deadline_after(now, "review_request")
        update["review_request_due_at"] = window.due_at
        return update, {"review_request_due_at": window.due_at.isoformat()}
    return update, {}


def _close(case: Case, body: ActionBody, now: datetime, principal: Principal) -> tuple[dict, dict]:
    return {"closed_at": now, **_no_deadline()}, {}


def _reopen(case: Case, body: ReasonBody, now: datetime, principal: Principal) -> tuple[dict, dict]:
    answer = deadline_after(now, "review_reply")
    update = {
        "review_requested_at": now,
        "review_reason": body.reason,
        "review_reply_due_at": answer.due_at,
        "closed_at": None,
        **_deadline(DueKind.review_reply, answer),
    }
    return update, {"due_at": answer.due_at.isoformat()}


def _correct_category(case: Case, body: CorrectCategoryBody, now: datetime, principal: Principal) -> tuple[dict, dict]:
    update = {"category": body.category, "category_confidence": None, "category_set_by": principal.subject}
    # Kept in the audit trail as a labelled example for the classifier.
    return update, {"from_category": case.category, "training_signal": True}


def _reassign(case: Case, body: ReassignBody, now: datetime, principal: Principal) -> tuple[dict, dict]:
    moved = body.department is not None and body.department != case.department
    # The old department's handler does not follow the case to another department.
    update: dict[str, Any] = {"handler": body.handler or (None if moved else case.handler)}
    if moved:
        update.update(department=body.department, assigned_unit=f"{body.department}:legal-office")
    return update, {"from_department": case.department, "from_handler": case.handler}


def _record_callback(case: Case, body: RecordCallbackBody, now: datetime, principal: Principal) -> tuple[dict, dict]:
    callback = callbacks.answered(case, body.rating, body.comment, "phone", now)
    return {"callback": callback}, callbacks.answer_details(case, callback)


def _answer(case: Case, body: AnswerBody, now: datetime, principal: Principal) -> tuple[dict, dict]:
    return {"answer": body.answer, "answered_at": now, "closed_at": now, **_no_deadline()}, {}


def _change_kind(case: Case, body: ChangeKindBody, now: datetime, principal: Principal) -> tuple[dict, dict]:
    """A question becomes a complaint or the other way round: the first deadline of the new kind, counted from
    receipt as routing would have (acceptance, or answer); the department stays (reassign moves it)."""
    if body.kind == case.kind:
        raise _field_error("kind", "invalid_kind", f"该案件已经是{KIND_NAMES[case.kind]}")
    rule = "answer" if body.kind == CaseKind.question else "acceptance"
    first = deadline_after(case.received_at, rule)
    update = {
        "kind": body.kind,
        "kind_set_by": principal.subject,
        f"{rule}_due_at": first.due_at,
        **_deadline(DueKind(rule), first),
    }
    return update, {"from_kind": case.kind, "due_at": first.due_at.isoformat()}


def _nothing(case: Case, body: ActionBody, now: datetime, principal: Principal) -> tuple[dict, dict]:
    return {}, {}


_EFFECTS: dict[str, Effect] = {
    "accept": _accept,
    "not_accept": _not_accept,
    "transfer": _transfer,
    "arbitrate": _arbitrate,
    "merge": _merge,
    "request_extension": _request_extension,
    "approve_extension": _approve_extension,
    "refuse_extension": _refuse_extension,
    "start_investigation": _nothing,
    "decide": _decide,
    "reply": _reply,
    "start_rectification": _nothing,
    "verify_rectification": _close,
    "close": _close,
    "reopen_for_review": _reopen,
    "correct_category": _correct_category,
    "reassign": _reassign,
    "flag_media": lambda case, body, now, principal: ({"media_followup": body.followup}, {}),
    "mark_typical": lambda case, body, now, principal: ({"typical": body.kind}, {}),
    "record_callback": _record_callback,
    "answer": _answer,
    "change_kind": _change_kind,
}
