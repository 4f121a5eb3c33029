"""SMS in: provider webhooks turned into complaints, follow-ups and progress queries, each answered by SMS.

A text that is only a rating (`1`, `2`, `3` or the words) from a number whose case awaits its call-back answer is
that answer (shared/intake/callbacks.py); any other text is a query, a follow-up or a complaint.

- Twilio posts a form (From, To, Body, MessageSid, ...) signed with X-Twilio-Signature: HMAC-SHA1 with the
  account's auth token over the URL Twilio called followed by the sorted parameters. That URL is the public one
  (`public_base_url`), not the one this function sees behind the gateway. The reply rides in the TwiML answer.
- Aliyun (SmsUp HTTP push) posts a JSON array of {phone_number, send_time, content, sign_name, dest_code,
  sequence_id} and expects {"code": 0, "msg": ...}; Tencent Cloud (reply callback) posts one JSON object
  {extend, mobile, nationcode, sign, text, time} and expects {"result": 0, "errmsg": "OK"}. Neither signs its
  push: the URL carries a secret token. Their replies go out through the notification sender: a new complaint's in
  its complaint.received message, which routing passes on to the notify queue first (one enqueue on the webhook's
  way, as for the JSON POST), any other under the same id straight to the notify queue.

Every payload is archived before it is read; what cannot be used is quarantined with a 4xx. A provider retry
of a message (same message id) gets the first answer back and creates nothing (filing.run_once).
"""

import base64
import hashlib
import hmac
import json
import math
import re
import unicodedata
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

# Escapes our TwiML output, parses nothing.
from xml.sax.saxutils import escape  # nosec B406

from pydantic import AfterValidator, BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from shared.core import filing, identity, notices, queues, ratelimit, reference_data, sms_text
from shared.core.callbacks import parse_rating
from shared.core.campaign import load_campaign
from shared.core.changes import change_case
from shared.core.dal.cases import CaseStore
from shared.core.dal.idempotency import IdempotencyStore, SeenStore
from shared.core.dal.items import ConditionFailed
from shared.core.errors import ApiError, FieldError, from_validation_error
from shared.core.identity import e164
from shared.core.messages import Envelope
from shared.core.models import Case, Channel, Complainant
from shared.core.observability import logger
from shared.core.settings import Settings
from shared.core.text import without_controls
from shared.intake import callbacks, complaints

SEGMENT_CHARS = 70  # one domestic SMS, signature included
PART_CHARS = 67  # each part of a longer one
TRANSITION_ATTEMPTS = 3
# Invisible characters that phones and copy-paste slip into text: dropped, they carry nothing.
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_PHONE = re.compile(r"\+?\d{5,20}")


class Provider(StrEnum):
    twilio = "twilio"
    aliyun = "aliyun"
    tencent = "tencent"


class SmsRules(BaseModel):
    query_keyword: str
    follow_up_minutes: int
    max_text_chars: int


@cache
def rules() -> SmsRules:
    return SmsRules.model_validate(reference_data.load_json("sms_inbound.json"))


def segments(text: str) -> int:
    """SMS a text takes as domestic providers count it: every character is one, signature included."""
    if len(text) <= SEGMENT_CHARS:
        return 1 if text else 0
    return math.ceil(len(text) / PART_CHARS)


def reply(kind: str, **values: str) -> sms_text.Sms:
    """An answer to a text: its kind in sms_templates.json (sms_receipt, sms_status, ...) and values."""
    return sms_text.Sms(kind=kind, values=values)


# --- what arrives -----------------------------------------------------------------------------------------------


def _clean_text(text: str) -> str:
    # Control characters are dropped, as from every channel (shared/core/text.py): a phone can put them there.
    text = without_controls(text.translate(_ZERO_WIDTH)).strip()
    if not text:
        raise PydanticCustomError("invalid_empty_text", "短信内容为空")
    if len(text) > rules().max_text_chars:
        raise PydanticCustomError("invalid_text_too_long", f"短信内容超过 {rules().max_text_chars} 字")
    return text


def _clean_phone(phone: str) -> str:
    """Mainland mobiles as 11 digits (how complaints by web are keyed too); any other number as given."""
    phone = phone.strip()
    if identity.is_mobile(phone):
        return identity.normalise_phone(phone)
    if not _PHONE.fullmatch(phone):
        raise PydanticCustomError("invalid_phone", "发送号码格式不正确")
    return phone


SmsText = Annotated[str, AfterValidator(_clean_text)]
Phone = Annotated[str, Field(min_length=1, max_length=30), AfterValidator(_clean_phone)]
MessageId = Annotated[str, Field(min_length=1, max_length=100)]


class InboundSms(BaseModel):
    """One text, whichever provider brought it."""

    provider: Provider
    message_id: str
    phone: str
    text: str


class TwilioMessage(BaseModel):
    """The parameters of Twilio's incoming-message webhook this service uses (it sends many more)."""

    message_sid: MessageId = Field(alias="MessageSid")
    phone: Phone = Field(alias="From")
    text: SmsText = Field(alias="Body")

    def inbound(self) -> InboundSms:
        return InboundSms(provider=Provider.twilio, message_id=self.message_sid, phone=self.phone, text=self.text)


class AliyunMessage(BaseModel):
    """One element of an Aliyun SmsUp push."""

    phone_number: Phone
    content: SmsText
    send_time: str | None = None
    sign_name: str | None = None
    dest_code: str | None = None
    # A number in older documents, a string in newer ones.
    sequence_id: int | MessageId

    def inbound(self) -> InboundSms:
        return InboundSms(
            provider=Provider.aliyun, message_id=str(self.sequence_id), phone=self.phone_number, text=self.content
        )


class TencentMessage(BaseModel):
    """Tencent Cloud's SMS reply callback. It has no message id: its content stands in for one."""

    mobile: str = Field(min_length=1, max_length=20)
    nationcode: str = Field(min_length=1, max_length=5)
    text: SmsText
    time: int
    sign: str | None = None
    extend: str | None = None

    @field_validator("nationcode")
    @classmethod
    def _digits(cls, value: str) -> str:
        if not value.isdigit():
            raise PydanticCustomError("invalid_nationcode", "国家码应为数字")
        return value

    @model_validator(mode="after")
    def _phone(self) -> "TencentMessage":
        self.phone()
        return self

    def phone(self) -> str:
        return _clean_phone(self.mobile if self.nationcode == "86" else f"+{self.nationcode}{self.mobile}")

    def inbound(self) -> InboundSms:
        phone = self.phone()
        digest = hashlib.sha256(f"{self.nationcode}:{self.mobile}:{self.time}:{self.text}".encode()).hexdigest()
        return InboundSms(provider=Provider.tencent, message_id=digest[:32], phone=phone, text=self.text)


# --- the webhook ------------------------------------------------------------------------------------------------


class WebhookAnswer(BaseModel):
    status: int
    body: str
    content_type: str


class Outcome(BaseModel):
    """What one text led to; kept by run_once, so that a provider retry gets the same reply."""

    kind: str  # complaint, supplement, query or callback
    tracking_no: str | None
    reply: sms_text.Sms


def receive(
    settings: Settings,
    provider: str,
    body: bytes,
    content_type: str,
    signature: str | None = None,
    token: str | None = None,
    now: datetime | None = None,
    client_ip: str = "unknown",
) -> WebhookAnswer:
    """The cheap checks (size, provider, token or signature: a failure is logged, never stored), then archive the
    push, read its texts, act on each once and answer as the provider expects. The push counts against its
    address's limit with its first write (`ratelimit.Admission`); over the limit, nothing of it is kept."""
    now = now or datetime.now(UTC)
    try:
        limit = settings.sms_pushes_per_ip_per_hour
        admission = ratelimit.admission(settings, "sms-ip", client_ip, limit, body, now)
    except ApiError as error:
        return _refused_answer(provider, error, error.body())
    try:
        if provider not in Provider.__members__:
            raise ApiError(404, "unknown_provider", "不支持的短信服务商")
        _authenticate(settings, Provider(provider), body, signature, token, now)
    except ApiError as error:
        refusal = _unauthenticated(admission, error)
        return _refused_answer(provider, refusal, refusal.body())
    raw_key = filing.archive_raw(settings, Channel.sms, body, content_type, now)
    try:
        return filing.refusing_over_limit(
            settings,
            raw_key,
            lambda: _receive(settings, Provider(provider), body, content_type, raw_key, now, admission),
        )
    except ApiError as error:  # over the address's limit: nothing of the push kept
        return _refused_answer(provider, error, error.body())


def _unauthenticated(admission: ratelimit.Admission, error: ApiError) -> ApiError:
    """A push that is not the provider's: counted against its address at once (so that guessing the token or
    signature is limited too), and refused unstored; with a 429 once the address is over its limit."""
    try:
        admission.count_apart()
    except ratelimit.OverLimit as over:
        error = over.refusal()
    else:
        ratelimit.refused("sms", error.code)
    return error


def _receive(
    settings: Settings,
    provider: Provider,
    body: bytes,
    content_type: str,
    raw_key: str,
    now: datetime,
    admission: ratelimit.Admission,
) -> WebhookAnswer:
    """An archived push from the provider: its texts read, each acted on once, the answer the provider expects."""
    try:
        messages = _read(provider, body, content_type)
    except ApiError as error:
        return _refused(settings, provider, raw_key, error, now, admission)
    done: list[tuple[InboundSms, Outcome]] = []
    queued: set[str] = set()  # message ids whose reply rode in the complaint's routing message
    problems: list[tuple[int, ApiError]] = []
    for index, message in enumerate(messages):
        try:
            if isinstance(message, ApiError):
                raise message
            filed = _file_at_once(settings, message, raw_key, now, admission)
            if filed is not None:
                done.append((message, filed))
                if message.provider != Provider.twilio:
                    queued.add(message.message_id)
                continue
            admission.count_apart()
            if _replayed_late(settings, message, now):
                # The same provider message after its answer was forgotten (a captured request sent again):
                # acknowledged, never acted on a second time.
                ratelimit.refused("sms-replay", "replayed")
                continue
            limit = settings.sms_texts_per_number_per_hour
            if not ratelimit.allow_number(settings, message.phone, ratelimit.NumberCounter.texts, limit, now):
                # A flood from one number: acknowledged (a retry would only repeat it), neither acted on nor answered.
                ratelimit.refused("sms-number", "too_many_requests")
                continue
            done.append((message, _act_once(settings, message, raw_key, now)))
        except ApiError as error:
            problems.append((index, error))
    if problems:
        problem = _combined(problems, indexed=provider == Provider.aliyun)
        if not done:
            return _refused(settings, provider, raw_key, problem, now, admission)
        # Part of a push was usable: acknowledge it (a retry would not help the rest), keep the rest for staff.
        filing.reject(settings, Channel.sms, raw_key, problem, now, admission)
    _queue_replies(settings, provider, [(m, o) for m, o in done if m.message_id not in queued])
    return _acknowledged(provider, [outcome for _, outcome in done])


def _authenticate(
    settings: Settings, provider: Provider, body: bytes, signature: str | None, token: str | None, now: datetime
) -> None:
    """The push comes from the provider: Aliyun's and Tencent's carry our token, Twilio's its signature; a Tencent
    callback is also recent (its token is in the URL: a captured callback must not be good for ever)."""
    if provider != Provider.twilio:
        if not hmac.compare_digest((token or "").encode(), settings.sms_webhook_token.encode()):
            raise ApiError(403, "invalid_token", "访问令牌不正确")
        if provider == Provider.tencent:
            try:
                sent = json.loads(body).get("time")
            except (ValueError, AttributeError):
                return  # not a callback at all: read and quarantined as such
            if isinstance(sent, int) and abs(now.timestamp() - sent) > settings.sms_callback_window_seconds:
                raise ApiError(403, "stale_callback", "回调时间超出允许范围")
        return
    try:
        params = _form(body)
    except ApiError:
        params = {}
    if not valid_twilio_signature(settings.twilio_auth_token, twilio_url(settings), params, signature or ""):
        raise ApiError(403, "invalid_signature", "X-Twilio-Signature 签名校验不通过")


def _read(provider: Provider, body: bytes, content_type: str) -> list[InboundSms | ApiError]:
    """The texts of a genuine push, each checked apart; ApiError for a push that cannot be read."""
    expected = "application/x-www-form-urlencoded" if provider == Provider.twilio else "application/json"
    if content_type.split(";", 1)[0].strip().lower() != expected:
        raise ApiError(415, "unsupported_media_type", f"请以 {expected} 格式提交")
    if provider == Provider.twilio:
        params = _form(body)
        # Twilio sends each parameter once; a repeated one is not Twilio's and fails the checks below.
        fields = {name: values[0] if len(values) == 1 else values for name, values in params.items()}
        return [_checked(TwilioMessage, fields)]
    document = _json(body)
    if provider == Provider.tencent:
        if not isinstance(document, dict):
            raise ApiError(400, "body_not_object", "提交的内容应为 JSON 对象")
        return [_checked(TencentMessage, document)]
    if not isinstance(document, list) or not document:
        raise ApiError(400, "body_not_array", "提交的内容应为非空的 JSON 数组")
    return [_checked(AliyunMessage, item) for item in document]


def _checked(model: type[TwilioMessage | AliyunMessage | TencentMessage], values: Any) -> InboundSms | ApiError:
    try:
        return model.model_validate(values).inbound()
    except ValidationError as error:
        return from_validation_error(error)


def _form(body: bytes) -> dict[str, list[str]]:
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True, errors="strict")
    except ValueError as error:  # UnicodeDecodeError is one too
        raise ApiError(400, "malformed_form", "提交的内容不是有效的表单数据") from error


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except ValueError as error:
        raise ApiError(400, "malformed_json", "提交的内容不是有效的 JSON") from error


def twilio_url(settings: Settings) -> str:
    """The webhook URL to enter in Twilio's console, and the one its signatures cover."""
    return f"{settings.public_base_url.rstrip('/')}/sms/{Provider.twilio}"


def twilio_signature(token: str, url: str, params: dict[str, list[str]]) -> str:
    """Twilio's signature: the URL, then each parameter name followed by its value, names in sorted order."""
    payload = url + "".join(name + value for name in sorted(params) for value in sorted(set(params[name])))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def valid_twilio_signature(token: str, url: str, params: dict[str, list[str]], signature: str) -> bool:
    # Twilio does not always sign with the port as configured: its own validators accept both forms.
    parts = urlsplit(url)
    host = parts.netloc.rsplit(":", 1)[0] if parts.port else f"{parts.netloc}:{443 if parts.scheme == 'https' else 80}"
    candidates = (url, parts._replace(netloc=host).geturl())
    return any(
        hmac.compare_digest(twilio_signature(token, candidate, params).encode(), signature.encode())
        for candidate in candidates
    )


# --- what a text leads to ---------------------------------------------------------------------------------------


def _seen_key(message: InboundSms) -> str:
    return f"sms-seen:{message.provider}:{message.message_id}"


def _seen_until(now: datetime) -> int:
    """Message ids are kept until the campaign's end (plus a year, for late retries and reviews)."""
    campaign_end = datetime.combine(load_campaign().phases[-1].end, time(), tzinfo=UTC) + timedelta(days=365)
    return int(max(campaign_end, now + timedelta(days=365)).timestamp())


def _once_key(message: InboundSms) -> str:
    return f"sms:{message.provider}:{message.message_id}"


def _fingerprint(message: InboundSms) -> str:
    return hashlib.sha256(f"{message.phone}\n{message.text}".encode()).hexdigest()


def _replayed_late(settings: Settings, message: InboundSms, now: datetime) -> bool:
    """A message id first seen longer ago than run_once remembers answers."""
    seen_at = SeenStore(settings).first_seen(_seen_key(message), now, _seen_until(now))
    return (now - seen_at).total_seconds() >= settings.idempotency_ttl_seconds


def _file_at_once(
    settings: Settings, message: InboundSms, raw_key: str, now: datetime, admission: ratelimit.Admission
) -> Outcome | None:
    """A text that is neither a query nor a rating, filed as a new complaint in ONE transaction: the case, the
    answer kept for a provider retry, the message id's first-seen record, one on both counters of the number
    (texts, complaints: one item, one write) and the push's hit on its address's counter (`admission`, unless an
    earlier text of the push made it), on condition that the id is new, the counters are under their limits and the
    number's newest case is no SMS case within the follow-up window. Nothing is done before it, so it needs no
    claim (run_once). ratelimit.OverLimit, nothing stored, when the address's counter is at its limit.

    None when the text is a query or a rating, or a condition failed: nothing was stored, and the text goes the
    step-by-step way (`_replayed_late`, the number's limit, `_act_once`), which tells those cases apart."""
    if parse_query(message.text) is not None or parse_rating(message.text) is not None:
        return None
    draft = _draft(message, raw_key, now)
    limits = {
        ratelimit.NumberCounter.texts: settings.sms_texts_per_number_per_hour,
        ratelimit.NumberCounter.complaints: settings.submissions_per_phone_per_hour,
    }

    def writes(receipt: filing.Receipt) -> list[dict]:
        return [
            IdempotencyStore(settings).new_answer_write(
                _once_key(message), _fingerprint(message), 200, _complaint_outcome(receipt).model_dump(), now
            ),
            SeenStore(settings).first_seen_write(_seen_key(message), now, _seen_until(now)),
            # Both limits of the number, one item (shared/core/ratelimit.py).
            ratelimit.number_write(settings, message.phone, limits, now),
        ]

    def notice(receipt: filing.Receipt) -> Envelope:
        return _reply_message(message, _complaint_outcome(receipt))

    since = now - timedelta(minutes=rules().follow_up_minutes)
    # Twilio's reply rides in the TwiML answer; the others' in the complaint's routing message (one enqueue).
    guarded = filing.Guarded(writes, sms_since=since, notice=None if message.provider == Provider.twilio else notice)
    try:
        receipt = filing.create_complaint(settings, draft, guarded=guarded, admission=admission)
    except ConditionFailed:
        return None
    return _complaint_outcome(receipt)


def _draft(message: InboundSms, raw_key: str, now: datetime) -> filing.ComplaintDraft:
    complainant = Complainant(phone=message.phone)
    return filing.ComplaintDraft(
        channel=Channel.sms, raw_key=raw_key, received_at=now, description=message.text, complainant=complainant
    )


def _act_once(settings: Settings, message: InboundSms, raw_key: str, now: datetime) -> Outcome:
    answer = filing.run_once(
        settings,
        _once_key(message),
        _fingerprint(message),
        now,
        lambda once: _act(settings, message, raw_key, now, once).model_dump(),
        status=200,
    )
    outcome = Outcome.model_validate(answer.body)
    if answer.replayed:
        logger.info("sms retry answered again", extra={"tracking_no": outcome.tracking_no, "kind": outcome.kind})
    return outcome


def _act(settings: Settings, message: InboundSms, raw_key: str, now: datetime, once: filing.Once) -> Outcome:
    """What a text leads to; a complaint or supplement is stored together with the answer kept for the text."""
    query = parse_query(message.text)
    if query is not None:
        return _query(settings, message, *query, now)
    # A rating while one of the number's cases awaits its call-back answer (1/2/3): never a complaint or follow-up.
    answered = callbacks.sms_answer(settings, message.phone, message.text, now)
    if answered is not None:
        tracking_no, answer = answered
        return Outcome(kind="callback", tracking_no=tracking_no, reply=answer)
    draft = _draft(message, raw_key, now)
    limit = settings.submissions_per_phone_per_hour
    if not ratelimit.allow_number(settings, message.phone, ratelimit.NumberCounter.complaints, limit, now):
        raise ratelimit.too_many(ratelimit.WINDOW_SECONDS)
    earlier = _recent_sms_case(settings, Complainant(phone=message.phone), now)
    if earlier is not None:
        supplement = Outcome(kind="supplement", tracking_no=earlier, reply=reply("sms_supplement", tracking_no=earlier))
        _supplement(settings, earlier, message.text, raw_key, now, once.answer_write(supplement.model_dump()))
        return supplement
    once.body_of = lambda receipt: _complaint_outcome(receipt).model_dump()
    return _complaint_outcome(filing.create_complaint(settings, draft, once))


def _complaint_outcome(receipt: filing.Receipt) -> Outcome:
    answer = reply("sms_receipt", tracking_no=receipt.tracking_no, code=receipt.verification_code)
    return Outcome(kind="complaint", tracking_no=receipt.tracking_no, reply=answer)


def parse_query(text: str) -> tuple[str, str | None] | None:
    """(tracking number, code) when a text asks for progress: the keyword, then a tracking number, then a code.

    Read after NFKC, so that full-width digits and letters count; separators may be spaces or punctuation.
    """
    keyword = rules().query_keyword
    normal = unicodedata.normalize("NFKC", text).strip()
    if not normal.startswith(keyword):
        return None
    words = [word for word in re.split(r"[\s,，:：;；、.。]+", normal[len(keyword) :]) if word]
    if not 1 <= len(words) <= 2 or not re.fullmatch(r"[A-Za-z]{0,4}\d{6,20}", words[0]):
        return None
    return words[0].upper(), words[1] if len(words) == 2 else None


def _query(settings: Settings, message: InboundSms, tracking_no: str, code: str | None, now: datetime) -> Outcome:
    try:
        # The sender's number stands in for the client address of the web lookup, for the same limits.
        status = complaints.complaint_status(settings, tracking_no, code, f"sms:{message.phone}", now)
    except ApiError as error:
        kind = "sms_too_many" if error.status == 429 else "sms_not_found"
        return Outcome(kind="query", tracking_no=None, reply=reply(kind))
    name = str(status["status_name"])
    if status["department"]:
        answer = reply("sms_status", tracking_no=tracking_no, status=name, department=status["department"]["name"])
    else:
        answer = reply("sms_status_unassigned", tracking_no=tracking_no, status=name)
    return Outcome(kind="query", tracking_no=tracking_no, reply=answer)


def _recent_sms_case(settings: Settings, complainant: Complainant, now: datetime) -> str | None:
    """The SMS complaint this number sent within the follow-up window, if any."""
    contact = complainant.contact_key()
    if contact is None:
        return None
    latest = CaseStore(settings).latest_by_contact(identity.contact_hash(contact, settings.contact_hash_key))
    if latest is None or latest.channel != Channel.sms:
        return None
    return latest.tracking_no if latest.received_at >= now - timedelta(minutes=rules().follow_up_minutes) else None


def _supplement(
    settings: Settings, tracking_no: str, text: str, raw_key: str, now: datetime, answer: dict[str, Any]
) -> Case:
    """Append a follow-up text to a case, with its audit event and the answer kept for the text (`answer`, first
    of the transaction's writes), guarded by the version read."""
    store = CaseStore(settings)
    for _ in range(TRANSITION_ATTEMPTS):
        before = store.get(tracking_no)
        if before is None:
            raise RuntimeError(f"case {tracking_no} vanished")
        change = change_case(
            before,
            f"channel:{Channel.sms}",
            "supplement",
            now,
            details={"raw_key": raw_key},
            description=f"{before.description}\n{text}",
        )
        try:
            store.transition_together([change], [answer])
        except ConditionFailed as failed:
            if filing.ANSWER_POSITION in failed.failed:
                raise filing.key_in_progress() from None  # taken over by a retry after this attempt's lease
            continue  # changed meanwhile (routed, most likely): read it again
        logger.info("complaint supplemented", extra={"tracking_no": tracking_no, "channel": str(Channel.sms)})
        return change.after
    raise RuntimeError(f"case {tracking_no} kept changing while a follow-up was added")


# --- answers ----------------------------------------------------------------------------------------------------


def _queue_replies(settings: Settings, provider: Provider, done: list[tuple[InboundSms, Outcome]]) -> None:
    """Aliyun and Tencent only take an acknowledgement: their replies go out through the notification sender.
    (A new complaint's reply rides in its routing message instead, `_file_at_once`; these are the others.)

    Queued after the outcome is kept, under an id fixed by the text's message id: if queueing fails, the
    provider retries (5xx), run_once answers the same and the sender sends once."""
    if provider == Provider.twilio:
        return  # the reply rides in the TwiML answer
    for message, outcome in done:
        queues.send(settings.notify_queue, _reply_message(message, outcome))


def _reply_message(message: InboundSms, outcome: Outcome) -> Envelope:
    """The request for a text's reply, under an id fixed by the text's message id: asked twice, sent once."""
    notice = notices.SmsNotice(
        kind=outcome.reply.kind, phone=e164(message.phone), values=outcome.reply.values, tracking_no=outcome.tracking_no
    )
    return notices.sms_notice_message(f"sms-reply:{message.provider}:{message.message_id}", notice)


def _acknowledged(provider: Provider, outcomes: list[Outcome]) -> WebhookAnswer:
    if provider == Provider.twilio:
        messages = "".join(f"<Message>{escape(sms_text.render(outcome.reply))}</Message>" for outcome in outcomes)
        twiml = f'<?xml version="1.0" encoding="UTF-8"?><Response>{messages}</Response>'
        return WebhookAnswer(status=200, body=twiml, content_type="text/xml; charset=utf-8")
    body = {"code": 0, "msg": "接收成功"} if provider == Provider.aliyun else {"result": 0, "errmsg": "OK"}
    return _json_answer(200, body)


def _refused(
    settings: Settings, provider: str, raw_key: str, error: ApiError, now: datetime, admission: ratelimit.Admission
) -> WebhookAnswer:
    answer = filing.reject(settings, Channel.sms, raw_key, error, now, admission)
    return _refused_answer(provider, error, answer.body)


def _refused_answer(provider: str, error: ApiError, body: dict[str, Any]) -> WebhookAnswer:
    # Our error shape, with the fields each provider reads first: a non-zero code and its message.
    shape: dict[str, Any] = {}
    if provider == Provider.aliyun:
        shape = {"code": error.status, "msg": error.message}
    elif provider == Provider.tencent:
        shape = {"result": error.status, "errmsg": error.message}
    return _json_answer(error.status, {**shape, **body})


def _combined(problems: list[tuple[int, ApiError]], indexed: bool) -> ApiError:
    """One error for the quarantine list: the first problem's status and code, every problem's fields."""
    first = problems[0][1]
    fields = []
    for index, error in problems:
        prefix = f"{index}." if indexed else ""
        fields += [field.model_copy(update={"field": prefix + field.field}) for field in error.fields]
        if not error.fields:
            fields.append(FieldError(field=prefix.rstrip(".") or "body", code=error.code, message=error.message))
    return ApiError(first.status, first.code, first.message, fields)


def _json_answer(status: int, body: dict) -> WebhookAnswer:
    return WebhookAnswer(
        status=status, body=json.dumps(body, ensure_ascii=False), content_type="application/json; charset=utf-8"
    )
