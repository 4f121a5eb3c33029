"""Notifications by SMS, each sent once however often its message arrives: deadline notices to the legal
offices (who is told), and messages to one number: replies to complainants who wrote by SMS
(shared/sms_inbound.py) and the notices complainants get as their case moves on.

A message carries the kind and the values, not a text: each provider turns them into what it sends (shared/sms.py,
shared/data/sms_templates.json)."""

import hashlib
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from pydantic import BaseModel

from shared import reference_data
from shared.dal import CaseStore, IdempotencyStore
from shared.messages import Envelope, MessageType
from shared.observability import logger
from shared.settings import Settings
from shared.sms import Sms, SmsSender

SUPERVISOR = "FZB"


class NotificationPolicy(BaseModel):
    default_recipients: list[str]
    department_recipients: dict[str, list[str]]


class DeadlineNotice(BaseModel):
    """The data of a notification.requested message."""

    tracking_no: str
    kind: str
    department: str
    due_at: datetime


class SmsNotice(BaseModel):
    """The data of a notification.requested message to one number: an SMS reply, a notice to a complainant."""

    kind: str  # a key of sms_templates.json
    phone: str  # E.164
    values: dict[str, str]
    # For the logs only: the case the message is about, if any.
    tracking_no: str | None = None


def sms_notice_message(message_id: str, notice: SmsNotice) -> Envelope:
    """The message that asks for an SMS; its id is given by the caller so that a retry asks (and sends) once."""
    return Envelope(type=MessageType.notification_requested, id=message_id, data=notice.model_dump())


@cache
def policy() -> NotificationPolicy:
    path = Path(__file__).parent / "data" / "notifications.json"
    return NotificationPolicy.model_validate(json.loads(path.read_text(encoding="utf-8")))


def recipients(notice: DeadlineNotice) -> list[str]:
    rules = policy()
    phones = list(rules.department_recipients.get(notice.department, rules.default_recipients))
    if notice.kind.endswith("overdue"):
        phones += rules.department_recipients.get(SUPERVISOR, rules.default_recipients)
    return list(dict.fromkeys(phones))


def deadline_sms(notice: DeadlineNotice) -> Sms:
    due = notice.due_at.astimezone(reference_data.county_timezone())
    return Sms(kind=notice.kind, values={"tracking_no": notice.tracking_no, "due": f"{due:%m月%d日%H:%M}"})


def send_notification(settings: Settings, message: Envelope, sender: SmsSender) -> int:
    """Send a requested notification to each recipient once, however often the message arrives."""
    if "phone" in message.data:
        return send_sms_notice(settings, message, sender)
    notice = DeadlineNotice.model_validate(message.data)
    store = CaseStore(settings)
    sms = deadline_sms(notice)
    sent = 0
    for phone in recipients(notice):
        # The phone number is hashed: keys are visible in places personal data must not be.
        marker = f"NOTICE#{message.id}#{hashlib.sha256(phone.encode()).hexdigest()[:16]}"
        if not store.record_once(notice.tracking_no, marker, {"kind": notice.kind, "channel": "sms"}):
            continue
        try:
            provider_id = sender.send(phone, sms)
        except Exception:
            store.forget(notice.tracking_no, marker)  # let the retry send it
            raise
        sent += 1
        logger.info(
            "notification sent",
            extra={"tracking_no": notice.tracking_no, "kind": notice.kind, "provider_message_id": provider_id},
        )
    return sent


def send_sms_notice(settings: Settings, message: Envelope, sender: SmsSender) -> int:
    notice = SmsNotice.model_validate(message.data)
    store = IdempotencyStore(settings)
    key = f"notify:{message.id}"
    if store.claim(key, notice.kind, datetime.now(UTC)) is not None:
        return 0  # sent already, or being sent by a concurrent delivery
    try:
        provider_id = sender.send(notice.phone, Sms(kind=notice.kind, values=notice.values))
    except Exception:
        store.release(key)  # let the retry send it
        raise
    store.complete(key, 200, {"provider_message_id": provider_id})
    logger.info(
        "sms sent",
        extra={"tracking_no": notice.tracking_no, "kind": notice.kind, "provider_message_id": provider_id},
    )
    return 1
