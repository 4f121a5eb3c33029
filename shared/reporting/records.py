"""What the county legal office records for the assessment (issue 5, item 6); the materials departments submit
are in shared/reporting/materials.py.

- Lost administrative lawsuits (行政诉讼败诉) and accountability for wrong decisions (错案责任追究): entered,
  changed and deleted by the county legal office (county_admin) only; every change keeps an audit event (who,
  when, the record as it then was). Auditors read all, a department its own. Each record counts one on its
  department's row of the statistics counters of every period its date falls in (`lawsuits_lost`,
  `wrong_decision_accountability`), changed in the transaction that stores the record: a report reads them with
  the other figures of the period, in the same Query (shared/reporting/stats.py; `hotspot rebuild-stats` recounts
  them too).

Personal data (the persons held accountable, summaries) is stored, never logged: logs carry ids and codes.
"""

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from shared.core import reference_data, text
from shared.core.auth import DEPARTMENT_ROLES, Principal, Role
from shared.core.dal.cases import CaseStore
from shared.core.dal.items import ConditionFailed
from shared.core.dal.records import RecordStore
from shared.core.dal.stats import StatsStore
from shared.core.errors import ApiError, FieldError, from_validation_error, parse_model
from shared.core.models import TRACKING_NO_PATTERN
from shared.core.observability import logger
from shared.core.roles import require_department, require_role
from shared.core.settings import Settings
from shared.reporting import periods

READERS = (Role.county_admin, Role.auditor, Role.dept_head, Role.dept_officer)


# --- records the county legal office enters ----------------------------------------------------------------------


class RecordKind(StrEnum):
    lawsuits = "lawsuits"  # 行政诉讼败诉
    accountability = "accountability"  # 错案责任追究


# The DepartmentRow figure each kind counts for (shared/reporting/report_document.py).
FIGURES = {RecordKind.lawsuits: "lawsuits_lost", RecordKind.accountability: "wrong_decision_accountability"}


def counted(record: Mapping[str, Any] | None) -> dict[tuple[str, str, str], int]:
    """What a stored record counts for: (period key, department, figure) -> 1 for every period its date falls in."""
    if record is None:
        return {}
    figure = FIGURES[RecordKind(record["kind"])]
    day = date.fromisoformat(str(record["date"]))
    return {(period.key, str(record["department"]), figure): 1 for period in periods.periods_of_day(day)}


def _counter_writes(
    settings: Settings, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """The counter updates that count `after` instead of `before` (None: no record), for the record's transaction."""
    old, new = counted(before), counted(after)
    deltas = {key: new.get(key, 0) - old.get(key, 0) for key in old.keys() | new.keys()}
    record_id = str((after or before or {})["id"])
    return StatsStore(settings).counter_writes(deltas, record_id)


def _not_future(day: date) -> date:
    if day > datetime.now(reference_data.county_timezone()).date():
        raise PydanticCustomError("invalid_future_date", "日期不能晚于今天")
    return day


def _tracking_no(value: str) -> str:
    if not re.fullmatch(TRACKING_NO_PATTERN, value):
        raise PydanticCustomError("invalid_tracking_no", "投诉编号格式不正确")
    return value


Department = reference_data.DepartmentCode
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


MODELS: dict[RecordKind, tuple[type[_RecordIn], type[_RecordIn]]] = {
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
    parsed = parse_model(MODELS[record_kind][0], body)
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
    RecordStore(settings).save(
        record, _event(principal, record, "create", at), None, _counter_writes(settings, None, record)
    )
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
    parsed = parse_model(MODELS[record_kind][1], body)
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
        store.save(record, _event(principal, record, "update", at), version, _counter_writes(settings, before, record))
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
        store.delete(
            record_id,
            _event(principal, gone, "delete", at),
            int(before["version"]),
            _counter_writes(settings, before, None),
        )
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
