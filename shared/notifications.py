"""Notifications by SMS, each sent once however often its message arrives: deadline notices to the legal
offices (who is told, in which words), and replies to complainants who wrote by SMS (shared/sms_inbound.py)."""

import hashlib
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from shared import reference_data
from shared.dal import CaseStore, IdempotencyStore
from shared.messages import Envelope, MessageType
from shared.observability import logger
from shared.settings import Settings
from shared.sms import SmsSender

SUPERVISOR = "FZB"
SMS_REPLY = "sms_reply"


class NotificationPolicy(BaseModel):
    signature: str
    default_recipients: list[str]
    department_recipients: dict[str, list[str]]
    templates: dict[str, str]


class DeadlineNotice(BaseModel):
    """The data of a notification.requested message."""

    tracking_no: str
    kind: str
    department: str
    due_at: datetime


class SmsReply(BaseModel):
    """The data of a notification.requested message that answers a complainant's SMS."""

    kind: Literal["sms_reply"] = "sms_reply"
    phone: str
    text: str
    # For the logs only: the case the reply is about, if any.
    tracking_no: str | None = None


def sms_reply_message(message_id: str, reply: SmsReply) -> Envelope:
    """The message that asks for a reply; its id is given by the caller so that a retry asks (and sends) once."""
    return Envelope(type=MessageType.notification_requested, id=message_id, data=reply.model_dump())


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


def render(notice: DeadlineNotice) -> str:
    rules = policy()
    due = notice.due_at.astimezone(reference_data.county_timezone())
    return rules.templates[notice.kind].format(
        signature=rules.signature, tracking_no=notice.tracking_no, due=f"{due:%m月%d日%H:%M}"
    )


def send_notification(settings: Settings, message: Envelope, sender: SmsSender) -> int:
    """Send a requested notification to each recipient once, however often the message arrives."""
    if message.data.get("kind") == SMS_REPLY:
        return send_sms_reply(settings, message, sender)
    notice = DeadlineNotice.model_validate(message.data)
    store = CaseStore(settings)
    text = render(notice)
    sent = 0
    for phone in recipients(notice):
        # The phone number is hashed: keys are visible in places personal data must not be.
        marker = f"NOTICE#{message.id}#{hashlib.sha256(phone.encode()).hexdigest()[:16]}"
        if not store.record_once(notice.tracking_no, marker, {"kind": notice.kind, "channel": "sms"}):
            continue
        try:
            provider_id = sender.send(phone, text)
        except Exception:
            store.forget(notice.tracking_no, marker)  # let the retry send it
            raise
        sent += 1
        logger.info(
            "notification sent",
            extra={"tracking_no": notice.tracking_no, "kind": notice.kind, "provider_message_id": provider_id},
        )
    return sent


def send_sms_reply(settings: Settings, message: Envelope, sender: SmsSender) -> int:
    reply = SmsReply.model_validate(message.data)
    store = IdempotencyStore(settings)
    key = f"notify:{message.id}"
    if store.claim(key, SMS_REPLY, datetime.now(UTC)) is not None:
        return 0  # sent already, or being sent by a concurrent delivery
    try:
        provider_id = sender.send(reply.phone, reply.text)
    except Exception:
        store.release(key)  # let the retry send it
        raise
    store.complete(key, 200, {"provider_message_id": provider_id})
    logger.info(
        "sms reply sent",
        extra={"tracking_no": reply.tracking_no, "kind": SMS_REPLY, "provider_message_id": provider_id},
    )
    return 1
