"""The staff case API (routing service, under /cases): list, show, and act on cases.

Every function takes the verified Principal and checks role and department scope itself. Lists read an
index partition at a time, never Scan: gsi1 (a department's queue of one status, by due time) when a
department is given or implied by the caller's role, gsi2 (one status county-wide, by receipt) otherwise.
Several statuses are read partition after partition, in waves: the first one alone, then, while the page is not
full, the next two at once, four...; the opaque cursor says which one and where in it.
"""

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import to_jsonable_python

from shared.core import outbox
from shared.core.auth import Principal, Role
from shared.core.concurrent_reads import Reads
from shared.core.dal.cases import CaseStore
from shared.core.dal.items import ConditionFailed
from shared.core.errors import ApiError, from_validation_error
from shared.core.models import Case, Channel, Complainant, Status, status_name
from shared.core.observability import logger
from shared.core.roles import COUNTY_WIDE_ROLES, case_not_found, require_case_scope, require_department, require_role
from shared.core.settings import Settings
from shared.routing import callbacks, confidentiality, learning, notifications, router, workflow

READERS = (Role.county_admin, Role.dept_head, Role.dept_officer, Role.auditor)
# Index reads one list request may make while filters skip items, before it answers with a cursor.
MAX_READS = 10
TRIAGE_STATUSES = (Status.routed, Status.transferred)


class CaseQuery(BaseModel):
    """The query parameters of GET /cases."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: list[Status] | None = None  # comma-separated in the URL
    department: str | None = Field(default=None, max_length=20)
    category: str | None = Field(default=None, max_length=40)
    channel: Channel | None = None
    # Questions (咨询) only; cases stored before kinds existed have no kind attribute, so there is no complaint filter.
    kind: Literal["question"] | None = None
    due_before: AwareDatetime | None = None
    tracking_no: str | None = Field(default=None, max_length=40)
    # `triage`: the county legal office's queue, unroutable (routed to FZB) and transferred cases.
    view: Literal["triage"] | None = None
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=2000)

    @field_validator("status", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return [part for part in value.split(",") if part] if isinstance(value, str) else value


# --- reading ---------------------------------------------------------------------------------------------------


def list_cases(settings: Settings, principal: Principal, params: Mapping[str, str]) -> dict:
    require_role(principal, *READERS)
    try:
        query = CaseQuery.model_validate(dict(params))
    except ValidationError as error:
        raise from_validation_error(error) from None
    store = CaseStore(settings)
    if query.view == "triage":
        query = query.model_copy(update={"department": workflow.SUPERVISOR, "status": list(TRIAGE_STATUSES)})
    if query.department is None and principal.role not in COUNTY_WIDE_ROLES:
        query = query.model_copy(update={"department": principal.department})
    if query.department is not None:
        require_department(principal, query.department)
    if query.tracking_no is not None:
        found = store.get(query.tracking_no)
        cases = [found] if found is not None and _visible(principal, found) and _matches(found, query) else []
        return {"items": [summary(case) for case in cases], "cursor": None}
    return _page(store, query)


def _visible(principal: Principal, case: Case) -> bool:
    return principal.role in COUNTY_WIDE_ROLES or principal.department == case.department


def _matches(case: Case, query: CaseQuery) -> bool:
    return (
        (query.status is None or case.status in query.status)
        and (query.department is None or case.department == query.department)
        and (query.category is None or case.category == query.category)
        and (query.channel is None or case.channel == query.channel)
        and (query.kind is None or case.kind == query.kind)
        and (query.due_before is None or (case.due_at is not None and case.due_at < query.due_before))
    )


def _page(store: CaseStore, query: CaseQuery) -> dict:
    statuses = query.status or [status for status in Status if query.department is None or status != Status.received]
    if query.department is not None:
        index, partitions = "gsi1", [f"DEPT#{query.department}#{status}" for status in statuses]
    else:
        index, partitions = "gsi2", [f"STATUS#{status}" for status in statuses]
    filters: dict[str, str] = {}
    if query.category:
        filters["category"] = query.category
    if query.channel:
        filters["channel"] = query.channel
    if query.kind:
        filters["kind"] = query.kind
    due_before = to_jsonable_python(query.due_before.astimezone(UTC)) if query.due_before else None
    if due_before:
        filters["due_at_before"] = due_before
    fingerprint = hashlib.sha256(json.dumps([index, partitions, filters]).encode()).hexdigest()[:16]
    position, start = _read_cursor(query.cursor, fingerprint, index, partitions)
    # In gsi1 the sort key starts with the due time: the key condition narrows, the filter drops the rest.
    sort_before = due_before if index == "gsi1" else None

    def read(at: int, after: dict[str, Any] | None, wanted: int) -> tuple[list[Case], dict[str, Any] | None]:
        return store.page(index, partitions[at], wanted, after, sort_before, filters)

    items: list[Case] = []
    reads, width = 0, 1
    # In waves: the partition the page starts in alone (on a busy queue it fills the page), then the next two at
    # once, then four... each asked for the rest of the page and taken in order. A short queue's page waits a few
    # round trips, not one per status, and a page that fills early has read at most one wave it did not need.
    while len(items) < query.limit and reads < MAX_READS and position < len(partitions):
        wanted = query.limit - len(items)
        wave = range(position, min(len(partitions), position + width, position + MAX_READS - reads))
        if len(wave) == 1:
            answers = [read(position, start, wanted)]
        else:
            with Reads() as together:
                started = [together.start(read, at, None, wanted) for at in wave]
            answers = [answer.result() for answer in started]
        reads, width = reads + len(wave), 2 * width
        for at, (cases, last) in zip(wave, answers, strict=True):
            room = query.limit - len(items)
            if room == 0:
                break
            items += cases[:room]
            if len(cases) > room:  # the page is full inside this answer: go on after its last case taken
                position, start = at, store.page_key(index, cases[room - 1])
                break
            # A partition read on (a filter may leave a read with few items) is read on alone.
            position, start = (at, last) if last else (at + 1, None)
            if last:
                width = 1
                break
    cursor = _write_cursor(fingerprint, position, start) if position < len(partitions) else None
    return {"items": [summary(case) for case in items], "cursor": cursor}


def _write_cursor(fingerprint: str, position: int, start: dict[str, Any] | None) -> str:
    raw = json.dumps({"q": fingerprint, "p": position, "k": start}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_cursor(
    cursor: str | None, fingerprint: str, index: str, partitions: list[str]
) -> tuple[int, dict[str, Any] | None]:
    """Where to go on; a cursor of another query or one edited by hand is refused, not passed to DynamoDB."""
    if cursor is None:
        return 0, None
    invalid = ApiError(400, "invalid_cursor", "翻页参数无效，请从第一页重新查询")
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        raise invalid from None
    if not isinstance(state, dict) or state.get("q") != fingerprint:
        raise invalid
    position, start = state.get("p"), state.get("k")
    if not isinstance(position, int) or not 0 <= position < len(partitions):
        raise invalid
    if start is not None:
        names = {"pk", "sk", f"{index}pk", f"{index}sk"}
        if (
            not isinstance(start, dict)
            or set(start) != names
            or not all(isinstance(value, str) for value in start.values())
            or start[f"{index}pk"] != partitions[position]
        ):
            raise invalid
    return position, start


def summary(case: Case) -> dict:
    """A line of a queue: no personal data."""
    return {
        "tracking_no": case.tracking_no,
        "kind": case.kind,
        "status": case.status,
        "status_name": status_name(case),
        "channel": case.channel,
        "received_at": case.received_at,
        "category": case.category,
        "department": case.department,
        "handler": case.handler,
        "due_at": case.due_at,
        "due_kind": case.due_kind,
        "triage_reason": case.triage_reason,
        "transferred_from": case.transferred_from,
        "typical": case.typical,
        "media_followup": case.media_followup,
        "version": case.version,
        "description": case.description[:100],
    }


def get_case(settings: Settings, principal: Principal, tracking_no: str, now: datetime | None = None) -> dict:
    """One case with its deadlines, its audit timeline, the actions the caller may take, and the complainant
    masked for everyone: the full compartment only through an audited reveal (shared/routing/confidentiality.py)."""
    now = now or datetime.now(UTC)
    require_role(principal, *READERS)
    store = CaseStore(settings)
    case = _load(store, tracking_no)
    require_case_scope(principal, case.department)
    # Read once the caller may see the case, and together: they depend on each other no more than on the case.
    with Reads() as reads:
        stored_complainant = reads.start(store.complainant, tracking_no) if case.has_complainant else None
        events = reads.start(store.events, tracking_no)
        notices = reads.start(store.notices, tracking_no)
    complainant = stored_complainant.result() if stored_complainant else None
    revealable = complainant is not None and confidentiality.reveal_rule(principal, case, complainant) is not None
    return {
        "case": case.model_dump(mode="json", exclude={"verification_hash", "reminders_sent", "enqueued_at"}),
        "status_name": status_name(case),
        "complainant": mask(complainant).model_dump(mode="json") if complainant else None,
        "complainant_revealable": revealable,
        "deadlines": deadlines(case, now),
        "timeline": [event.model_dump(mode="json") for event in events.result()],
        # What the complainant was told and how it went (kind, channel, state, provider message id or error).
        "notices": notices.result(),
        "allowed_actions": workflow.allowed_actions(principal, case, now),
    }


def _load(store: CaseStore, tracking_no: str) -> Case:
    case = store.get(tracking_no) if tracking_no.isascii() and len(tracking_no) <= 40 else None
    if case is None:
        raise case_not_found()
    return case


def deadlines(case: Case, now: datetime) -> list[dict]:
    """Every deadline set on the case, the running one marked."""
    recorded = [
        ("acceptance", case.acceptance_due_at),
        ("reply", case.reply_due_at),
        ("review_request", case.review_request_due_at),
        ("review_reply", case.review_reply_due_at),
        ("answer", case.answer_due_at),
    ]
    return [
        {
            "kind": kind,
            "due_at": due_at.isoformat(),
            "running": case.due_kind == kind,
            "overdue": case.due_kind == kind and due_at < now,
        }
        for kind, due_at in recorded
        if due_at is not None
    ]


def _mask(value: str | None, keep_start: int, keep_end: int) -> str | None:
    if not value:
        return value
    if len(value) <= keep_start + keep_end:
        return value[:1] + "*" * (len(value) - 1)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[len(value) - keep_end :]


def mask(complainant: Complainant) -> Complainant:
    """Name 王*, phone 139****5678, email a***@example.cn, numbers to their last four."""
    email = complainant.email
    if email and "@" in email:
        local, domain = email.split("@", 1)
        email = f"{local[:1]}***@{domain}"
    return Complainant(
        name=_mask(complainant.name, 1, 0),
        phone=_mask(complainant.phone, 3, 4),
        email=email,
        id_number=_mask(complainant.id_number, 0, 4),
        organization=_mask(complainant.organization, 2, 0),
        credit_code=_mask(complainant.credit_code, 0, 4),
        notify_by=complainant.notify_by,
        consent_to_share=complainant.consent_to_share,
    )


# --- acting ----------------------------------------------------------------------------------------------------


def act(
    settings: Settings, principal: Principal, tracking_no: str, action: str, body: bytes, now: datetime | None = None
) -> dict:
    """Take one workflow action; the new case, or 403 / 404 / 409 / 422 as shared/routing/workflow.py decides."""
    now = now or datetime.now(UTC)
    # An unknown action is a 404 before anything else; a role that may not take it is refused before the case is
    # read, so that the answer says nothing of whether the case exists.
    require_role(principal, *workflow.rule(action).roles)
    try:
        parsed = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "请求内容不是有效的 JSON") from None
    try:
        request = workflow.parse_body(action, parsed)
    except ValidationError as error:
        raise from_validation_error(error) from None
    store = CaseStore(settings)
    case = _load(store, tracking_no)
    other = store.get(request.into) if isinstance(request, workflow.MergeBody) else None
    changes = workflow.apply_action(principal, case, action, request, now, other)
    acted = changes[0][1]
    # The case events (reports) and the notice to the complainant of the case acted on (not of the case a
    # duplicate joins) are kept in an outbox written with the change: a failed send is sent again by the sweeper.
    messages = [(settings.events_queue, router.transition_message(after, None)) for _, after, _ in changes]
    notice = notifications.after_action(acted, action)
    question = callbacks.question(settings, changes[0][0], acted)
    messages += [(settings.notify_queue, message) for message in (notice, question) if message is not None]
    pending = outbox.entry(acted.tracking_no, acted.version, now, messages)
    try:
        store.transition_together(changes, [outbox.write(store, pending)])
    except ConditionFailed:
        # Someone else changed one of the cases after we read it: their action stands, ours is refused.
        raise ApiError(409, "version_conflict", "案件已被他人更新，请刷新后重试") from None
    for _, after, _ in changes:
        logger.info("case action", extra={"tracking_no": after.tracking_no, "action": action, "to": after.status})
    outbox.deliver(settings, pending)
    before, after, _ = changes[0]
    found = learning.correction(action, before, after, now)
    if found is not None:
        learning.keep_correction(settings, found, after.version)
    return {"case": acted.model_dump(mode="json", exclude={"verification_hash", "reminders_sent"})}
