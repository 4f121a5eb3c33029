"""Counting a provisional deadline again (shared/routing/provisional.py), without AWS."""

import json
from datetime import datetime
from pathlib import Path

from shared.core.models import Case, Channel, DueKind, Status
from shared.core.reference_data import county_timezone
from shared.routing import calendar, provisional
from shared.routing.deadlines import deadline_after

ZONE = county_timezone()


def extended_case() -> Case:
    """A reply deadline extended by 20 days from 2026-12-21, counted while 2027 had no data."""
    extended = deadline_after(datetime(2026, 12, 21, 23, 59, 59, tzinfo=ZONE), "extension", 20)
    return Case(
        tracking_no="ZF261001000009",
        channel=Channel.web,
        received_at=datetime(2026, 9, 1, tzinfo=ZONE),
        description="测试",
        raw_key="raw/web/x.json",
        verification_hash="0" * 64,
        status=Status.investigating,
        due_at=extended.due_at,
        due_kind=DueKind.reply,
        reply_due_at=extended.due_at,
        deadline_provisional=extended.provisional,
        due_rule=extended.rule,
        due_from=extended.start,
        due_days=extended.days,
        reminders_sent=["before-3"],
        version=7,
    )


def test_an_extension_is_counted_again_with_the_days_granted(calendar_dir: Path) -> None:
    # given a provisional extended reply deadline: 20 days from 12-21 is Sunday 2027-01-10, so Monday 01-11
    case = extended_case()
    assert case.deadline_provisional and case.due_at == datetime(2027, 1, 11, 23, 59, 59, tzinfo=ZONE)
    # when 2027's calendar arrives, with 01-11 a rest day
    year = {"year": 2027, "holidays": [{"name": "测试", "from": "2027-01-11", "to": "2027-01-11"}]}
    (calendar_dir / "cn_2027.json").write_text(json.dumps({**year, "make_up_working_days": []}), encoding="utf-8")
    calendar._year.cache_clear()
    change = provisional.recount(case, datetime(2026, 12, 28, tzinfo=ZONE))
    # then the 20 days granted are counted again, into 01-12, on the reply deadline, with the reminders kept
    assert change is not None
    after, event, recomputed = change
    due = datetime(2027, 1, 12, 23, 59, 59, tzinfo=ZONE)
    assert after.due_at == due and after.reply_due_at == due and not after.deadline_provisional
    assert after.version == 8 and after.reminders_sent == ["before-3"] and after.status == Status.investigating
    assert event.action == "recompute_deadline" and event.details["rule"] == "extension"
    assert (recomputed.old_due_at, recomputed.new_due_at) == (case.due_at, due)


def test_nothing_is_counted_again_while_the_year_still_lacks_data(calendar_dir: Path) -> None:
    # given the same provisional deadline and no 2027 calendar / when counted again / then there is no change
    assert provisional.recount(extended_case(), datetime(2026, 12, 28, tzinfo=ZONE)) is None
