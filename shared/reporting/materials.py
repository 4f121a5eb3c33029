"""Campaign materials the departments submit (issue 5, item 6): summary, plan, own statistics table, photos, as
`shared/data/campaign.json` lists them.

A department asks for an upload slot (a presigned POST into the reports bucket under
`materials/<campaign>/<dept>/<material>/<upload id>-<name>`), posts the file to S3, then confirms: the object is
looked at (size, type, ETag) and the submission recorded, on time when confirmed by the end of the due day in
county time. The county legal office sees every department and the late list; a department its own.

A daily reminder (08:00 county time) texts each department that has not submitted a material, from
`material_reminder_days_before` days before its due date until the campaign's last day, at most once a day.
"""

import hashlib
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from shared.core import notices, objects, queues, reference_data, text, uploads
from shared.core.auth import DEPARTMENT_ROLES, Principal
from shared.core.campaign import Material, load_campaign
from shared.core.dal.records import RecordStore
from shared.core.errors import ApiError, FieldError, parse_model
from shared.core.observability import logger
from shared.core.roles import COUNTY_WIDE_ROLES, require_role
from shared.core.settings import Settings
from shared.reporting import assessment, periods
from shared.reporting.assessment import MaterialsStatus
from shared.reporting.records import campaign_span

READERS = (*COUNTY_WIDE_ROLES, *DEPARTMENT_ROLES)


# --- campaign materials ------------------------------------------------------------------------------------------


def materials() -> tuple[Material, ...]:
    return load_campaign().materials


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


def materials_status(
    settings: Settings, today: date, submissions: list[dict[str, Any]] | None = None
) -> dict[str, MaterialsStatus]:
    """Department -> its materials counted by state on `today`, for the assessment; of the campaign's
    `submissions` when the caller has read them (a report, with the surveys: shared/core/dal/campaign.py)."""
    codes = [d.code for d in submitting_departments()]
    status = {code: MaterialsStatus(required=len(materials())) for code in codes}
    if submissions is None:
        submissions = RecordStore(settings).submissions(periods.campaign_id())
    for state in _states(submissions, today, codes):
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
    window = timedelta(days=load_campaign().material_reminder_days_before)
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
    for phone in notices.legal_office_phones(department.code):
        # One id per day, material, department and number: a repeated run or delivery sends nothing twice.
        digest = hashlib.sha256(phone.encode()).hexdigest()[:16]
        message_id = f"material:{campaign}:{item.code}:{department.code}:{today.isoformat()}:{digest}"
        notice = notices.SmsNotice(kind=kind, phone=phone, values=values)
        queues.send(settings.notify_queue, notices.sms_notice_message(message_id, notice))
