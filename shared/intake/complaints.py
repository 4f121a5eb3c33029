"""The public complaint API: a JSON submission filed (shared/core/filing.py) under the per-address and per-phone
rate limits, and the progress of a complaint for whoever holds its tracking number and verification code.
"""

import hashlib
import hmac
from datetime import UTC, datetime

from shared.core import ratelimit, reference_data
from shared.core.dal.cases import CaseStore
from shared.core.errors import ApiError, check_json_body
from shared.core.filing import (
    Answer,
    ComplaintRequest,
    Once,
    archive_raw,
    check_idempotency_key,
    create_with_uploads,
    draft_from_request,
    parse_request,
    refusing_over_limit,
    reject,
    run_once,
    verification_hash,
)
from shared.core.models import Case, Channel, status_name
from shared.core.settings import Settings


def submit_complaint(
    settings: Settings,
    body: bytes,
    content_type: str,
    idempotency_key: str | None,
    client_ip: str = "unknown",
    now: datetime | None = None,
    channel: Channel = Channel.web,
) -> Answer:
    """The JSON API: the size check, archive, check, store once (with the sender's rate-limit counters), answer."""
    now = now or datetime.now(UTC)
    admission = ratelimit.admission(settings, "submit-ip", client_ip, settings.submissions_per_ip_per_hour, body, now)
    raw_key = archive_raw(settings, channel, body, content_type, now)

    def file() -> Answer:
        try:
            check_json_body(settings, body, content_type)
            request = parse_request(body, ComplaintRequest)
            fingerprint = hashlib.sha256(body).hexdigest()
            return accept(settings, request, channel, raw_key, now, idempotency_key, fingerprint, admission)
        except ApiError as error:
            return reject(settings, channel, raw_key, error, now, admission)

    return refusing_over_limit(settings, raw_key, file)


def accept(
    settings: Settings,
    request: ComplaintRequest,
    channel: Channel,
    raw_key: str,
    now: datetime,
    idempotency_key: str | None,
    fingerprint: str,
    admission: ratelimit.Admission,
) -> Answer:
    """Store a checked request (JSON API or web form), once per idempotency key, with its uploaded files and the
    sender's counters of `admission`, the complainant's phone number's among them; ratelimit.OverLimit, nothing
    stored, at a counter's limit."""
    draft = draft_from_request(request, channel, raw_key, now)
    if draft.complainant and draft.complainant.phone:
        admission.add_number(settings, draft.complainant.phone, settings.submissions_per_phone_per_hour, now)

    def produce(once: Once | None = None) -> dict:
        receipt = create_with_uploads(settings, draft, request.attachments, once, admission)
        return receipt.model_dump(mode="json")

    if idempotency_key is None:
        return Answer(status=201, body=produce())
    check_idempotency_key(idempotency_key)
    return run_once(settings, f"intake:{idempotency_key}", fingerprint, now, produce)


def complaint_status(
    settings: Settings, tracking_no: str, code: str | None, client_ip: str = "unknown", now: datetime | None = None
) -> dict:
    """What a complainant may see: progress, never personal data."""
    now = now or datetime.now(UTC)
    case = verified_case(settings, tracking_no, code, client_ip, now)
    category = reference_data.category(case.category) if case.category else None
    department = reference_data.department(case.department) if case.department else None
    answered = {"answer": case.answer, "answered_at": _local(case.answered_at)} if case.answered_at else {}
    return {
        "tracking_no": case.tracking_no,
        "kind": case.kind,
        "status": case.status,
        "status_name": status_name(case),
        "category": {"code": category.code, "name": category.name} if category else None,
        "department": {"code": department.code, "name": department.name} if department else None,
        # Same instants as stored, written in the county's time zone because people read them.
        "received_at": _local(case.received_at),
        "acceptance_due_at": _local(case.acceptance_due_at) if case.acceptance_due_at else None,
        # The deadline running now, if any: acceptance, reply or review_reply.
        "due_at": _local(case.due_at) if case.due_at else None,
        "due_kind": case.due_kind,
        # A question's answer, once given (workflow action `answer`).
        **answered,
    }


def verified_case(settings: Settings, tracking_no: str, code: str | None, client_ip: str, now: datetime) -> Case:
    """The case whose tracking number and verification code the caller holds (the status lookup, the call-back
    answer). Unknown and wrong code look the same, and wrong codes for one number are limited, so that lookups
    cannot be used to guess."""
    ratelimit.enforce(settings, "lookup-ip", client_ip, settings.lookups_per_ip_per_hour, 3600, now)
    case = CaseStore(settings).get(tracking_no) if tracking_no.isascii() and len(tracking_no) <= 40 else None
    if (
        case is None
        or not code
        or not hmac.compare_digest(case.verification_hash, verification_hash(tracking_no, code))
    ):
        limit = settings.failed_lookups_per_number_per_hour
        ratelimit.enforce(settings, "lookup-fail", tracking_no[:40], limit, 3600, now)
        raise ApiError(404, "not_found", "未找到该投诉，请核对投诉编号和查询码")
    return case


def _local(moment: datetime) -> str:
    return moment.astimezone(reference_data.county_timezone()).isoformat()
