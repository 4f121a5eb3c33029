"""The alarm notifier: where SNS cannot text (AWS's China regions), the stage's alarm topic invokes this, which
tells the duty phones by the configured SMS provider (shared/routing/sms.py) and the operators' mailbox by the
configured mail sender (SMTP there, shared/core/mailer.py).

A message on the topic is a CloudWatch alarm's change of state, or a scheduled run that failed after Lambda's
retries (its asynchronous invocation's failure destination). Its own rule for the night (shared/data/alarms.json):
urgent alarms (a lost message, a reminders run missed, server errors, failing SMS, a failed run) go by SMS and mail
at any hour; the others go by mail only in the quiet hours, where they are read in the morning; an alarm's return
to OK goes by mail only. Nothing is held back for later: a notifier that kept state would be one more thing to fail.

Every recipient is tried; if any was not reached, `AlarmNotDelivered` is raised after the others: the invocation
fails, Lambda tries it once more, then sends the message to the stage's undelivered-alarms topic, which mails
`alarm_email` through SNS, and the notifier's own errors alarm goes there too, never back to this topic.
"""

import fnmatch
import json
from datetime import UTC, datetime
from email.message import EmailMessage
from enum import StrEnum
from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from shared.core import reference_data
from shared.core.mailer import MailSender
from shared.core.notices import QuietHours
from shared.core.observability import logger
from shared.core.settings import Settings
from shared.core.sms_text import Sms
from shared.routing.sms import SmsSender


class AlarmRules(BaseModel):
    model_config = ConfigDict(frozen=True)

    quiet_hours: QuietHours
    urgent: list[str]
    sms_name_chars: int = Field(ge=10)


@cache
def rules() -> AlarmRules:
    return AlarmRules.model_validate(reference_data.load_json("alarms.json"))


class State(StrEnum):
    alarm = "ALARM"
    ok = "OK"
    insufficient_data = "INSUFFICIENT_DATA"
    failed_run = "FAILED_RUN"


STATE_NAMES = {State.alarm: "告警", State.ok: "恢复", State.insufficient_data: "无数据", State.failed_run: "运行失败"}


class Alarm(BaseModel):
    """One message of the topic, as the notifier tells it."""

    name: str
    state: State
    reason: str
    at: datetime


def read(message: str, stage_prefix: str, received_at: datetime) -> Alarm:
    """A CloudWatch alarm's JSON, a failed run's destination record, or any other text published to the topic."""
    try:
        document = json.loads(message)
    except ValueError:
        document = None
    if isinstance(document, dict) and "AlarmName" in document:
        name = str(document["AlarmName"])
        state = State(document.get("NewStateValue", State.alarm))
        reason = str(document.get("NewStateReason", ""))
        at = _time(document.get("StateChangeTime"), received_at)
    elif isinstance(document, dict) and "requestContext" in document:
        context = document["requestContext"]
        function = str(context.get("functionArn", "")).split(":function:", 1)[-1].split(":", 1)[0]
        name = f"{function}-failed-run"
        state = State.failed_run
        error = document.get("responsePayload") or {}
        reason = f"{context.get('condition', 'failed')}: {error.get('errorType', '')} {error.get('errorMessage', '')}"
        at = _time(document.get("timestamp"), received_at)
    else:
        name, state, reason, at = "message", State.alarm, message[:2000], received_at
    return Alarm(name=name.removeprefix(f"{stage_prefix}-"), state=state, reason=reason.strip(), at=at)


def _time(value: object, default: datetime) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("+0000", "+00:00"))
    except ValueError:
        return default
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def urgent(alarm: Alarm) -> bool:
    if alarm.state == State.failed_run:
        return True
    return alarm.state == State.alarm and any(fnmatch.fnmatchcase(alarm.name, pattern) for pattern in rules().urgent)


def by_sms(alarm: Alarm, now: datetime) -> bool:
    """Urgent alarms at any hour; the others outside the quiet hours; a return to OK never."""
    if urgent(alarm):
        return True
    quiet = rules().quiet_hours.contains(now.astimezone(reference_data.county_timezone()).time())
    return alarm.state == State.alarm and not quiet


class Delivery(BaseModel):
    alarm: str
    urgent: bool
    texted: int
    mailed: bool
    failed: list[str]


class AlarmNotDelivered(RuntimeError):
    """Some recipient was not reached (which, by channel and position, never the phone number)."""


def deliver(settings: Settings, alarm: Alarm, sms: SmsSender, mail: MailSender, now: datetime) -> Delivery:
    """Tell every duty phone (when the rule says SMS) and the mailbox; raise if anyone was not reached."""
    delivery = Delivery(alarm=alarm.name, urgent=urgent(alarm), texted=0, mailed=False, failed=[])
    if by_sms(alarm, now):
        text = Sms(
            kind="alarm", values={"state": STATE_NAMES[alarm.state], "alarm": alarm.name[: rules().sms_name_chars]}
        )
        for position, phone in enumerate(settings.alarm_phones, start=1):
            try:
                sms.send(phone, text)
                delivery.texted += 1
            except Exception as error:
                delivery.failed.append(f"sms {position}: {type(error).__name__}")
    if settings.alarm_email:
        try:
            mail.send(alarm_mail(settings, alarm))
            delivery.mailed = True
        except Exception as error:
            delivery.failed.append(f"mail: {type(error).__name__}")
    logger.info("alarm told", extra=delivery.model_dump())
    if delivery.failed:
        raise AlarmNotDelivered(f"{alarm.name}: not reached {', '.join(delivery.failed)}")
    return delivery


def alarm_mail(settings: Settings, alarm: Alarm) -> EmailMessage:
    local = alarm.at.astimezone(reference_data.county_timezone())
    state = STATE_NAMES[alarm.state]
    message = EmailMessage()
    message["From"] = settings.mail_address
    message["To"] = settings.alarm_email
    message["Subject"] = f"[{'紧急' if urgent(alarm) else '告警'}] {alarm.name}：{state}"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: auto-responders do not answer it
    message.set_content(
        f"{alarm.name}\n状态：{state}（{alarm.state}）\n时间：{local:%Y-%m-%d %H:%M:%S}（北京时间）\n"
        f"原因：{alarm.reason or '-'}\n\n"
        "每个告警的含义和处置命令见 README 的 Runbook（运维手册）一节。\n"
    )
    return message
