"""Operator entry: staff record complaints that came by hotline, letter, visit, survey or enterprise forum,
case-file spot checks and undercover checks (inspection), and media reports (POST /cases, routing service).

Like every channel: past the cheap checks (the staff member's rate, the size; what fails them is counted and
logged, not stored) the raw body is archived first, checked with the intake models, stored by
filing.create_complaint and routed by the routing consumer. The case records who entered it; the answer carries
the tracking number and verification code for the operator to read out, and the complainant, when they gave a
contact, gets the acknowledgement notice (shared/routing/notifications.py).
"""

import hashlib
import json
from datetime import UTC, datetime, time, timedelta
from typing import Annotated

from pydantic import AwareDatetime, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from shared.core import errors, filing, ratelimit, reference_data
from shared.core.auth import Principal, Role
from shared.core.campaign import load_campaign
from shared.core.dal.cases import CaseStore
from shared.core.errors import ApiError, FieldError
from shared.core.models import Channel
from shared.core.roles import require_role
from shared.core.settings import Settings
from shared.routing import notifications

ENTRY_ROLES = (Role.county_admin, Role.dept_head, Role.dept_officer)
# The channels staff enter; web, SMS and email complaints come in by their own channels.
STAFF_CHANNELS = (Channel.hotline, Channel.letter, Channel.visit, Channel.survey, Channel.inspection, Channel.media)


class OperatorComplaintRequest(filing.ComplaintRequest):
    """The body of POST /cases: a complaint as the operator took it down, with how and when it came."""

    channel: Annotated[Channel, WithJsonSchema({"type": "string", "enum": [str(item) for item in STAFF_CHANNELS]})]
    # When the call came or the letter arrived; the time of entry if not given.
    received_at: AwareDatetime | None = None

    @field_validator("channel")
    @classmethod
    def _staff_channel(cls, value: Channel) -> Channel:
        if value not in STAFF_CHANNELS:
            raise PydanticCustomError("invalid_channel", "登记渠道应为热线、来信、来访、问卷座谈、检查或媒体之一")
        return value


def _check_received_at(settings: Settings, received_at: datetime, now: datetime) -> None:
    """Not in the future, not before the campaign, not longer ago than entries may be late: a back-dated entry
    would shift its deadlines and the campaign's figures."""
    opened = datetime.combine(load_campaign().phases[0].start, time(), tzinfo=reference_data.county_timezone())
    earliest = max(opened, now - timedelta(days=settings.operator_entry_max_days_back))
    if received_at > now:
        code, message = "in_future", "收到时间不能晚于当前时间"
    elif received_at < earliest:
        code = "too_early"
        message = f"收到时间不能早于活动开始或 {settings.operator_entry_max_days_back} 天以前"
    else:
        return
    raise ApiError(422, "validation_failed", message, [FieldError(field="received_at", code=code, message=message)])


def enter_complaint(
    settings: Settings,
    principal: Principal,
    body: bytes,
    content_type: str,
    idempotency_key: str | None,
    now: datetime | None = None,
) -> filing.Answer:
    """The cheap checks (the staff member's rate, the size: refused unstored), then archive, check, store (once per
    Idempotency-Key of this staff member), acknowledge; or reject."""
    now = now or datetime.now(UTC)
    require_role(principal, *ENTRY_ROLES)
    ratelimit.admit(settings, "entry-staff", principal.subject, settings.entries_per_staff_per_hour, body, now)
    channel = _named_channel(body)
    raw_key = filing.archive_raw(settings, channel, body, content_type, now)
    try:
        errors.check_json_body(settings, body, content_type)
        request = filing.parse_request(body, OperatorComplaintRequest)
        if request.received_at is not None:
            _check_received_at(settings, request.received_at, now)
        draft = filing.draft_from_request(request, request.channel, raw_key, request.received_at or now)
        draft = draft.model_copy(update={"entered_by": principal.subject})

        def produce(once: filing.Once | None = None) -> dict:
            receipt = filing.create_with_uploads(settings, draft, request.attachments, once)
            case = CaseStore(settings).get(receipt.tracking_no)
            if case is not None:
                notifications.request(settings, notifications.acknowledgement(case, receipt.verification_code))
            return receipt.model_dump(mode="json")

        if idempotency_key is None:
            return filing.Answer(status=201, body=produce())
        filing.check_idempotency_key(idempotency_key)
        fingerprint = hashlib.sha256(body).hexdigest()
        return filing.run_once(settings, f"entry:{principal.subject}:{idempotency_key}", fingerprint, now, produce)
    except ApiError as error:
        return filing.reject(settings, channel, raw_key, error, now)


def _named_channel(body: bytes) -> Channel:
    """The channel the body names, to file the raw body under before it is checked; hotline when it names none
    of the staff channels (the archived body keeps what was sent)."""
    try:
        named = json.loads(body).get("channel")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return Channel.hotline
    return Channel(named) if named in STAFF_CHANNELS else Channel.hotline
