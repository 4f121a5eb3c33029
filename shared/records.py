"""What the county legal office records for the assessment, and what the departments submit (issue 5, item 6).

- Lost administrative lawsuits (行政诉讼败诉) and accountability for wrong decisions (错案责任追究): entered,
  changed and deleted by the county legal office (county_admin) only; every change keeps an audit event (who,
  when, the record as it then was). Auditors read all, a department its own. `counts_by_department` gives the
  report the figures of a period (records dated in it).
- Campaign materials (summary, plan, own statistics table, photos; shared/data/campaign.json): a department asks
  for an upload slot (a presigned POST into the reports bucket under
  `materials/<campaign>/<dept>/<material>/<upload id>-<name>`), posts the file to S3, then confirms: the object is
  looked at (size, type, ETag) and the submission recorded, on time when confirmed by the end of the due day in
  county time. The county legal office sees every department and the late list; a department its own.
- A daily reminder (08:00 county time) texts each department that has not submitted a material, from
  `material_reminder_days_before` days before its due date until the campaign's last day, at most once a day.

Personal data (the persons held accountable, summaries) is stored, never logged: logs carry ids and codes.
"""

import hashlib
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from shared import assessment, notifications, objects, periods, queues, reference_data, text, uploads
from shared.assessment import MaterialsStatus
from shared.auth import COUNTY_WIDE_ROLES, DEPARTMENT_ROLES, Principal, Role, require_department, require_role
from shared.dal import CaseStore, ConditionFailed, RecordStore
from shared.errors import ApiError, FieldError, from_validation_error, parse_model
from shared.observability import logger
from shared.settings import Settings

READERS = (Role.county_admin, Role.auditor, Role.dept_head, Role.dept_officer)


# --- records the county legal office enters ----------------------------------------------------------------------


class RecordKind(StrEnum):
    lawsuits = "lawsuits"  # 行政诉讼败诉
    accountability = "accountability"  # 错案责任追究


# The DepartmentRow figure each kind counts for (shared/report_document.py).
FIGURES = {RecordKind.lawsuits: "lawsuits_lost", RecordKind.accountability: "wrong_decision_accountability"}


def _department(code: str) -> str:
    try:
        reference_data.department(code)
    except KeyError:
        raise PydanticCustomError("invalid_department", "不认识的部门代码，请按部门名录选择") from None
    return code


def _not_future(day: date) -> date:
    if day > datetime.now(reference_data.county_timezone()).date():
        raise PydanticCustomError("invalid_future_date", "日期不能晚于今天")
    return day


def _tracking_no(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{1,8}[0-9]{6,20}", value):
        raise PydanticCustomError("invalid_tracking_no", "投诉编号格式不正确")
    return value


Department = Annotated[str, Field(max_length=20), AfterValidator(_department)]
Text = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(text.check_text)]
Short = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(text.check_name)]
PastDate = Annotated[date, AfterValidator(_not_future)]
TrackingNo = Annotated[str, Field(max_length=40), AfterValidator(_tracking_no)]


class _RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    department: Department
    summary: Text
    tracking_no: TrackingNo | None = None  # the complaint the record arose from, if any

    def day(self) -> date:
        raise NotImplementedError


class LawsuitIn(_RecordIn):
    case_number: Short  # the court's case number, e.g. （2026）吉0622行初12号
    judgment_date: PastDate

    def day(self) -> date:
        return self.judgment_date


class AccountabilityIn(_RecordIn):
    persons: list[Short] = Field(min_length=1, max_length=20)
    decided_on: PastDate
    measure: Short  # e.g. 诫勉谈话, 通报批评, 警告处分

    def day(self) -> date:
        return self.decided_on


class LawsuitUpdate(LawsuitIn):
    version: int = Field(ge=1)  # the version read: a change made meanwhile is not overwritten


class AccountabilityUpdate(AccountabilityIn):
    version: int = Field(ge=1)


_MODELS: dict[RecordKind, tuple[type[_RecordIn], type[_RecordIn]]] = {
    RecordKind.lawsuits: (LawsuitIn, LawsuitUpdate),
    RecordKind.accountability: (AccountabilityIn, AccountabilityUpdate),
}


class ListQuery(BaseModel):
    """GET /records/{kind}: records dated in a span (the whole campaign by default), of one department or all."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: date | None = Field(default=None, alias="from")
    end: date | None = Field(default=None, alias="to")
    department: Department | None = None


def _kind(kind: str) -> RecordKind:
    try:
        return RecordKind(kind)
    except ValueError:
        raise ApiError(404, "not_found", "没有这类记录") from None


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "未找到该记录")


def _event(principal: Principal, record: dict[str, Any], action: str, at: str) -> dict[str, Any]:
    return {
        "record_id": record["id"],
        "version": record["version"],
        "action": action,
        "at": at,
        "actor": principal.subject,
        **principal.audit_details(),
        "record": record,
    }


def _check_case(settings: Settings, body: _RecordIn) -> None:
    if body.tracking_no is not None and CaseStore(settings).get(body.tracking_no) is None:
        message = "未找到该投诉编号"
        raise ApiError(
            422,
            "validation_failed",
            "提交的内容有误，请按提示修改后重新提交",
            [FieldError(field="tracking_no", code="unknown_tracking_no", message=message)],
        )


def _fields(body: _RecordIn) -> dict[str, Any]:
    return {**body.model_dump(mode="json", exclude={"version"}), "date": body.day().isoformat()}


def add_record(settings: Settings, principal: Principal, kind: str, body: bytes, now: datetime | None = None) -> dict:
    require_role(principal, Role.county_admin)
    record_kind = _kind(kind)
    parsed = parse_model(_MODELS[record_kind][0], body)
    _check_case(settings, parsed)
    at = (now or datetime.now(UTC)).isoformat()
    record = {
        **_fields(parsed),
        "id": uuid.uuid4().hex,
        "kind": record_kind.value,
        "version": 1,
        "created_at": at,
        "created_by": principal.subject,
        "created_by_name": principal.name,
        "updated_at": at,
        "updated_by": principal.subject,
        "updated_by_name": principal.name,
    }
    RecordStore(settings).save(record, _event(principal, record, "create", at), None)
    logger.info("record added", extra={"record_id": record["id"], "kind": record_kind.value})
    return {"record": record}


def _load(store: RecordStore, kind: RecordKind, record_id: str) -> dict[str, Any]:
    record = store.get(record_id) if re.fullmatch(r"[0-9a-f]{32}", record_id) else None
    if record is None or record["kind"] != kind:
        raise _not_found()
    return record


def update_record(
    settings: Settings, principal: Principal, kind: str, record_id: str, body: bytes, now: datetime | None = None
) -> dict:
    """Replace a record's fields; 409 when someone changed it since the version the caller read."""
    require_role(principal, Role.county_admin)
    record_kind = _kind(kind)
    parsed = parse_model(_MODELS[record_kind][1], body)
    _check_case(settings, parsed)
    store = RecordStore(settings)
    before = _load(store, record_kind, record_id)
    version = int(before["version"])
    if getattr(parsed, "version", None) != version:
        raise ApiError(409, "version_conflict", "记录已被他人修改，请刷新后重试")
    at = (now or datetime.now(UTC)).isoformat()
    kept = {name: before[name] for name in ("id", "kind", "created_at", "created_by", "created_by_name")}
    record = {
        **kept,
        **_fields(parsed),
        "version": version + 1,
        "updated_at": at,
        "updated_by": principal.subject,
        "updated_by_name": principal.name,
    }
    try:
        store.save(record, _event(principal, record, "update", at), version)
    except ConditionFailed:
        raise ApiError(409, "version_conflict", "记录已被他人修改，请刷新后重试") from None
    logger.info("record changed", extra={"record_id": record_id, "kind": record_kind.value, "version": version + 1})
    return {"record": record}


def delete_record(
    settings: Settings, principal: Principal, kind: str, record_id: str, now: datetime | None = None
) -> None:
    """Delete a record; its audit events stay, the last one holding the record as it was."""
    require_role(principal, Role.county_admin)
    store = RecordStore(settings)
    before = _load(store, _kind(kind), record_id)
    at = (now or datetime.now(UTC)).isoformat()
    gone = {**before, "version": int(before["version"]) + 1}
    try:
        store.delete(record_id, _event(principal, gone, "delete", at), int(before["version"]))
    except ConditionFailed:
        raise ApiError(409, "version_conflict", "记录已被他人修改，请刷新后重试") from None
    logger.info("record deleted", extra={"record_id": record_id, "kind": before["kind"]})


def campaign_span() -> tuple[date, date]:
    """The first and the last day of the campaign."""
    period = periods.campaign_periods()[0]
    return period.start, period.end


def list_records(settings: Settings, principal: Principal, kind: str, params: Mapping[str, str]) -> dict:
    require_role(principal, *READERS)
    record_kind = _kind(kind)
    try:
        query = ListQuery.model_validate(dict(params))
    except ValidationError as error:
        raise from_validation_error(error) from None
    department = query.department
    if department is None and principal.role in DEPARTMENT_ROLES:
        department = principal.department
    if department is not None:
        require_department(principal, department)
    first, last = campaign_span()
    start, end = query.start or first, query.end or last
    found = [
        record
        for record in RecordStore(settings).between(start.isoformat(), end.isoformat())
        if record["kind"] == record_kind and (department is None or record["department"] == department)
    ]
    return {"items": found, "from": start.isoformat(), "to": end.isoformat()}


def counts_by_department(settings: Settings, start: date, end: date) -> dict[str, dict[str, int]]:
    """Department -> {lawsuits_lost, wrong_decision_accountability}: the records dated from `start` to `end`."""
    counts: dict[str, dict[str, int]] = {}
    for record in RecordStore(settings).between(start.isoformat(), end.isoformat()):
        row = counts.setdefault(record["department"], dict.fromkeys(FIGURES.values(), 0))
        row[FIGURES[RecordKind(record["kind"])]] += 1
    return counts


# --- campaign materials ------------------------------------------------------------------------------------------


class Material(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")
    name: str
    due: date  # the last day, county time
    content_types: dict[str, str] = Field(min_length=1)  # content type -> the extension it is stored with
    max_bytes: int = Field(gt=0)

    def due_end(self) -> datetime:
        """The end of the due day in county time: a submission before it is on time."""
        return datetime.combine(self.due + timedelta(days=1), time(0), tzinfo=reference_data.county_timezone())


class _MaterialsConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    materials: tuple[Material, ...] = Field(min_length=1)
    material_reminder_days_before: int = Field(default=3, ge=0)


@cache
def _config() -> _MaterialsConfig:
    return _MaterialsConfig.model_validate(reference_data.load_json("campaign.json"))


def materials() -> tuple[Material, ...]:
    return _config().materials


def material(code: str) -> Material:
    found = next((item for item in materials() if item.code == code), None)
    if found is None:
        raise ApiError(404, "not_found", "没有这项报送材料")
    return found


def submitting_departments() -> list[reference_data.Department]:
    """Who submits materials: the departments and towns the county legal office assesses."""
    return [d for d in reference_data.departments() if d.kind in assessment.ASSESSED_KINDS]


class SlotRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    filename: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(text.check_text)]
    content_type: str = Field(min_length=1, max_length=200)
    size: int = Field(gt=0)

    @field_validator("content_type")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class ConfirmRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    key: str = Field(min_length=1, max_length=400)
    filename: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(text.check_text)] | None = None


def _submitter(principal: Principal) -> str:
    """The department a department role submits for; the county legal office and readers submit nothing."""
    require_role(principal, *DEPARTMENT_ROLES)
    if principal.department is None or not assessment.assessed(principal.department):
        raise ApiError(403, "forbidden", "本部门无需报送活动材料")
    return principal.department


def _prefix(department: str, code: str) -> str:
    return f"materials/{periods.campaign_id()}/{department}/{code}/"


def _refuse(code: str, message: str, field: str) -> ApiError:
    return ApiError(422, code, message, [FieldError(field=field, code=code, message=message)])


def _check_file(item: Material, content_type: str, size: int) -> None:
    if content_type not in item.content_types:
        kinds = "、".join(sorted({extension.lstrip(".").upper() for extension in item.content_types.values()}))
        raise _refuse("unsupported_upload_type", f"{item.name}只能上传 {kinds} 文件", "content_type")
    if size > item.max_bytes:
        raise _refuse("upload_too_large", f"文件不能超过 {item.max_bytes // (1024 * 1024)} MB", "size")


def upload_slot(settings: Settings, principal: Principal, code: str, body: bytes) -> dict:
    """A presigned POST for one file of a material, for the caller's own department."""
    department = _submitter(principal)
    item = material(code)
    request = parse_model(SlotRequest, body)
    _check_file(item, request.content_type, request.size)
    name = uploads.safe_name(request.filename, item.content_types[request.content_type])
    key = f"{_prefix(department, item.code)}{uuid.uuid4().hex}-{name}"
    fields = {"Content-Type": request.content_type}
    conditions: list = [["content-length-range", 1, item.max_bytes], {"Content-Type": request.content_type}]
    post = objects.presigned_post(settings.reports_bucket, key, fields, conditions, settings.upload_url_seconds)
    slot = uploads.UploadSlot(
        key=key,
        url=post["url"],
        fields=post["fields"],
        max_bytes=item.max_bytes,
        expires_in=settings.upload_url_seconds,
    )
    return slot.model_dump()


def confirm_submission(
    settings: Settings, principal: Principal, code: str, body: bytes, now: datetime | None = None
) -> tuple[int, dict]:
    """Record an uploaded file as submitted: (201, submission), or (200, the submission recorded before)."""
    department = _submitter(principal)
    item = material(code)
    request = parse_model(ConfirmRequest, body)
    prefix = _prefix(department, item.code)
    found = re.fullmatch(re.escape(prefix) + r"([0-9a-f]{32})-[A-Za-z0-9_-]{1,60}\.[a-z0-9]{2,5}", request.key)
    if found is None:
        raise _refuse("invalid_upload_key", "文件不是通过本部门的上传地址上传的，请重新上传", "key")
    store = RecordStore(settings)
    campaign, upload_id = periods.campaign_id(), found.group(1)
    recorded = store.submission(campaign, department, item.code, upload_id)
    if recorded is not None:
        return 200, {"submission": recorded}
    info = objects.describe(settings.reports_bucket, request.key)
    if info is None:
        raise _refuse("upload_missing", "文件没有上传成功或已过期，请重新上传", "key")
    # moto, and a browser without the slot's script, do not hold uploads to the slot's policy: check again.
    _check_file(item, info.content_type.split(";", 1)[0].strip().lower(), info.size)
    submitted_at = now or datetime.now(UTC)
    submission = {
        "upload_id": upload_id,
        "department": department,
        "material": item.code,
        "key": request.key,
        "filename": request.filename or request.key.rsplit("/", 1)[-1].split("-", 1)[1],
        "size": info.size,
        "content_type": info.content_type,
        "etag": info.etag,
        "submitted_at": submitted_at.isoformat(),
        "submitted_by": principal.subject,
        "submitted_by_name": principal.name,
        "on_time": submitted_at < item.due_end(),
    }
    if not store.add_submission(campaign, submission):
        return 200, {"submission": store.submission(campaign, department, item.code, upload_id)}
    logger.info(
        "material submitted",
        extra={
            "department": department,
            "material": item.code,
            "upload_id": upload_id,
            "on_time": submission["on_time"],
        },
    )
    return 201, {"submission": submission}


State = Literal["on_time", "late", "missing", "pending"]


class MaterialState(BaseModel):
    department: str
    department_name: str
    material: str
    material_name: str
    due: date
    state: State  # missing: due date passed, nothing submitted; pending: not submitted, not yet due
    first_submitted_at: datetime | None = None
    files: int = 0


def _states(submissions: list[dict[str, Any]], today: date, departments: list[str]) -> list[MaterialState]:
    """For each department and material, where it stands on `today` (county date)."""
    first: dict[tuple[str, str], datetime] = {}
    files: dict[tuple[str, str], int] = {}
    for submission in submissions:
        key = (submission["department"], submission["material"])
        at = datetime.fromisoformat(submission["submitted_at"])
        first[key] = min(first.get(key, at), at)
        files[key] = files.get(key, 0) + 1
    states = []
    for code in departments:
        for item in materials():
            at_first = first.get((code, item.code))
            state: State
            if at_first is not None:
                state = "on_time" if at_first < item.due_end() else "late"
            else:
                state = "missing" if today > item.due else "pending"
            states.append(
                MaterialState(
                    department=code,
                    department_name=reference_data.department(code).name,
                    material=item.code,
                    material_name=item.name,
                    due=item.due,
                    state=state,
                    first_submitted_at=at_first,
                    files=files.get((code, item.code), 0),
                )
            )
    return states


def _today(now: datetime | None) -> date:
    return (now or datetime.now(UTC)).astimezone(reference_data.county_timezone()).date()


def late_list(settings: Settings, today: date) -> list[MaterialState]:
    """Each material a department has not submitted by its due date, or submitted after it."""
    codes = [d.code for d in submitting_departments()]
    states = _states(RecordStore(settings).submissions(periods.campaign_id()), today, codes)
    return [state for state in states if state.state in ("missing", "late")]


def materials_status(settings: Settings, today: date) -> dict[str, MaterialsStatus]:
    """Department -> its materials counted by state on `today`, for the assessment."""
    codes = [d.code for d in submitting_departments()]
    status = {code: MaterialsStatus(required=len(materials())) for code in codes}
    for state in _states(RecordStore(settings).submissions(periods.campaign_id()), today, codes):
        counts = status[state.department]
        setattr(counts, state.state, getattr(counts, state.state) + 1)
    return status


def overview(settings: Settings, principal: Principal, now: datetime | None = None) -> dict:
    """GET /materials: the materials asked for, where each visible department stands, the files with download
    links; for the county-wide roles also the late list."""
    require_role(principal, *READERS)
    today = _today(now)
    county_wide = principal.role in COUNTY_WIDE_ROLES
    if county_wide:
        codes = [d.code for d in submitting_departments()]
    else:
        codes = [principal.department] if principal.department and assessment.assessed(principal.department) else []
    store, campaign = RecordStore(settings), periods.campaign_id()
    stored = store.submissions(campaign) if county_wide else [s for c in codes for s in store.submissions(campaign, c)]
    submissions = [
        {
            **submission,
            "url": objects.download_url(settings.reports_bucket, submission["key"], settings.report_url_seconds),
        }
        for submission in stored
    ]
    states = _states(submissions, today, codes)
    answer: dict[str, Any] = {
        "materials": [item.model_dump(mode="json") for item in materials()],
        "states": [state.model_dump(mode="json") for state in states],
        "submissions": sorted(submissions, key=lambda s: s["submitted_at"]),
    }
    if county_wide:
        answer["late"] = [state.model_dump(mode="json") for state in states if state.state in ("missing", "late")]
    return answer


# --- reminders ---------------------------------------------------------------------------------------------------


class MaterialReminder(BaseModel):
    """One reminder sent (no personal data: it can be logged and printed)."""

    department: str
    material: str
    kind: Literal["material_due_soon", "material_overdue"]


def remind_materials(settings: Settings, now: datetime | None = None) -> list[MaterialReminder]:
    """The daily run: text each department about each material it has not submitted, from the configured number
    of days before the due date until the campaign's last day, once a day (a marker item, written first)."""
    today = _today(now)
    campaign = periods.campaign_id()
    store = RecordStore(settings)
    submitted = {(s["department"], s["material"]) for s in store.submissions(campaign)}
    window = timedelta(days=_config().material_reminder_days_before)
    last_day = campaign_span()[1]
    sent = []
    for item in materials():
        if not item.due - window <= today <= last_day:
            continue
        kind: Literal["material_due_soon", "material_overdue"] = (
            "material_due_soon" if today <= item.due else "material_overdue"
        )
        for department in submitting_departments():
            if (department.code, item.code) in submitted:
                continue
            if not store.claim_reminder(campaign, today.isoformat(), department.code, item.code):
                continue  # reminded today already
            try:
                _queue_reminder(settings, campaign, today, department, item, kind)
            except Exception:
                store.release_reminder(campaign, today.isoformat(), department.code, item.code)  # the next run retries
                raise
            sent.append(MaterialReminder(department=department.code, material=item.code, kind=kind))
    logger.info("material reminders", extra={"sent": len(sent), "day": today.isoformat()})
    return sent


def _queue_reminder(
    settings: Settings,
    campaign: str,
    today: date,
    department: reference_data.Department,
    item: Material,
    kind: str,
) -> None:
    values = {"department": department.name, "material": item.name, "due": f"{item.due.month}月{item.due.day}日"}
    for phone in notifications.legal_office_phones(department.code):
        # One id per day, material, department and number: a repeated run or delivery sends nothing twice.
        digest = hashlib.sha256(phone.encode()).hexdigest()[:16]
        message_id = f"material:{campaign}:{item.code}:{department.code}:{today.isoformat()}:{digest}"
        notice = notifications.SmsNotice(kind=kind, phone=phone, values=values)
        queues.send(settings.notify_queue, notifications.sms_notice_message(message_id, notice))
