"""The quarantine list: inbound payloads that could not become complaints, with the reason.

Nothing a complainant sends is dropped: the raw payload is archived first, and when it cannot be parsed or
validated its reference lands here, so staff can read it and turn it into a complaint by hand.
"""

import re
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from shared.core import objects, ratelimit, reference_data
from shared.core.dal.items import ConditionFailed
from shared.core.dal.quarantine import QuarantineStore
from shared.core.errors import ApiError, FieldError
from shared.core.models import Channel
from shared.core.roles import Principal, Role, require_role
from shared.core.settings import Settings

# The county legal office files quarantined payloads by hand; the auditor reads the list, not the payloads
# (they hold personal data unmasked).
READERS = (Role.county_admin, Role.auditor)
RAW_READERS = (Role.county_admin,)
MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
# Entries per page of the list: a flood of bad input must not make one page unbounded.
PAGE_SIZE = 50


class QuarantineEntry(BaseModel):
    channel: Channel
    received_at: datetime
    raw_key: str
    code: str
    message: str
    fields: list[FieldError]
    # The complaint a replay filed after the fix (shared/intake/replay.py).
    replayed_as: str | None = None


def add(
    settings: Settings,
    channel: Channel,
    raw_key: str,
    error: ApiError,
    now: datetime,
    admission: ratelimit.Admission | None = None,
) -> None:
    """An entry for the payload, written with the sender's counters of `admission`; ratelimit.OverLimit, nothing
    written, at a counter's limit."""
    entry = QuarantineEntry(
        channel=channel, received_at=now, raw_key=raw_key, code=error.code, message=error.message, fields=error.fields
    )
    counters = admission.pending() if admission else []
    try:
        QuarantineStore(settings).add(now, raw_key.rsplit("/", 1)[-1], entry.model_dump(mode="json"), counters)
    except ConditionFailed as failed:
        over = admission.over(failed.failed, 1) if admission else None
        if over is None:
            raise
        raise over from None
    if admission:
        admission.written()


def mark_replayed(settings: Settings, entry: QuarantineEntry, tracking_no: str) -> None:
    QuarantineStore(settings).mark_replayed(entry.received_at, entry.raw_key.rsplit("/", 1)[-1], tracking_no)


def month(settings: Settings, month: str) -> list[QuarantineEntry]:
    """Entries of one month (`yyyy-mm`), oldest first."""
    return [QuarantineEntry.model_validate(item) for item in QuarantineStore(settings).month(month)]


class ListedEntry(BaseModel):
    """An entry as staff see it: the raw payload by its reference, and a short-lived link to it if allowed."""

    channel: Channel
    received_at: datetime
    raw_ref: str
    code: str
    message: str
    fields: list[FieldError]
    raw_url: str | None


def _month_start(month: str) -> datetime:
    found = MONTH.fullmatch(month)
    if found is None:
        message = "月份应写成 2026-05 这样的“年-月”"
        raise ApiError(400, "invalid_month", message, [FieldError(field="month", code="invalid", message=message)])
    return datetime(int(found.group(1)), int(found.group(2)), 1, tzinfo=reference_data.county_timezone())


def _next_month(start: datetime) -> datetime:
    return (start + timedelta(days=32)).replace(day=1)


def listing(
    settings: Settings,
    principal: Principal,
    chosen: str | None = None,
    now: datetime | None = None,
    after: str = "",
) -> dict:
    """One page of a month of the list in the county's time (default: this month), oldest first, from after the
    cursor `after`; with the cursor of the next page (None on the last) and the months before and after it."""
    require_role(principal, *READERS)
    zone = reference_data.county_timezone()
    today = (now or datetime.now(UTC)).astimezone(zone)
    start = _month_start(chosen or f"{today:%Y-%m}")
    end = _next_month(start)
    # Sort keys begin with the stored UTC time, so a cursor orders across shards; a county month spans the shards of
    # both its ends, and begins part-way into the first one.
    first = f"{start.astimezone(UTC).isoformat()}"
    cursor = max(after, first) if len(after) <= 200 else first
    shards = dict.fromkeys(f"{moment.astimezone(UTC):%Y-%m}" for moment in (start, end - timedelta(microseconds=1)))
    store, page_size = QuarantineStore(settings), PAGE_SIZE
    found = sorted(
        (key, QuarantineEntry.model_validate(values))
        for shard in shards
        for key, values in store.page(shard, cursor, page_size + 1)
    )
    found = [(key, entry) for key, entry in found if start <= entry.received_at < end]
    shown, more = found[:page_size], len(found) > page_size
    show_raw = principal.role in RAW_READERS
    items = [
        ListedEntry(
            channel=entry.channel,
            received_at=entry.received_at,
            raw_ref=entry.raw_key.rsplit("/", 1)[-1],
            code=entry.code,
            message=entry.message,
            fields=entry.fields,
            raw_url=objects.view_url(settings.raw_bucket, entry.raw_key, settings.quarantine_url_seconds)
            if show_raw
            else None,
        )
        for _, entry in shown
    ]
    return {
        "month": f"{start:%Y-%m}",
        "previous": f"{(start - timedelta(days=1)):%Y-%m}",
        "next": f"{end:%Y-%m}" if end <= today else None,
        "items": [item.model_dump(mode="json") for item in items],
        "next_page": shown[-1][0] if more else None,
    }
