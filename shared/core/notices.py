"""Notifications, each sent once however often its message arrives: deadline notices to the legal offices
(who is told), messages to one number (replies to complainants who wrote by SMS, shared/intake/sms_inbound.py), and the
notices complainants get as their case moves on, by SMS and/or mail as they chose.

A message carries the kind and the values, not a text: each provider turns them into what it sends
(shared/routing/sms.py,
shared/data/sms_templates.json; mail texts in shared/data/complainant_notices.json). A notice to a complainant
carries no contact either: the consumer reads it from the case's personal-data compartment when it sends.
"""

from datetime import time
from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from shared.core import reference_data
from shared.core.messages import Envelope, MessageType

SUPERVISOR = "FZB"


class NotificationPolicy(BaseModel):
    default_recipients: list[str]
    department_recipients: dict[str, list[str]]
    department_heads: dict[str, list[str]] = {}


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
    return NotificationPolicy.model_validate(reference_data.load_json("notifications.json"))


def legal_office_phones(department: str) -> list[str]:
    """The duty mobiles of a department's legal office; the county legal office's for one without its own."""
    rules = policy()
    return rules.department_recipients.get(department, rules.default_recipients)


class QuietHours(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    start: time = Field(alias="from")
    end: time = Field(alias="to")

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # across midnight, e.g. 21:00-08:00
