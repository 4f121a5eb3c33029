"""Provisional deadlines against moto: a deadline counted into a year without calendar data is counted again by
the scheduled run once that year's file arrives, audited, found through the sparse index, and only once."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from infra import cli
from shared.core.dal.cases import CaseStore
from shared.core.messages import Envelope, MessageType
from shared.core.models import AuditEvent, Case, Channel, DueKind
from shared.core.reference_data import county_timezone
from shared.core.settings import Settings
from shared.routing import calendar, reminders, router

ZONE = county_timezone()
NUMBER = "ZF261225000001"
RECEIVED = datetime(2026, 12, 25, 10, tzinfo=ZONE)  # a Friday
# 15 calendar days on: Saturday 2027-01-09; weekends only, the next working day is Monday 01-11.
PROVISIONAL_DUE = datetime(2027, 1, 11, 23, 59, 59, tzinfo=ZONE)
# The 2027 file of this test (not the State Council's, unknown yet) makes 01-11 and 01-12 rest days.
OFFICIAL_DUE = datetime(2027, 1, 13, 23, 59, 59, tzinfo=ZONE)
YEAR_2027 = {
    "year": 2027,
    "holidays": [
        {"name": "元旦", "from": "2027-01-01", "to": "2027-01-03"},
        {"name": "测试假日", "from": "2027-01-11", "to": "2027-01-12"},
    ],
    "make_up_working_days": [],
}


def deploy_2027(directory: Path) -> None:
    """What a deployment with the new year's file does: the file is there and processes read it anew."""
    (directory / "cn_2027.json").write_text(json.dumps(YEAR_2027, ensure_ascii=False), encoding="utf-8")
    calendar._year.cache_clear()


def routed_in_late_december(settings: Settings) -> Case:
    case = Case(
        tracking_no=NUMBER,
        channel=Channel.web,
        received_at=RECEIVED,
        description="交警在路口查车罚款两百元，不开罚款收据。",
        raw_key=f"raw/web/{NUMBER}.json",
        verification_hash="0" * 64,
    )
    event = AuditEvent(tracking_no=NUMBER, version=1, at=RECEIVED, actor="test", action="receive")
    CaseStore(settings).create(case, None, event, None)
    message = Envelope(type=MessageType.complaint_received, data={"tracking_no": NUMBER})
    return router.route_complaint(settings, message, now=RECEIVED)


def test_a_provisional_deadline_is_recomputed_once_when_the_years_calendar_arrives(
    aws: Settings, calendar_dir: Path
) -> None:
    # given a complaint routed in late December 2026 whose acceptance deadline falls in 2027, a year without data
    store = CaseStore(aws)
    case = routed_in_late_december(aws)
    assert case.due_kind == DueKind.acceptance and case.deadline_provisional
    assert case.due_at == PROVISIONAL_DUE and case.acceptance_due_at == PROVISIONAL_DUE
    assert (case.due_rule, case.due_from) == ("acceptance", RECEIVED)
    # and the case is in the sparse index of provisional deadlines due in 2027
    assert [found.tracking_no for found in store.provisional(2027)] == [NUMBER]
    # when the scheduled run happens before 2027's calendar is there / then nothing changes
    assert reminders.remind_deadlines(aws, now=datetime(2026, 12, 28, 10, tzinfo=ZONE)).recomputed == 0
    assert store.get(NUMBER).version == case.version  # type: ignore[union-attr]

    # when a deployment brings 2027's calendar, whose rest days move the deadline, and the next run happens
    deploy_2027(calendar_dir)
    run_at = datetime(2026, 12, 28, 10, 15, tzinfo=ZONE)
    summary = reminders.remind_deadlines(aws, now=run_at)
    # then the deadline is counted again from the receipt, by the official calendar, and no longer provisional
    assert summary.recomputed == 1
    after = store.get(NUMBER)
    assert after is not None
    assert after.due_at == OFFICIAL_DUE and after.acceptance_due_at == OFFICIAL_DUE
    assert not after.deadline_provisional and after.version == case.version + 1
    assert after.status == case.status and after.due_kind == DueKind.acceptance
    # and an audit event of the system records the old and the new due date
    [event] = [event for event in store.events(NUMBER) if event.action == "recompute_deadline"]
    assert (event.version, event.actor, event.at) == (after.version, "system:deadlines", run_at)
    assert event.details["old_due_at"] == PROVISIONAL_DUE.astimezone(UTC).isoformat()
    assert event.details["new_due_at"] == OFFICIAL_DUE.astimezone(UTC).isoformat()
    # and the case has left the index of provisional deadlines
    assert list(store.provisional(2027)) == []

    # when the run happens again / then it changes nothing
    assert reminders.remind_deadlines(aws, now=datetime(2026, 12, 28, 10, 30, tzinfo=ZONE)).recomputed == 0
    assert store.get(NUMBER).version == after.version  # type: ignore[union-attr]
    assert [e.action for e in store.events(NUMBER)].count("recompute_deadline") == 1


def test_cli_dry_run_lists_the_deadlines_it_would_move_and_changes_nothing(
    aws: Settings, calendar_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a provisional acceptance deadline and 2027's calendar deployed since
    case = routed_in_late_december(aws)
    deploy_2027(calendar_dir)
    # when `hotspot recompute-deadlines --dry-run` runs (against this test's moto)
    assert cli.main(["recompute-deadlines", "--dry-run", "--aws"]) == 0
    # then it names the case and both dates, and the case is unchanged
    out = capsys.readouterr().out
    assert f"would move the acceptance deadline of {NUMBER} from 2027-01-11 to 2027-01-13" in out
    assert "1 provisional deadlines to recompute" in out
    unchanged = CaseStore(aws).get(NUMBER)
    assert unchanged is not None and unchanged.version == case.version and unchanged.deadline_provisional
    # when it runs for real / then the deadline moves
    assert cli.main(["recompute-deadlines", "--aws"]) == 0
    assert "1 provisional deadlines recomputed" in capsys.readouterr().out
    assert CaseStore(aws).get(NUMBER).due_at == OFFICIAL_DUE  # type: ignore[union-attr]
