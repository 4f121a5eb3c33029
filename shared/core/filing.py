"""Filing a complaint, whatever brought it: the raw payload archived first, the request checked, the case stored
with its first audit event and its complainant apart, once per idempotency key, and queued for routing; what
cannot be filed goes on the quarantine list with a 4xx answer.

Used by every intake channel (shared/intake/: JSON, web form, SMS, mail) and by operator entry in the routing
service (shared/routing/operator_entry.py), which files what staff take down from the hotline, letters and visits.
"""

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from shared.core import identity, objects, quarantine, queues, ratelimit, reference_data, text, uploads
from shared.core.dal.cases import CaseStore
from shared.core.dal.idempotency import IdempotencyStore
from shared.core.dal.items import ConditionFailed
from shared.core.errors import ApiError, FieldError, from_validation_error
from shared.core.messages import Envelope, MessageType
from shared.core.models import AuditEvent, Case, CaseKind, Channel, Complainant
from shared.core.observability import count, logger
from shared.core.settings import Settings

TRACKING_ATTEMPTS = 5
# The key of a complaint.received message's data that carries a notify-queue message (Guarded.notice).
CARRIED_NOTICE = "notice"
# Where the idempotency answer stands among the writes of a new case (shared/core/dal/cases.py CaseStore.create).
ANSWER_POSITION = 0


class ComplainantIn(Complainant):
    """The complainant as submitted: each field given is checked."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)

    @field_validator("name", "organization")
    @classmethod
    def _names(cls, value: str | None) -> str | None:
        return text.check_name(value) if value is not None else None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value and not identity.is_valid_phone(value):
            raise PydanticCustomError("invalid_phone", "电话号码格式不正确，请填写11位手机号或带区号的固定电话")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value and not identity.is_valid_email(value):
            raise PydanticCustomError("invalid_email", "电子邮箱格式不正确")
        return value

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str | None) -> str | None:
        if value and not identity.is_valid_id_number(value):
            raise PydanticCustomError("invalid_id_number", "身份证号码校验不通过，请核对")
        return value.upper() if value else value

    @field_validator("credit_code")
    @classmethod
    def _credit_code(cls, value: str | None) -> str | None:
        if value and not identity.is_valid_credit_code(value):
            raise PydanticCustomError("invalid_credit_code", "统一社会信用代码校验不通过，请核对")
        return value.upper() if value else value

    @model_validator(mode="after")
    def _notify_by_given_contact(self) -> "ComplainantIn":
        # Notices can go only where the complainant can be reached: SMS to a mobile, mail to an address.
        if "sms" in (self.notify_by or []) and not (self.phone and identity.is_mobile(self.phone)):
            raise PydanticCustomError("invalid_notify_by", "选择短信通知时请填写手机号码")
        if "email" in (self.notify_by or []) and not self.email:
            raise PydanticCustomError("invalid_notify_by", "选择邮件通知时请填写电子邮箱")
        return self


class ComplaintRequest(BaseModel):
    """The body of POST /complaints."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)

    # 投诉 or 咨询; left out, routing tells them apart (shared/routing/questions.py).
    kind: Literal["complaint", "question"] | None = None
    description: str = Field(min_length=1, max_length=5_000)
    respondent: str | None = Field(default=None, max_length=200)
    incident_at: str | None = Field(default=None, max_length=100)
    location: str | None = Field(default=None, max_length=200)
    complainant: ComplainantIn | None = None
    anonymous: bool = False
    # Keys of files uploaded through POST /uploads (shared/core/uploads.py), checked and claimed when stored.
    attachments: list[str] = Field(default_factory=list)

    @field_validator("description", "respondent", "incident_at", "location")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return text.check_text(value) if value is not None else None

    @model_validator(mode="after")
    def _anonymous_has_no_identity(self) -> "ComplaintRequest":
        if self.anonymous and self.complainant and self.complainant.model_dump(exclude_none=True):
            raise PydanticCustomError("invalid_anonymous", "选择匿名投诉时请不要填写个人信息")
        return self


Request = TypeVar("Request", bound=ComplaintRequest)


class Receipt(BaseModel):
    """What the complainant gets back: keep both numbers to check progress."""

    tracking_no: str
    verification_code: str
    status: str
    received_at: datetime
    # What was filed: a complaint, or a question when the sender said so (routing decides when they did not).
    kind: CaseKind = CaseKind.complaint


class Answer(BaseModel):
    status: int
    body: dict
    replayed: bool = False


def archive_raw(settings: Settings, channel: Channel, body: bytes, content_type: str, now: datetime) -> str:
    """Keep exactly what was sent, before anything else looks at it."""
    key = f"raw/{channel}/{now:%Y/%m/%d}/{uuid.uuid4()}"
    objects.put(settings.raw_bucket, key, body, content_type or "application/octet-stream")
    return key


def parse_request(body: bytes, model: type[Request]) -> Request:
    """The body as `model` (the complaint request, or one that extends it), or a 400 / 422."""
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        if any(item["type"] == "json_invalid" for item in error.errors()):
            raise ApiError(400, "malformed_json", "提交的内容不是有效的 JSON，请检查后重新提交") from error
        if any(item["type"] == "model_type" and not item["loc"] for item in error.errors()):
            raise ApiError(400, "body_not_object", "提交的内容应为 JSON 对象") from error
        raise from_validation_error(error) from error


def verification_hash(tracking_no: str, code: str) -> str:
    return hashlib.sha256(f"{tracking_no}:{code}".encode()).hexdigest()


def new_tracking_no(settings: Settings, now: datetime) -> str:
    # Digits only, so it can be read out on the phone and typed on a keypad.
    local = now.astimezone(reference_data.county_timezone())
    return f"{settings.tracking_prefix}{local:%y%m%d}{secrets.randbelow(10**6):06d}"


class ComplaintDraft(BaseModel):
    """A complaint as any channel hands it over: checked already, not yet stored."""

    channel: Channel
    raw_key: str
    received_at: datetime
    # What the sender said it is; None when they did not say (SMS, mail): routing decides.
    kind: CaseKind | None = None
    description: str
    respondent: str | None = None
    incident_at: str | None = None
    location: str | None = None
    anonymous: bool = False
    complainant: Complainant | None = None
    # Final S3 keys of files that came with it (attachments/...), never quarantine keys.
    attachments: list[str] = Field(default_factory=list)
    # The staff member who recorded it (operator entry); None when the complainant sent it themselves.
    entered_by: str | None = None
    sender_unverified: bool = False
    # What it was filed from, e.g. a survey answer `survey:<id>/<number>` (Case.source_ref).
    source_ref: str | None = None

    # Whatever the channel (a mail's subject and sender name, an SMS, a form), control characters are not stored:
    # they hide text from staff and would let a leading "=" slip past the spreadsheet checks.
    @field_validator("description", "respondent", "incident_at", "location")
    @classmethod
    def _without_controls(cls, value: str | None) -> str | None:
        return text.without_controls(value) if value is not None else None

    @field_validator("complainant")
    @classmethod
    def _names_without_controls(cls, value: Complainant | None) -> Complainant | None:
        if value is None:
            return None
        names = {"name": value.name, "organization": value.organization}
        return value.model_copy(update={k: text.without_controls(v) for k, v in names.items() if v is not None})


def draft_from_request(request: ComplaintRequest, channel: Channel, raw_key: str, now: datetime) -> ComplaintDraft:
    complainant = Complainant.model_validate(request.complainant.model_dump()) if request.complainant else None
    return ComplaintDraft(
        channel=channel,
        raw_key=raw_key,
        received_at=now,
        kind=CaseKind(request.kind) if request.kind else None,
        description=request.description,
        respondent=request.respondent,
        incident_at=request.incident_at,
        location=request.location,
        anonymous=request.anonymous,
        complainant=complainant,
    )


@dataclass
class Once:
    """This attempt's claim on an idempotency key. The answer is stored in the same transaction as the complaint
    (`create_complaint`) or the change (`answer_write`), so that a retry after a crash gets the tracking number
    back instead of filing the complaint twice; `body_of` turns the receipt into the answer stored."""

    store: IdempotencyStore
    key: str
    token: str
    status: int
    body_of: Callable[["Receipt"], dict] = lambda receipt: receipt.model_dump(mode="json")
    answered: bool = False

    def answer_write(self, body: dict) -> dict:
        self.answered = True
        return self.store.answer_write(self.key, self.token, self.status, body)


@dataclass
class Guarded:
    """A complaint stored only if further conditions hold, in its own transaction (an SMS filed in one go,
    shared/intake/sms_inbound.py): `writes` (made from the receipt) with their conditions, and `sms_since`, a
    time after which the contact's newest case must not have come by SMS."""

    writes: Callable[["Receipt"], list[dict]]
    sms_since: datetime | None = None
    # A message for the notify queue (the SMS reply to the sender) that rides in the complaint.received message:
    # routing queues it before it routes the case (shared/routing/router.py), so that filing costs one enqueue.
    # The enqueue's failure is then raised, not left to the sweeper (which knows nothing of the reply).
    notice: Callable[["Receipt"], Envelope] | None = None


def create_with_uploads(
    settings: Settings,
    draft: ComplaintDraft,
    upload_keys: list[str],
    once: Once | None = None,
    admission: ratelimit.Admission | None = None,
) -> Receipt:
    """Claim the uploaded files (checked, copied to attachments/) and store the complaint naming them."""
    if not upload_keys:
        return create_complaint(settings, draft, once, admission=admission)
    attachments = uploads.claim(settings, upload_keys, raw_ref(draft.raw_key))
    receipt = create_complaint(
        settings, draft.model_copy(update={"attachments": attachments}), once, admission=admission
    )
    uploads.discard(settings, upload_keys)
    return receipt


def reject(
    settings: Settings,
    channel: Channel,
    raw_key: str,
    error: ApiError,
    now: datetime,
    admission: ratelimit.Admission | None = None,
) -> Answer:
    """Answer a payload that cannot become a complaint, and keep it on the quarantine list for staff (with the
    sender's counters of `admission`: OverLimit, nothing kept, at a limit)."""
    quarantine.add(settings, channel, raw_key, error, now, admission)
    logger.info("complaint rejected", extra={"code": error.code, "raw_key": raw_key})
    count("ComplaintsQuarantined", channel=str(channel))
    return Answer(status=error.status, body=error.body(raw_ref=raw_ref(raw_key)))


Filed = TypeVar("Filed")


def refusing_over_limit(settings: Settings, raw_key: str, file: Callable[[], Filed]) -> Filed:
    """What `file` gives for a request archived under `raw_key`; a 429 instead, with the archived payload deleted,
    when a counter of the request's admission was at its limit (ratelimit.OverLimit: nothing else of it stored), so
    that a flood costs our storage nothing."""
    try:
        return file()
    except ratelimit.OverLimit as over:
        objects.delete(settings.raw_bucket, raw_key)
        raise over.refusal() from None


def raw_ref(raw_key: str) -> str:
    """The reference a caller gets for what it sent: the last part of the archived object's key."""
    return raw_key.rsplit("/", 1)[-1]


def check_idempotency_key(key: str) -> None:
    if not 1 <= len(key) <= 200 or not key.isprintable():
        raise ApiError(
            400,
            "invalid_idempotency_key",
            "Idempotency-Key 请求头应为 1 到 200 个可见字符",
            [FieldError(field="Idempotency-Key", code="invalid", message="格式不正确")],
        )


def run_once(
    settings: Settings,
    key: str,
    fingerprint: str,
    now: datetime,
    produce: Callable[[Once], dict],
    status: int = 201,
) -> Answer:
    """Produce an answer once per key: a retry gets the first answer back; another request under the key is refused
    while it is being answered, and takes the key over once that attempt's lease has run out (it died).

    Keys: `intake:<Idempotency-Key>` for the JSON API, `<channel>:<provider message id>` for SMS and mail.
    """
    store = IdempotencyStore(settings)
    once = Once(store, key, uuid.uuid4().hex, status)
    previous = store.claim(key, fingerprint, now, settings.delivery_lease_seconds, once.token)
    if previous is not None:
        if previous.get("fingerprint") != fingerprint:
            raise ApiError(422, "idempotency_key_reused", "同一个 Idempotency-Key 已用于内容不同的投诉")
        if previous.get("state") != "complete":
            raise key_in_progress()
        return Answer(status=int(previous["response_status"]), body=previous["response_body"], replayed=True)
    try:
        body = produce(once)
    except Exception:
        store.release(key, once.token)
        raise
    if not once.answered:
        try:
            store.complete(key, once.token, status, body)
        except ConditionFailed:
            raise key_in_progress() from None  # taken over by a retry while this attempt ran past its lease
    return Answer(status=status, body=body)


def key_in_progress() -> ApiError:
    return ApiError(409, "request_in_progress", "相同的投诉正在提交中，请稍后再查询")


def create_complaint(
    settings: Settings,
    draft: ComplaintDraft,
    once: Once | None = None,
    guarded: Guarded | None = None,
    admission: ratelimit.Admission | None = None,
) -> Receipt:
    """Store a complaint with its first audit event (and the answer of its idempotency key, `once`, the writes of
    `guarded` and the sender's counters of `admission`), and queue it for routing. With nothing stored:
    ConditionFailed when a condition of `guarded` fails, ratelimit.OverLimit at a counter's limit."""
    store = CaseStore(settings)
    complainant = draft.complainant
    has_complainant = bool(complainant and complainant.model_dump(exclude_none=True))
    contact = complainant.contact_key() if complainant else None
    contact_hash = identity.contact_hash(contact, settings.contact_hash_key) if contact else None
    code = f"{secrets.randbelow(10**6):06d}"
    for _ in range(TRACKING_ATTEMPTS):
        tracking_no = new_tracking_no(settings, draft.received_at)
        case = Case(
            tracking_no=tracking_no,
            channel=draft.channel,
            received_at=draft.received_at,
            kind=draft.kind or CaseKind.complaint,
            kind_set_by=(draft.entered_by or "complainant") if draft.kind else None,
            entered_by=draft.entered_by,
            sender_unverified=draft.sender_unverified,
            source_ref=draft.source_ref,
            description=draft.description,
            respondent=draft.respondent,
            incident_at=draft.incident_at,
            location=draft.location,
            anonymous=draft.anonymous or not has_complainant,
            has_complainant=has_complainant,
            raw_key=draft.raw_key,
            attachments=draft.attachments,
            verification_hash=verification_hash(tracking_no, code),
        )
        event = AuditEvent(
            tracking_no=tracking_no,
            version=1,
            at=draft.received_at,
            actor=draft.entered_by or f"channel:{draft.channel}",
            action="receive",
            to_status=case.status,
            details={"raw_key": draft.raw_key},
        )
        receipt = Receipt(
            tracking_no=tracking_no,
            verification_code=code,
            status=case.status,
            received_at=draft.received_at,
            kind=case.kind,
        )
        answer = [once.answer_write(once.body_of(receipt))] if once else []
        counters = admission.pending() if admission else []
        try:
            store.create(
                case,
                complainant if has_complainant else None,
                event,
                contact_hash,
                [*answer, *counters],
                sms_since=guarded.sms_since if guarded else None,
                extra=guarded.writes(receipt) if guarded else None,
            )
            break
        except ConditionFailed as failed:
            if answer and ANSWER_POSITION in failed.failed:
                raise key_in_progress() from None  # taken over by a retry while this attempt ran past its lease
            if admission and (over := admission.over(failed.failed, len(answer))):
                raise over from None
            if guarded and len(answer) + len(counters) not in failed.failed:
                raise  # a condition of `guarded`: nothing stored, the caller decides
            continue  # tracking number already taken today: draw another
    else:
        raise RuntimeError("no free tracking number after several draws")
    if admission:
        admission.written()
    data: dict = {"tracking_no": tracking_no}
    notice = guarded.notice(receipt) if guarded and guarded.notice else None
    if notice is not None:
        data[CARRIED_NOTICE] = notice.model_dump(mode="json")
    try:
        queues.send(settings.intake_queue, Envelope(type=MessageType.complaint_received, data=data))
    except Exception:
        if notice is not None:
            raise  # the caller fails, and its sender's retry asks for the notice again; the sweeper routes the case
        # Stored but not queued: the sweeper in remind_deadlines queues it again, so answer success.
        logger.exception("enqueue failed; the sweeper will retry", extra={"tracking_no": tracking_no})
    logger.info("complaint received", extra={"tracking_no": tracking_no, "channel": str(draft.channel)})
    count("ComplaintsReceived", channel=str(draft.channel))
    return receipt
