"""Asking for an SMS from any service: a notice to one number (`SmsNotice`) put on the notify queue as a
`notification.requested` message whose id the caller chooses, so that a retry asks once; the routing service's
consumer sends it (shared/routing/notifications.py). Also who the legal offices' duty phones are
(shared/data/notifications.json) and the quiet hours in which no SMS goes out.
"""

from datetime import datetime, time, timedelta
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

    def over_at(self, moment: datetime) -> datetime:
        """`moment` (in the county's time zone) if it is outside the quiet hours, else the moment they end."""
        if not self.contains(moment.time()):
            return moment
        end = datetime.combine(moment.date(), self.end, tzinfo=moment.tzinfo)
        return end if end > moment else end + timedelta(days=1)


@cache
def quiet_hours() -> QuietHours:
    """When no SMS goes out (deadline_policy.json `reminders.quiet_hours`): what falls due then waits for the
    morning."""
    return QuietHours.model_validate(reference_data.load_json("deadline_policy.json")["reminders"]["quiet_hours"])
