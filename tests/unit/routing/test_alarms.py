"""The alarm notifier's reading of the topic's messages and its rule for the night (shared/routing/alarms.py)."""

import json
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from shared.core.settings import Settings
from shared.core.sms_text import Sms
from shared.routing import alarms
from shared.routing.alarms import Alarm, AlarmNotDelivered, State

PREFIX = "hotspot-prod"
FUNCTIONS = "arn:aws-cn:lambda:cn-north-1:123456789012:function"
SETTINGS = Settings(alarm_phones=["+8613900000000", "+8613900000001"], alarm_email="it@county.example.cn")
# 03:00 and 10:00 in Asia/Shanghai.
NIGHT = datetime(2026, 6, 1, 19, 0, tzinfo=UTC)
DAY = datetime(2026, 6, 2, 2, 0, tzinfo=UTC)


class Phones:
    def __init__(self, refuse: str = "") -> None:
        self.sent: list[tuple[str, Sms]] = []
        self.refuse = refuse

    def send(self, phone: str, sms: Sms) -> str:
        if phone == self.refuse:
            raise RuntimeError("provider refused")
        self.sent.append((phone, sms))
        return "id"


class Mailbox:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> str:
        self.sent.append(message)
        return "id"


def cloudwatch(name: str, state: str = "ALARM") -> str:
    return json.dumps(
        {
            "AlarmName": f"{PREFIX}-{name}",
            "NewStateValue": state,
            "NewStateReason": "Threshold Crossed: 1 datapoint [3.0] was greater than or equal to the threshold (1.0).",
            "StateChangeTime": "2026-06-01T19:00:00.000+0000",
        }
    )


def test_a_cloudwatch_alarm_and_a_failed_run_are_read_without_the_stage_prefix() -> None:
    # given an alarm's change of state and a scheduled run's failure destination record
    failed_run = json.dumps(
        {
            "timestamp": "2026-06-01T19:00:00.000Z",
            "requestContext": {
                "functionArn": f"{FUNCTIONS}:{PREFIX}-routing-RemindDeadlines:$LATEST",
                "condition": "RetriesExhausted",
            },
            "responsePayload": {"errorType": "SecretsNotConfigured", "errorMessage": "contact_hash_key"},
        }
    )
    # when the notifier reads them
    alarm = alarms.read(cloudwatch("intake-dlq-not-empty"), PREFIX, DAY)
    run = alarms.read(failed_run, PREFIX, DAY)
    other = alarms.read("something else", PREFIX, DAY)
    # then each has its name without the stage, its state, reason and time
    assert (alarm.name, alarm.state, alarm.at) == ("intake-dlq-not-empty", State.alarm, NIGHT)
    assert alarm.reason.startswith("Threshold Crossed")
    assert (run.name, run.state) == ("routing-RemindDeadlines-failed-run", State.failed_run)
    assert "SecretsNotConfigured" in run.reason and "RetriesExhausted" in run.reason
    assert (other.name, other.state, other.reason) == ("message", State.alarm, "something else")


@pytest.mark.parametrize(
    ("name", "state", "expected"),
    [
        ("intake-dlq-not-empty", "ALARM", True),
        ("routing-RemindDeadlines-not-completed", "ALARM", True),
        ("routing-api-5xx", "ALARM", True),
        ("routing-sms-failures", "ALARM", True),
        ("routing-api-latency-p95", "ALARM", False),
        ("routing-RouteComplaint-throttles", "ALARM", False),
        ("intake-dlq-not-empty", "OK", False),
    ],
)
def test_lost_work_and_outages_are_urgent_slowness_and_recoveries_are_not(
    name: str, state: str, expected: bool
) -> None:
    # given an alarm / when the notifier weighs it / then only lost work and outages, in ALARM, are urgent
    assert alarms.urgent(alarms.read(cloudwatch(name, state), PREFIX, DAY)) is expected


def test_an_urgent_alarm_at_night_texts_every_duty_phone_and_mails() -> None:
    # given a dead-lettered message at 03:00 Beijing time
    phones, mailbox = Phones(), Mailbox()
    alarm = alarms.read(cloudwatch("notify-dlq-not-empty"), PREFIX, NIGHT)
    # when the notifier tells it
    delivery = alarms.deliver(SETTINGS, alarm, phones, mailbox, NIGHT)
    # then both duty phones get the alarm's SMS template and the mailbox a mail marked urgent
    assert [phone for phone, _ in phones.sent] == SETTINGS.alarm_phones
    assert phones.sent[0][1] == Sms(kind="alarm", values={"state": "告警", "alarm": "notify-dlq-not-empty"})
    [mail] = mailbox.sent
    assert mail["To"] == SETTINGS.alarm_email and mail["Subject"].startswith("[紧急] notify-dlq-not-empty")
    assert "2026-06-02 03:00:00" in mail.get_content()
    assert delivery.urgent and delivery.texted == 2 and delivery.mailed


def test_a_non_urgent_alarm_is_mailed_only_in_the_quiet_hours_and_texted_by_day() -> None:
    # given a slow API, at 03:00 and at 10:00 Beijing time
    alarm = alarms.read(cloudwatch("routing-api-latency-p95"), PREFIX, NIGHT)
    night_phones, day_phones = Phones(), Phones()
    # when the notifier tells it at each time
    night = alarms.deliver(SETTINGS, alarm, night_phones, Mailbox(), NIGHT)
    day = alarms.deliver(SETTINGS, alarm, day_phones, Mailbox(), DAY)
    # then at night nobody's phone rings, the mail goes; by day both go
    assert (night.texted, night.mailed) == (0, True) and night_phones.sent == []
    assert (day.texted, day.mailed) == (2, True)


def test_a_return_to_ok_is_mailed_only() -> None:
    # given an alarm back to OK by day / when told / then by mail only
    delivery = alarms.deliver(
        SETTINGS, alarms.read(cloudwatch("routing-api-5xx", "OK"), PREFIX, DAY), Phones(), Mailbox(), DAY
    )
    assert (delivery.texted, delivery.mailed) == (0, True)


def test_a_phone_not_reached_fails_the_invocation_after_the_others_are_told() -> None:
    # given a provider that refuses the first duty phone
    phones, mailbox = Phones(refuse=SETTINGS.alarm_phones[0]), Mailbox()
    alarm = Alarm(name="intake-dlq-not-empty", state=State.alarm, reason="", at=DAY)
    # when the notifier tells an urgent alarm / then it raises, naming the position and not the number
    with pytest.raises(AlarmNotDelivered, match="sms 1: RuntimeError") as failed:
        alarms.deliver(SETTINGS, alarm, phones, mailbox, DAY)
    assert "+86" not in str(failed.value)
    # and the second phone and the mailbox were told all the same
    assert [phone for phone, _ in phones.sent] == SETTINGS.alarm_phones[1:] and len(mailbox.sent) == 1
