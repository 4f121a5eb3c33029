"""Notifications, each sent once however often its message arrives: deadline notices to the legal offices
(who is told), messages to one number (replies to complainants who wrote by SMS, shared/intake/sms_inbound.py), and the
notices complainants get as their case moves on, by SMS and/or mail as they chose.

A message carries the kind and the values, not a text: each provider turns them into what it sends
(shared/routing/sms.py, shared/core/sms_text.py; mail texts in shared/data/complainant_notices.json). A notice to a
complainant
carries no contact either: the consumer reads it from the case's personal-data compartment when it sends.
"""

import hashlib
from datetime import UTC, datetime
from email.message import EmailMessage
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel

from shared.core import identity, queues, reference_data
from shared.core.dal.cases import NOTICE_PREFIX, CaseStore
from shared.core.dal.idempotency import IdempotencyStore
from shared.core.dal.items import Claim, DeliveryBusy
from shared.core.mailer import MailSender, mail_sender
from shared.core.messages import Envelope, MessageType
from shared.core.models import Case, Complainant
from shared.core.notices import SUPERVISOR, SmsNotice, legal_office_phones, policy
from shared.core.observability import count, logger
from shared.core.settings import Settings
from shared.core.sms_text import Sms
from shared.routing.sms import SmsSender


class DeadlineNotice(BaseModel):
    """The data of a notification.requested message."""

    tracking_no: str
    kind: str
    department: str
    due_at: datetime


def recipients(notice: DeadlineNotice) -> list[str]:
    """Reminders go to the department's legal office; an escalation (督办) to its head and the county office."""
    if notice.kind.endswith("_escalated"):
        phones = policy().department_heads.get(notice.department, []) + legal_office_phones(SUPERVISOR)
    else:
        phones = legal_office_phones(notice.department)
    return list(dict.fromkeys(phones))


def deadline_sms(notice: DeadlineNotice) -> Sms:
    due = notice.due_at.astimezone(reference_data.county_timezone())
    return Sms(kind=notice.kind, values={"tracking_no": notice.tracking_no, "due": f"{due:%m月%d日%H:%M}"})


class Complainants:
    """Whom complainant notices go to: the cases of a batch's notices and their complainants, read at once (one
    BatchGetItem each)."""

    def __init__(self, settings: Settings, tracking_nos: list[str]) -> None:
        store = CaseStore(settings)
        self._cases = store.get_many(tracking_nos)
        self._complainants = store.complainants([no for no, case in self._cases.items() if _reachable(case)])

    def to_tell(self, tracking_no: str) -> Complainant | None:
        """The complainant of the case (one of those read), when there is one to tell."""
        case = self._cases.get(tracking_no)
        if case is None or not _reachable(case):
            return None
        return self._complainants.get(tracking_no)


def send_notifications(
    settings: Settings, messages: dict[str, Envelope], sender: SmsSender, mail: MailSender
) -> set[str]:
    """send_notification for a batch of messages (by message id), the cases of its complainant notices and their
    complainants read first in one BatchGetItem each. The ids of the messages that failed (retried by the queue)."""
    tracking_nos = [
        str(message.data["tracking_no"])
        for message in messages.values()
        if message.data.get("recipient") == "complainant" and "tracking_no" in message.data
    ]
    complainants = Complainants(settings, tracking_nos)
    failed: set[str] = set()
    for message_id, message in messages.items():
        try:
            send_notification(settings, message, sender, mail, complainants)
        except Exception as error:
            # The reason without the error's text, which may hold a contact (a mail server refusing an address).
            logger.warning("notification failed", extra={"notice_id": message.id, "error": _reason(error)})
            failed.add(message_id)
    return failed


def send_notification(
    settings: Settings,
    message: Envelope,
    sender: SmsSender,
    mail: MailSender | None = None,
    complainants: Complainants | None = None,
) -> int:
    """Send a requested notification to each recipient once, however often the message arrives."""
    if message.data.get("recipient") == "complainant":
        return send_complainant_notice(
            settings, message, sender, mail or mail_sender(settings), complainants=complainants
        )
    if "phone" in message.data:
        return send_sms_notice(settings, message, sender)
    notice = DeadlineNotice.model_validate(message.data)
    store = CaseStore(settings)
    sms = deadline_sms(notice)
    sent = 0
    now = datetime.now(UTC)
    busy = False
    for phone in recipients(notice):
        # The phone number is hashed: keys are visible in places personal data must not be.
        marker = f"NOTICE#{message.id}#{hashlib.sha256(phone.encode()).hexdigest()[:16]}"
        claim = store.claim_delivery(
            notice.tracking_no, marker, now, settings.delivery_lease_seconds, {"kind": notice.kind, "channel": "sms"}
        )
        if claim != Claim.claimed:
            busy = busy or claim == Claim.busy
            continue
        try:
            provider_id = sender.send(phone, sms)
        except Exception as error:
            store.finish_delivery(notice.tracking_no, marker, {"state": "failed", "error": _reason(error)})
            raise
        store.finish_delivery(notice.tracking_no, marker, {"state": "sent", "provider_message_id": provider_id})
        sent += 1
        logger.info(
            "notification sent",
            extra={"tracking_no": notice.tracking_no, "kind": notice.kind, "provider_message_id": provider_id},
        )
    if busy:
        raise DeliveryBusy(message.id)
    return sent


def send_sms_notice(settings: Settings, message: Envelope, sender: SmsSender) -> int:
    notice = SmsNotice.model_validate(message.data)
    store = IdempotencyStore(settings)
    key = f"notify:{message.id}"
    claim = store.claim_delivery(key, datetime.now(UTC), settings.delivery_lease_seconds, {"kind": notice.kind})
    if claim == Claim.done:
        return 0
    if claim == Claim.busy:
        raise DeliveryBusy(message.id)
    try:
        provider_id = sender.send(notice.phone, Sms(kind=notice.kind, values=notice.values))
    except Exception as error:
        store.finish_delivery(key, {"state": "failed", "error": _reason(error)})
        count("NoticesFailed", channel="sms")
        raise
    store.finish_delivery(key, {"state": "sent", "provider_message_id": provider_id})
    count("NoticesSent", channel="sms")
    logger.info(
        "sms sent",
        extra={"tracking_no": notice.tracking_no, "kind": notice.kind, "provider_message_id": provider_id},
    )
    return 1


# --- notices to complainants -----------------------------------------------------------------------------------


class ComplainantNotice(BaseModel):
    """The data of a notification.requested message to the complainant of a case."""

    recipient: Literal["complainant"] = "complainant"
    tracking_no: str
    kind: str  # a key of sms_templates.json and of complainant_notices.json's mail
    # The placeholders' values, read off the case when it moved (it may move on before the notice is sent).
    values: dict[str, str]


class _NoticeRules(BaseModel):
    after_action: dict[str, str]
    outcomes: dict[str, str]
    sms_reason_chars: int
    mail: dict[str, dict[str, str]]


@cache
def notice_rules() -> _NoticeRules:
    return _NoticeRules.model_validate(reference_data.load_json("complainant_notices.json"))


def _date(moment: datetime | None) -> str:
    return f"{moment.astimezone(reference_data.county_timezone()):%Y年%m月%d日}" if moment else ""


def _notice(case: Case, kind: str, **values: str) -> Envelope:
    """One notice per case version and kind: the id makes a redelivered or re-queued request send nothing twice."""
    notice = ComplainantNotice(
        tracking_no=case.tracking_no, kind=kind, values={"tracking_no": case.tracking_no, **values}
    )
    return Envelope(
        type=MessageType.notification_requested,
        id=f"{case.tracking_no}:v{case.version}:{kind}",
        data=notice.model_dump(),
    )


def acknowledgement(case: Case, code: str) -> Envelope | None:
    """The receipt for a complaint staff entered (the other channels answer at once); None when anonymous."""
    return _notice(case, "acknowledgement", code=code) if _reachable(case) else None


def after_action(case: Case, action: str) -> Envelope | None:
    """The notice a complainant gets after `action` moved their case to `case`, if any."""
    kind = notice_rules().after_action.get(action)
    if kind is None or not _reachable(case):
        return None
    department = reference_data.department(case.department).name if case.department else ""
    if kind == "accepted":
        return _notice(case, kind, department=department, due=_date(case.reply_due_at))
    if kind == "not_accepted":
        return _notice(case, kind, reason=case.not_accepted_reason or "")
    if kind == "extension":
        return _notice(case, kind, due=_date(case.reply_due_at), reason=case.extension.reason if case.extension else "")
    if kind == "answered":
        return _notice(case, kind, department=department, message=case.answer or "")
    if kind == "reply":
        outcome = notice_rules().outcomes[case.finding or "none"]
        due = _date(case.review_request_due_at)
        return _notice(case, kind, outcome=outcome, due=due, message=case.reply_text or "")
    return _notice(case, kind, due=_date(case.review_reply_due_at))


def relay(case: Case, notice_id: str, text: str) -> Envelope:
    """A message staff send the complainant through the system (shared/routing/confidentiality.py), sent once by its
    id."""
    department = reference_data.department(case.department).name if case.department else ""
    notice = ComplainantNotice(
        tracking_no=case.tracking_no,
        kind="relay",
        values={"tracking_no": case.tracking_no, "department": department, "message": text},
    )
    return Envelope(type=MessageType.notification_requested, id=notice_id, data=notice.model_dump())


def _reachable(case: Case) -> bool:
    # Anonymous complainants are told nothing: they look their case up with the tracking number and code.
    return case.has_complainant and not case.anonymous


def request(settings: Settings, notice: Envelope | None) -> None:
    """Queue a notice. The case has moved already: a failure is logged with the notice id, not raised."""
    if notice is None:
        return
    try:
        queues.send(settings.notify_queue, notice)
    except Exception:
        logger.exception("notice not queued", extra={"notice_id": notice.id})


def channels(complainant: Complainant) -> list[str]:
    """Where the complainant is told: as they chose, else by every contact they gave (SMS only to a mobile)."""
    available = []
    if complainant.phone and identity.is_mobile(complainant.phone):
        available.append("sms")
    if complainant.email:
        available.append("email")
    chosen = complainant.notify_by if complainant.notify_by is not None else available
    return [channel for channel in available if channel in chosen]


def send_complainant_notice(
    settings: Settings,
    message: Envelope,
    sms: SmsSender,
    mail: MailSender,
    now: datetime | None = None,
    complainants: Complainants | None = None,
) -> int:
    """Send a notice on each of the complainant's channels once, recording each delivery on the case. A failed
    channel is recorded and then raised, so that SQS retries the message (the sent channels are not sent again)
    and finally moves it to the dead-letter queue."""
    now = now or datetime.now(UTC)
    notice = ComplainantNotice.model_validate(message.data)
    store = CaseStore(settings)
    complainant = (complainants or Complainants(settings, [notice.tracking_no])).to_tell(notice.tracking_no)
    if complainant is None:
        logger.info("notice not sent: no complainant to tell", extra={"notice_id": message.id})
        return 0
    sent = 0
    failure: Exception | None = None
    for channel in channels(complainant):
        marker = f"{NOTICE_PREFIX}{message.id}#{channel}"
        claim = store.claim_delivery(
            notice.tracking_no, marker, now, settings.delivery_lease_seconds, {"kind": notice.kind, "channel": channel}
        )
        if claim != Claim.claimed:
            failure = failure or (DeliveryBusy(message.id) if claim == Claim.busy else None)
            continue
        try:
            if channel == "sms":
                provider_id = sms.send(
                    identity.e164(complainant.phone or ""), Sms(kind=notice.kind, values=_sms(notice))
                )
            else:
                provider_id = mail.send(_mail(settings, notice, complainant.email or "", message.id))
        except Exception as error:
            failure = error
            reason = _reason(error)
            store.finish_delivery(
                notice.tracking_no, marker, {"state": "failed", "failed_at": now.isoformat(), "error": reason}
            )
            logger.warning("notice failed", extra={"notice_id": message.id, "channel": channel, "error": reason})
            count("NoticesFailed", channel=channel)
            continue
        count("NoticesSent", channel=channel)
        store.finish_delivery(
            notice.tracking_no,
            marker,
            {"state": "sent", "sent_at": now.isoformat(), "provider_message_id": provider_id},
        )
        sent += 1
        logger.info(
            "notice sent", extra={"notice_id": message.id, "channel": channel, "provider_message_id": provider_id}
        )
    if failure is not None:
        raise failure
    return sent


def _sms(notice: ComplainantNotice) -> dict[str, str]:
    values = dict(notice.values)
    limit = notice_rules().sms_reason_chars
    if len(values.get("reason", "")) > limit:  # one segment: the full reason is in the mail and the case status
        values["reason"] = values["reason"][: limit - 1] + "…"
    return values


def _mail(settings: Settings, notice: ComplainantNotice, to: str, notice_id: str) -> EmailMessage:
    template = notice_rules().mail[notice.kind]
    values: dict[str, Any] = {**notice.values, "county": reference_data.county().name}
    message = EmailMessage()
    message["From"] = settings.mail_address
    message["To"] = to
    message["Subject"] = template["subject"].format(**values)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: auto-responders do not answer it
    # Fixed by the notice: a copy sent again after a crash (see the delivery guarantee) carries the same Message-ID,
    # which mail programs show once.
    digest = hashlib.sha256(notice_id.encode()).hexdigest()[:32]
    message["Message-ID"] = f"<{digest}@{settings.mail_address.rsplit('@', 1)[-1]}>"
    message.set_content(template["body"].format(**values))
    return message


def _reason(error: Exception) -> str:
    """Why a send failed, for the delivery record: the error's type and provider code, never its text."""
    return f"{type(error).__name__}: {getattr(error, 'code', '')}".rstrip(": ")
