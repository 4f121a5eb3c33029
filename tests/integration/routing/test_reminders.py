"""Deadline reminders and escalation against moto: reminder points in working days, on the day, overdue daily,
escalation recorded once, quiet hours, never twice, and no Scan."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from infra import cli
from shared.core import queues
from shared.core.aws import client
from shared.core.dal.cases import CaseStore
from shared.core.messages import Envelope
from shared.core.models import AuditEvent, Case, CaseKind, Channel, DueKind, Status
from shared.core.reference_data import county_timezone
from shared.core.settings import Settings
from shared.core.sms_text import Sms
from shared.routing import notifications, reminders
from tests.support import receive_all

ZONE = county_timezone()
# Friday after the 2026 National Day week (10-01 to 10-07 rest, Saturday 10-10 a make-up working day).
DUE = datetime(2026, 10, 9, 23, 59, 59, tzinfo=ZONE)
HEADS_AND_FZB = {"+8613900000003", "+8613900000000"}


def local(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ZONE)


def a_case(
    settings: Settings, number: str = "ZF261001000001", due_at: datetime = DUE, kind: CaseKind = CaseKind.complaint
) -> str:
    at = due_at - timedelta(days=60)
    question = kind == CaseKind.question
    case = Case(
        tracking_no=number,
        channel=Channel.web,
        received_at=at,
        description="执法人员态度恶劣",
        raw_key=f"raw/web/{number}.json",
        verification_hash="0" * 64,
        kind=kind,
        status=Status.routed if question else Status.accepted,
        department="JJDD",
        due_at=due_at.astimezone(UTC),  # stored in UTC, as shared/routing/deadlines.py gives it
        due_kind=DueKind.answer if question else DueKind.reply,
    )
    event = AuditEvent(tracking_no=number, version=1, at=at, actor="test", action="receive")
    CaseStore(settings).create(case, None, event, None)
    return number


def queued(settings: Settings) -> list[Envelope]:
    bodies = [m["Body"] for m in receive_all(queues.queue_url(settings.notify_queue), client("sqs"))]
    return [Envelope.model_validate_json(body) for body in bodies]


def points(settings: Settings, moment: datetime) -> list[str]:
    """Run the reminders at a moment; the reminder points queued."""
    reminders.remind_deadlines(settings, now=moment)
    return sorted(message.id.rsplit(":", 1)[-1] for message in queued(settings))


class Recorder:
    """An SMS sender that keeps what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, sms: Sms) -> str:
        self.sent.append((phone, sms.kind))
        return f"msg-{len(self.sent)}"


def test_policy_reminds_3_and_1_working_days_before_with_quiet_hours_at_night() -> None:
    # when the reminder policy of the data file is read / then it has the defaults issue 4 asks for
    rules = reminders.policy()
    assert rules.before_working_days == (3, 1)
    assert rules.quiet_hours.contains(local(10, 8, 21).time()) and rules.quiet_hours.contains(local(10, 9, 7).time())
    assert not rules.quiet_hours.contains(local(10, 9, 8).time())


def test_reminders_count_working_days_across_the_national_day_week(aws: Settings) -> None:
    # given a reply deadline on Friday 2026-10-09, just after the National Day holidays
    a_case(aws)
    # when the run happens each morning from 09-28 on (and again later on some days)
    # then the 3-working-days point is 09-29 (09-30, 10-08 and 10-09 are left), nothing during the holidays,
    # the 1-working-day point on 10-08, the due-day reminder on 10-09
    assert points(aws, local(9, 28, 10)) == []
    assert points(aws, local(9, 29, 10)) == ["before-3"]
    assert points(aws, local(9, 29, 16)) == []
    assert points(aws, local(9, 30, 10)) == []
    assert points(aws, local(10, 5, 10)) == []
    assert points(aws, local(10, 8, 10)) == ["before-1"]
    assert points(aws, local(10, 9, 9)) == ["today"]
    assert points(aws, local(10, 9, 15)) == []
    # and once overdue: a reminder every day, once a day, and one escalation
    assert points(aws, local(10, 10, 8)) == ["escalation", "overdue-2026-10-10"]
    assert points(aws, local(10, 10, 15)) == []
    assert points(aws, local(10, 11, 9)) == ["overdue-2026-10-11"]
    assert points(aws, local(10, 12, 9)) == ["overdue-2026-10-12"]


def test_a_case_due_soon_gets_only_the_nearest_point(aws: Settings) -> None:
    # given a case found first one working day before its deadline
    a_case(aws)
    # when the run happens on 10-08 / then only the 1-day reminder goes out, not the 3-day one as well
    assert points(aws, local(10, 8, 10)) == ["before-1"]


def test_escalation_is_recorded_once_on_the_case_with_its_audit_event(aws: Settings) -> None:
    # given a case overdue since 10-09
    number = a_case(aws)
    store = CaseStore(aws)
    # when the runs of three overdue days happen
    for day in (10, 11, 12):
        reminders.remind_deadlines(aws, now=local(10, day, 9))
    # then the case was escalated once, at the first run, through a versioned update with its audit event
    case = store.get(number)
    assert case.escalated_at == local(10, 10, 9) and case.version == 2 and case.status == Status.accepted
    escalations = [event for event in store.events(number) if event.action == "escalate"]
    assert len(escalations) == 1
    assert (escalations[0].version, escalations[0].actor) == (2, reminders.SYSTEM_ACTOR)
    assert escalations[0].details["due_at"] == DUE.astimezone(UTC).isoformat()
    # and the escalation went to the department head and the county legal office, the daily reminders to the
    # department's legal office
    sender = Recorder()
    for message in queued(aws):
        notifications.send_notification(aws, message, sender)
    heads = {phone for phone, kind in sender.sent if kind == "reply_escalated"}
    assert heads == HEADS_AND_FZB
    assert sorted(kind for _, kind in sender.sent if kind != "reply_escalated") == ["reply_overdue"] * 3


def test_an_overdue_question_is_reminded_and_escalated_in_its_own_words(aws: Settings) -> None:
    # given a question whose answer deadline was 10-09
    a_case(aws, kind=CaseKind.question)
    # when the first overdue run happens and its messages are sent
    reminders.remind_deadlines(aws, now=local(10, 10, 9))
    sender = Recorder()
    for message in queued(aws):
        notifications.send_notification(aws, message, sender)
    # then the legal office is reminded of the overdue answer, the head and the county legal office are told
    assert {kind for _, kind in sender.sent} == {"answer_overdue", "answer_escalated"}
    assert {phone for phone, kind in sender.sent if kind == "answer_escalated"} == HEADS_AND_FZB


def test_quiet_hours_hold_reminders_until_eight(aws: Settings) -> None:
    # given a case due on 10-09
    a_case(aws)
    # when the run happens at 22:00 the evening before, and at 07:45
    night = reminders.remind_deadlines(aws, now=local(10, 8, 22))
    dawn = reminders.remind_deadlines(aws, now=local(10, 9, 7, 45))
    # then nothing was queued that would text someone at night
    assert night.quiet_hours and dawn.quiet_hours and queued(aws) == []
    # and the 08:00 run sends the reminder due by then
    assert points(aws, local(10, 9, 8)) == ["today"]


def test_no_reminder_is_sent_twice_across_runs_and_redeliveries(aws: Settings, monkeypatch) -> None:
    # given a case overdue, and a run that crashes after queueing the reminder but before noting it on the case
    number = a_case(aws)
    monkeypatch.setattr(CaseStore, "transition_together", lambda self, *args, **kwargs: pytest.fail("crash"))
    with pytest.raises(pytest.fail.Exception):
        reminders.remind_deadlines(aws, now=local(10, 10, 9))
    monkeypatch.undo()
    # when the next runs (two) queue it again, and every message is delivered twice
    reminders.remind_deadlines(aws, now=local(10, 10, 9, 15))
    reminders.remind_deadlines(aws, now=local(10, 10, 9, 30))
    messages = queued(aws)
    sender = Recorder()
    for message in messages + messages:
        notifications.send_notification(aws, message, sender)
    # then the overdue reminder was queued twice under one id, and each notice reached each person once
    overdue = [m.id for m in messages if m.data["kind"] == "reply_overdue"]
    assert len(overdue) == 2 and len(set(overdue)) == 1
    assert sorted(sender.sent) == sorted(
        [("+8613900000000", "reply_overdue")] + [(phone, "reply_escalated") for phone in HEADS_AND_FZB]
    )
    assert CaseStore(aws).get(number).reminders_sent == ["overdue-2026-10-10", "escalation"]


def test_an_extension_is_reminded_anew(aws: Settings) -> None:
    # given a case reminded on its due day, whose deadline then moves (a new deadline empties the points)
    number = a_case(aws)
    first = points(aws, local(10, 9, 9))
    store = CaseStore(aws)
    case = store.get(number)
    moved = case.model_copy(
        update={"due_at": (DUE + timedelta(days=7)).astimezone(UTC), "reminders_sent": [], "version": 2}
    )
    store.transition(case, moved, AuditEvent(tracking_no=number, version=2, at=local(10, 9, 10), actor="t", action="x"))
    # when the run happens on the new due day / then it is reminded again, under a new id
    assert first == ["today"] and points(aws, local(10, 16, 9)) == ["today"]


def test_the_run_never_scans(aws: Settings, monkeypatch) -> None:
    # given due cases and a DynamoDB client that fails on scan
    a_case(aws)
    a_case(aws, "ZF261001000002", DUE - timedelta(days=30))
    monkeypatch.setattr(client("dynamodb"), "scan", lambda **kwargs: pytest.fail("scan on a schedule path"))
    # when the run happens / then both cases are found through the due index
    summary = reminders.remind_deadlines(aws, now=local(10, 9, 9))
    assert (summary.due_today, summary.overdue, summary.escalated) == (1, 1, 1)


def test_hotspot_remind_dry_run_prints_without_sending(aws: Settings, capsys) -> None:
    # given an overdue case
    number = a_case(aws)
    # when `hotspot remind --at ... --dry-run` runs (local time without an offset)
    code = cli.main(["remind", "--at", "2026-10-10T09:00", "--dry-run", "--aws"])
    # then it prints what it would send, with no phone number, and queues and records nothing
    out = capsys.readouterr().out
    assert code == 0
    assert f"would send reply_overdue (overdue-2026-10-10) for {number} to JJDD" in out
    assert f"would send reply_escalated (escalation) for {number} to JJDD" in out
    assert "+86" not in out and "escalated 1" in out
    assert queued(aws) == [] and CaseStore(aws).get(number).reminders_sent == []
    # and without --dry-run it sends
    assert cli.main(["remind", "--at", "2026-10-10T09:00", "--aws"]) == 0
    assert "sent reply_overdue" in capsys.readouterr().out
    assert {json.loads(m.model_dump_json())["data"]["kind"] for m in queued(aws)} == {
        "reply_overdue",
        "reply_escalated",
    }


def test_cases_indexed_by_day_are_found_again_once_moved_to_their_month(aws: Settings, capsys) -> None:
    # given an overdue case whose due-index entry is in a day shard, as the previous version wrote it
    number = a_case(aws)
    key = {"pk": {"S": f"CASE#{number}"}, "sk": {"S": "CASE"}}
    day_shard = {":shard": {"S": f"DUE#{DUE.astimezone(UTC):%Y-%m-%d}"}}
    client("dynamodb").update_item(
        TableName=aws.cases_table, Key=key, UpdateExpression="SET gsi3pk = :shard", ExpressionAttributeValues=day_shard
    )
    assert reminders.remind_deadlines(aws, now=local(10, 10, 9), dry_run=True).overdue == 0
    # when the entries are moved, twice (from the command line)
    assert cli.main(["move-due-entries", "--aws"]) == 0
    assert cli.main(["move-due-entries", "--aws"]) == 0
    # then the first moved it and the second found nothing to move, and the run finds the case again
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[-2:]] == ["1", "0"]
    assert reminders.remind_deadlines(aws, now=local(10, 10, 9), dry_run=True).overdue == 1
