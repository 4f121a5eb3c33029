"""Hotspots (issue 5 item 2): clusters of complaints about one department and category, or about one unit or
officer, that reach a threshold or rise against the window before, tracked as a whole by the county legal office.

Detection (`detect`, hourly in the reporting service) reads the cluster days the statistics keep
(shared/reporting/stats.py: `CLUSTER#<county day>` items, `deptcat:<department>#<category>` and `unit:<normalised
name>`,
each with its count and tracking numbers): for each window of shared/data/hotspots.json, the days of the window
and of the window before it, one Query per day (each day read once per run), so its cost grows with days and
clusters, never with cases. A hotspot is one (kind, cluster, window); its id is fixed by the cluster, the window
and how many came before it (shared/core/dal/ HotspotStore), so two runs that see a cluster fire open it once.
A run updates the count and links the new cases of the hotspots open or tracked; a resolved hotspot is closed
for good, and only complaints received after the day it was resolved count towards a new one (a flare).

When a hotspot opens, the county legal office's duty phones (notifications.json, department_recipients.FZB) get an
SMS through the notify queue, outside the reminders' quiet hours. Each message id is fixed by hotspot and phone,
so the consumer sends it once; the hotspot notes that it was queued, and a run finding one not yet noted (queued
in quiet hours, or the run died) queues it again.

Lifecycle: open -> tracking (followed up with the media) -> resolved, or back from tracking to open; each change by
the county legal office with a note, appended to the hotspot's history and guarded by its version (409 when stale).

Who sees what: the county legal office and the auditors every hotspot; a department's staff those of their
department (a unit's department is the one its name routes to); the media those tracked with them, without case
numbers or history.
"""

import hashlib
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Annotated, Any, Literal, TypedDict

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    StrictInt,
    ValidationError,
    model_validator,
)
from pydantic_core import to_jsonable_python

from shared.core import notices, queues, reference_data, text
from shared.core.auth import DEPARTMENT_ROLES, Principal, Role
from shared.core.classifier import classify
from shared.core.dal.cases import CaseStore
from shared.core.dal.hotspots import HotspotStore
from shared.core.dal.stats import StatsStore
from shared.core.errors import ApiError, FieldError, from_validation_error, parse_model
from shared.core.observability import logger
from shared.core.roles import COUNTY_WIDE_ROLES, require_role
from shared.core.settings import Settings
from shared.reporting import stats
from shared.reporting.report_document import HotspotSummary

Kind = Literal["department_category", "unit"]
HotspotStatus = Literal["open", "tracking", "resolved"]
Reason = Literal["threshold", "rise"]

STATUSES: tuple[HotspotStatus, ...] = ("open", "tracking", "resolved")
LIVE: tuple[HotspotStatus, ...] = ("open", "tracking")
# What the county legal office may change a hotspot to; resolved is final (a flare opens a new one).
TRANSITIONS: dict[HotspotStatus, tuple[HotspotStatus, ...]] = {
    "open": ("tracking", "resolved"),
    "tracking": ("open", "resolved"),
    "resolved": (),
}
STATUS_NAMES = {"open": "待跟踪", "tracking": "媒体跟踪中", "resolved": "已解决"}
DEPTCAT_PREFIX = "deptcat:"
UNIT_PREFIX = "unit:"
SYSTEM_ACTOR = "system:hotspots"
NOTICE_KIND = "hotspot_opened"
EDITORS = (Role.county_admin,)


# --- configuration (shared/data/hotspots.json) ----------------------------------------------------------------


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Kind
    window_days: PositiveInt
    min_count: PositiveInt
    rise_factor: float = Field(ge=1)
    min_rise: PositiveInt


class Rules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    windows: tuple[PositiveInt, ...] = Field(min_length=1)
    rules: tuple[Rule, ...]
    sms_title_chars: int = Field(ge=8, le=40)

    @model_validator(mode="after")
    def _one_rule_per_window_and_kind(self) -> "Rules":
        found = [(rule.window_days, rule.kind) for rule in self.rules]
        wanted = [(window, kind) for window in self.windows for kind in ("department_category", "unit")]
        if sorted(found) != sorted(wanted):
            raise ValueError(f"one rule per window and kind is needed: {sorted(wanted)}, found {sorted(found)}")
        return self

    def rule(self, kind: Kind, window_days: int) -> Rule:
        return next(rule for rule in self.rules if rule.kind == kind and rule.window_days == window_days)


@cache
def rules() -> Rules:
    return Rules.model_validate(reference_data.load_json("hotspots.json"))


def fires(rule: Rule, count: int, previous: int) -> list[Reason]:
    """Why a cluster with `count` complaints in the window (and `previous` in the one before) is a hotspot."""
    reasons: list[Reason] = []
    if count >= rule.min_count:
        reasons.append("threshold")
    if count >= previous * rule.rise_factor and count - previous >= rule.min_rise:
        reasons.append("rise")
    return reasons


def window(today: date, days: int, back: int = 0) -> list[date]:
    """The county days of the window that ends today (`back` 0), or of the window before it (`back` 1)."""
    last = today - timedelta(days=days * back)
    return [last - timedelta(days=offset) for offset in range(days)]


# --- clusters ---------------------------------------------------------------------------------------------------


def kind_of(cluster_key: str) -> Kind | None:
    if cluster_key.startswith(DEPTCAT_PREFIX):
        return "department_category"
    if cluster_key.startswith(UNIT_PREFIX):
        return "unit"
    return None


def _department_category(cluster_key: str) -> tuple[str, str]:
    department, _, category = cluster_key.removeprefix(DEPTCAT_PREFIX).partition("#")
    return department, category


def _unit_department(unit: str) -> str | None:
    """The department a unit's name routes to, as a complaint about it would be; None when it routes nowhere."""
    routed = classify(unit, unit)
    return routed.department if routed.triage_reason is None else None


class Described(TypedDict):
    title: str
    department: str | None
    category: str | None
    unit: str | None


def describe(cluster_key: str) -> Described:
    """Title (in Chinese), department, category and unit of a cluster."""
    if kind_of(cluster_key) == "unit":
        unit = cluster_key.removeprefix(UNIT_PREFIX)
        return {"title": unit, "department": _unit_department(unit), "category": None, "unit": unit}
    department, category = _department_category(cluster_key)
    known_departments = {item.code: item.name for item in reference_data.departments()}
    known_categories = {item.code: item.name for item in reference_data.categories()}
    name = known_departments.get(department, stats.UNROUTED_NAME)
    title = f"{name} · {known_categories.get(category, category)}"
    routed = department if department in known_departments else None
    return {"title": title, "department": routed, "category": category, "unit": None}


def _digest(cluster_key: str) -> str:
    return hashlib.sha256(cluster_key.encode()).hexdigest()[:16]


# --- the hotspot --------------------------------------------------------------------------------------------------


class HistoryEntry(BaseModel):
    at: datetime
    actor: str
    actor_name: str | None = None
    actor_role: str | None = None
    actor_department: str | None = None
    from_status: HotspotStatus | None = None
    to_status: HotspotStatus
    note: str


class Hotspot(BaseModel):
    hotspot_id: str
    kind: Kind
    cluster_key: str
    window_days: int
    generation: int
    title: str
    department: str | None = None
    category: str | None = None
    unit: str | None = None
    status: HotspotStatus
    reasons: list[Reason]
    # Complaints in the window as last detected, and in the window before it.
    count: int
    previous_count: int
    # Every case linked while the hotspot was open or tracked (the window moves on; the links stay).
    cases: list[str]
    # After a resolved hotspot of the same cluster: only complaints received from this county day count.
    counts_from: date | None = None
    opened_at: datetime
    updated_at: datetime
    notified_at: datetime | None = None
    tracking_at: datetime | None = None
    resolved_at: datetime | None = None
    version: int = 1
    history: list[HistoryEntry] = Field(default_factory=list)

    @property
    def identity(self) -> tuple[str, int]:
        return self.cluster_key, self.window_days

    @property
    def rise(self) -> int:
        return self.count - self.previous_count

    def summary(self) -> HotspotSummary:
        return HotspotSummary.model_validate(self.model_dump(include=set(HotspotSummary.model_fields)))


def rank(hotspots: list[Hotspot]) -> list[Hotspot]:
    """Open first, then tracked, then resolved; within each the most complaints, the steepest rise, the newest."""
    ordered = sorted(hotspots, key=lambda item: item.opened_at, reverse=True)
    return sorted(ordered, key=lambda item: (STATUSES.index(item.status), -item.count, -item.rise))


# --- detection ----------------------------------------------------------------------------------------------------


class DetectionSummary(BaseModel):
    """What one run did: ids and counts only (no names), so it can be logged and printed."""

    at: datetime
    days_read: int = 0
    clusters: int = 0
    opened: list[str] = Field(default_factory=list)
    updated: int = 0
    notified: int = 0
    quiet_hours: bool = False


Day = Mapping[str, tuple[int, set[str]]]


def _total(days: list[tuple[date, Day]], cluster_key: str, since: date | None) -> tuple[int, set[str]]:
    count, cases = 0, set()
    for day, clusters in days:
        if cluster_key in clusters and (since is None or day >= since):
            count += clusters[cluster_key][0]
            cases |= clusters[cluster_key][1]
    return count, cases


def detect(settings: Settings, now: datetime | None = None) -> DetectionSummary:
    """The scheduled run: open, update and announce hotspots as of `now`."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    zone = reference_data.county_timezone()
    today = now.astimezone(zone).date()
    config = rules()
    store, stats = HotspotStore(settings), StatsStore(settings)
    summary = DetectionSummary(at=now, quiet_hours=notices.quiet_hours().contains(now.astimezone(zone).time()))
    read: dict[date, Day] = {}

    def days_of(days: list[date]) -> list[tuple[date, Day]]:
        for day in days:
            if day not in read:
                read[day] = stats.clusters(day.isoformat())
        return [(day, read[day]) for day in days]

    known = [Hotspot.model_validate(item) for item in store.listed()]
    live = {item.identity: item for item in known if item.status in LIVE}
    generations: dict[tuple[str, int], int] = {}
    flares_from: dict[tuple[str, int], date] = {}
    for item in sorted(known, key=lambda hotspot: hotspot.generation):
        generations[item.identity] = item.generation
        if item.resolved_at is not None:
            flares_from[item.identity] = item.resolved_at.astimezone(zone).date() + timedelta(days=1)
    announce = [item for item in live.values() if item.notified_at is None]
    for days in config.windows:
        current, previous = days_of(window(today, days)), days_of(window(today, days, back=1))
        keys = {key for _, clusters in current for key in clusters} | {key for key, w in live if w == days}
        for key in sorted(keys):
            kind = kind_of(key)
            if kind is None:
                continue
            identity = (key, days)
            previous_count = _total(previous, key, None)[0]
            found = live.get(identity)
            if found is not None:
                count, cases = _total(current, key, found.counts_from)
                summary.updated += _refresh(store, found, count, previous_count, cases, now)
                continue
            count, cases = _total(current, key, flares_from.get(identity))
            reasons = fires(config.rule(kind, days), count, previous_count)
            if not reasons:
                continue
            opened = _new(identity, generations.get(identity, 0) + 1, flares_from.get(identity), now).model_copy(
                update={"reasons": reasons, "count": count, "previous_count": previous_count, "cases": sorted(cases)}
            )
            if store.open(opened.model_dump(mode="json")):
                summary.opened.append(opened.hotspot_id)
                announce.append(opened)
                logger.info(
                    "hotspot opened",
                    extra={"hotspot_id": opened.hotspot_id, "kind": kind, "window_days": days, "count": count},
                )
    if not summary.quiet_hours:
        for item in announce:
            summary.notified += _announce(settings, store, item, now)
    summary.days_read = len(read)
    summary.clusters = len({key for clusters in read.values() for key in clusters})
    logger.info("hotspot detection", extra=summary.model_dump(mode="json", exclude={"opened"}))
    return summary


def _new(identity: tuple[str, int], generation: int, counts_from: date | None, now: datetime) -> Hotspot:
    """A hotspot of a cluster about to open (its figures are set by the caller)."""
    key, days = identity
    kind = kind_of(key)
    assert kind is not None
    return Hotspot(
        hotspot_id=f"{days}d-{_digest(key)}-{generation}",
        kind=kind,
        cluster_key=key,
        window_days=days,
        generation=generation,
        **describe(key),
        status="open",
        reasons=[],
        count=0,
        previous_count=0,
        cases=[],
        counts_from=counts_from,
        opened_at=now,
        updated_at=now,
        history=[HistoryEntry(at=now, actor=SYSTEM_ACTOR, to_status="open", note="系统识别为热点")],
    )


def _refresh(
    store: HotspotStore, hotspot: Hotspot, count: int, previous_count: int, cases: set[str], now: datetime
) -> int:
    """Update a live hotspot's counts and link new cases; 1 when something changed (and was written)."""
    linked = sorted(set(hotspot.cases) | cases)
    if (count, previous_count, linked) == (hotspot.count, hotspot.previous_count, hotspot.cases):
        return 0
    values = {"count": count, "previous_count": previous_count, "cases": linked, "updated_at": now.isoformat()}
    return int(store.refresh(hotspot.hotspot_id, values, LIVE))


def _announce(settings: Settings, store: HotspotStore, hotspot: Hotspot, now: datetime) -> int:
    """Queue the SMS to each of the county legal office's phones, then note it on the hotspot."""
    title = hotspot.title
    limit = rules().sms_title_chars
    short = title if len(title) <= limit else title[: limit - 1] + "…"
    values = {"title": short, "days": str(hotspot.window_days), "count": str(hotspot.count)}
    for phone in notices.legal_office_phones(notices.SUPERVISOR):
        # Fixed by hotspot and phone: a repeat is dropped by the consumer. The phone is hashed in the id.
        message_id = f"hotspot:{hotspot.hotspot_id}:opened:{hashlib.sha256(phone.encode()).hexdigest()[:16]}"
        notice = notices.SmsNotice(kind=NOTICE_KIND, phone=phone, values=values)
        queues.send(settings.notify_queue, notices.sms_notice_message(message_id, notice))
    store.refresh(hotspot.hotspot_id, {"notified_at": now.isoformat()}, LIVE)
    return 1


# --- staff: list, show, change -----------------------------------------------------------------------------------


def visible(principal: Principal, hotspot: Hotspot) -> bool:
    if principal.role in COUNTY_WIDE_ROLES:
        return True
    if principal.role in DEPARTMENT_ROLES:
        return hotspot.department is not None and hotspot.department == principal.department
    return principal.role == Role.media and hotspot.status == "tracking"


def view(settings: Settings, principal: Principal, hotspot: Hotspot) -> dict[str, Any]:
    """The hotspot as the caller may see it, with its status name and rise."""
    shown = hotspot.model_dump(mode="json", exclude={"cluster_key", "generation"})
    shown.update(status_name=STATUS_NAMES[hotspot.status], rise=hotspot.rise)
    if principal.role in DEPARTMENT_ROLES and hotspot.kind == "unit":
        # A unit's complaints can be routed to other departments too: a department sees only its own cases.
        store = CaseStore(settings)
        shown["cases"] = [
            number
            for number in hotspot.cases
            if (case := store.get(number)) and case.department == principal.department
        ]
    if principal.role == Role.media:
        # The media follow the issue, not the cases: no tracking numbers, no internal notes.
        for name in ("cases", "history", "notified_at"):
            shown.pop(name)
    return shown


class HotspotQuery(BaseModel):
    """The query parameters of GET /reports/hotspots."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: HotspotStatus | None = None
    kind: Kind | None = None
    window: int | None = Field(default=None, ge=1, le=366)
    department: str | None = Field(default=None, max_length=20)
    limit: int = Field(default=100, ge=1, le=500)


def list_hotspots(settings: Settings, principal: Principal, params: Mapping[str, str]) -> dict[str, Any]:
    """The hotspots the caller may see, ranked."""
    try:
        query = HotspotQuery.model_validate(dict(params))
    except ValidationError as error:
        raise from_validation_error(error) from None
    statuses: tuple[HotspotStatus, ...] = ("tracking",) if principal.role == Role.media else STATUSES
    if query.status is not None:
        statuses = tuple(status for status in statuses if status == query.status)
    store = HotspotStore(settings)
    one_by_one = (item for status in statuses for item in store.by_status(status))
    listed = store.listed() if statuses == STATUSES else list(one_by_one)
    found = [Hotspot.model_validate(item) for item in listed]
    chosen = [
        item
        for item in found
        if visible(principal, item)
        and query.kind in (None, item.kind)
        and query.window in (None, item.window_days)
        and query.department in (None, item.department)
    ]
    return {"items": [view(settings, principal, item) for item in rank(chosen)[: query.limit]]}


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "未找到该热点")


def _load(settings: Settings, principal: Principal, hotspot_id: str) -> Hotspot:
    # Ids are ASCII (`7d-<hex>-1`); anything else cannot be one. Hidden hotspots are not found, not forbidden.
    values = HotspotStore(settings).get(hotspot_id) if hotspot_id.isascii() and len(hotspot_id) <= 64 else None
    hotspot = Hotspot.model_validate(values) if values else None
    if hotspot is None or not visible(principal, hotspot):
        raise _not_found()
    return hotspot


def get_hotspot(settings: Settings, principal: Principal, hotspot_id: str) -> dict[str, Any]:
    return view(settings, principal, _load(settings, principal, hotspot_id))


Note = Annotated[str, Field(min_length=1, max_length=1000), AfterValidator(text.check_text)]


class StatusBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # The hotspot version the caller saw: a stale one is refused (409).
    version: StrictInt = Field(ge=1)
    status: HotspotStatus
    note: Note


def _conflict() -> ApiError:
    return ApiError(409, "version_conflict", "热点已被他人更新，请刷新后重试")


def change_status(
    settings: Settings, principal: Principal, hotspot_id: str, body: bytes, now: datetime | None = None
) -> dict[str, Any]:
    """The county legal office moves a hotspot on, with a note; 403 / 404 / 409 / 422 otherwise."""
    require_role(principal, *EDITORS)
    request = parse_model(StatusBody, body)
    hotspot = _load(settings, principal, hotspot_id)
    if request.version != hotspot.version:  # a stale view wins over the state, as for cases
        raise _conflict()
    if request.status not in TRANSITIONS[hotspot.status]:
        message = f"热点{STATUS_NAMES[hotspot.status]}，不能改为{STATUS_NAMES[request.status]}"
        raise ApiError(
            409, "invalid_transition", message, [FieldError(field="status", code="invalid", message=message)]
        )
    now = now or datetime.now(UTC)
    entry = HistoryEntry(
        at=now,
        actor=principal.subject,
        **principal.audit_details(),
        from_status=hotspot.status,
        to_status=request.status,
        note=request.note,
    )
    values: dict[str, Any] = {"status": request.status, "updated_at": now.isoformat()}
    if request.status in ("tracking", "resolved"):
        values[f"{request.status}_at"] = now.isoformat()
    opened_at = to_jsonable_python(hotspot.opened_at)
    if not HotspotStore(settings).change(hotspot_id, opened_at, hotspot.version, values, entry.model_dump(mode="json")):
        raise _conflict()
    logger.info("hotspot changed", extra={"hotspot_id": hotspot_id, "status": request.status})
    return get_hotspot(settings, principal, hotspot_id)


def move_listing(settings: Settings) -> int:
    """Once, after upgrading from one gsi2 partition per status (`HOTSPOTS#<status>`) to the one listing partition
    that reports, detection and the list read: every hotspot listed there again. Index Queries, never a Scan;
    how many moved (none on a second run)."""
    return HotspotStore(settings).move_listing(STATUSES)


# --- reports ------------------------------------------------------------------------------------------------------


def summaries(settings: Settings, start: date, end: date, department: str | None = None) -> list[HotspotSummary]:
    """The hotspots open at some time during the county days `start`..`end` (of one department), ranked."""
    zone = reference_data.county_timezone()
    period_start = datetime.combine(start, time(0), tzinfo=zone)
    period_end = datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone)
    before = to_jsonable_python(period_end.astimezone(UTC))
    store = HotspotStore(settings)
    found = [Hotspot.model_validate(item) for item in store.listed(before)]
    chosen = [
        item
        for item in found
        if (item.resolved_at is None or item.resolved_at >= period_start) and department in (None, item.department)
    ]
    return [item.summary() for item in rank(chosen)]
