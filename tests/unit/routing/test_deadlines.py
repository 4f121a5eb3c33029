"""Working-day calendar and legal deadlines."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.routing import calendar, deadlines
from shared.routing.deadlines import DeadlinePolicy, DeadlineRule, deadline_after

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _local(y: int, m: int, d: int, hour: int = 10) -> datetime:
    return datetime(y, m, d, hour, tzinfo=SHANGHAI)


def _end_of_day_utc(y: int, m: int, d: int) -> datetime:
    return datetime.combine(date(y, m, d), time(23, 59, 59), tzinfo=SHANGHAI).astimezone(UTC)


# ---- calendar ----


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 10, 1), False),  # 国庆
        (date(2026, 2, 17), False),  # 春节, a Tuesday
        (date(2026, 2, 14), True),  # make-up Saturday
        (date(2026, 9, 20), True),  # make-up Sunday
        (date(2025, 10, 11), True),  # make-up Saturday
        (date(2025, 1, 1), False),  # 元旦, a Wednesday
        (date(2026, 3, 7), False),  # ordinary Saturday
        (date(2026, 3, 9), True),  # ordinary Monday
    ],
)
def test_official_calendar(day: date, working: bool) -> None:
    # when asking about a day of a year with official data, then holidays and make-up days apply
    assert calendar.is_working_day(day) is working


def test_make_up_working_days_and_weekday_holidays() -> None:
    # given the official data of 2025 and 2026
    announced = {
        2025: ({(1, 26), (2, 8), (4, 27), (9, 28), (10, 11)}, 18),
        2026: ({(1, 4), (2, 14), (2, 28), (5, 9), (9, 20), (10, 10)}, 19),
    }
    for year, (make_up, weekdays_off) in announced.items():
        assert calendar.has_data(year)
        days = _days(year)
        # then exactly the announced weekend days are working days
        assert {(d.month, d.day) for d in days if d.weekday() >= 5 and calendar.is_working_day(d)} == make_up
        # and the holidays take the announced number of weekdays off
        assert sum(d.weekday() < 5 and not calendar.is_working_day(d) for d in days) == weekdays_off


def _days(year: int) -> list[date]:
    start = date(year, 1, 1)
    return [start + timedelta(days=i) for i in range((date(year + 1, 1, 1) - start).days)]


def test_year_without_data_falls_back_to_weekends() -> None:
    # given a year with no official data
    assert not calendar.has_data(2031)
    # then weekdays work, weekends rest, and nothing raises (2031-10-01 is a Wednesday)
    assert calendar.is_working_day(date(2031, 10, 1))
    assert not calendar.is_working_day(date(2031, 10, 4))


def test_next_working_day_skips_the_golden_week() -> None:
    # when the next working day after the start of 国庆 2026 is asked
    # then it is the day after the holiday
    assert calendar.next_working_day(date(2026, 9, 30)) == date(2026, 10, 8)


def test_add_working_days_counts_make_up_days() -> None:
    # given the Friday before the 2026 Spring Festival
    friday = date(2026, 2, 13)
    # then the make-up Saturday is the first working day, and the holiday is skipped
    assert calendar.add_working_days(friday, 1) == date(2026, 2, 14)
    assert calendar.add_working_days(friday, 2) == date(2026, 2, 24)
    assert calendar.add_working_days(friday, 0) == friday


# ---- deadlines ----


def test_acceptance_landing_on_a_holiday_moves_to_next_working_day() -> None:
    # given a complaint received on 2026-09-20; day 15 is 2026-10-05, inside 国庆
    result = deadline_after(_local(2026, 9, 20), "acceptance")
    # then it is due at the end of 2026-10-08, the first working day after, in UTC
    assert result.due_at == _end_of_day_utc(2026, 10, 8)
    assert result.provisional is False


def test_acceptance_landing_on_a_weekend_moves_to_monday() -> None:
    # given day 15 on an ordinary Saturday (2026-03-21)
    result = deadline_after(_local(2026, 3, 6), "acceptance")
    # then it is due on Monday
    assert result.due_at == _end_of_day_utc(2026, 3, 23)


def test_acceptance_landing_on_a_make_up_saturday_stays() -> None:
    # given day 15 on 2026-02-28, a make-up working Saturday
    result = deadline_after(_local(2026, 2, 13), "acceptance")
    # then that Saturday is the due date
    assert result.due_at == _end_of_day_utc(2026, 2, 28)


def test_days_are_counted_on_the_local_date() -> None:
    # given a receipt at 17:00 UTC on 02-12, which is 01:00 on 02-13 in the county
    result = deadline_after(datetime(2026, 2, 12, 17, 0, tzinfo=UTC), "acceptance")
    # then counting starts from the local date
    assert result.due_at == _end_of_day_utc(2026, 2, 28)


def test_due_at_is_aware_utc() -> None:
    # when a deadline is computed from a local time
    result = deadline_after(_local(2025, 6, 3), "reply")
    # then it is timezone-aware UTC
    assert result.due_at.tzinfo is not None
    assert result.due_at.utcoffset() == timedelta(0)
    assert result.due_at.tzinfo == UTC


def test_policy_rules() -> None:
    # given receipt/acceptance on 2025-03-03 (Monday)
    start = _local(2025, 3, 3)
    # then each rule counts its days: reply 60 days (2025-05-02, 劳动节) moves to 2025-05-06
    assert deadline_after(start, "reply").due_at == _end_of_day_utc(2025, 5, 6)
    # and extension/review windows count 30 days (2025-04-02, a Wednesday)
    for rule in ("extension", "review_request", "review_reply"):
        assert deadline_after(start, rule).due_at == _end_of_day_utc(2025, 4, 2)


def test_working_day_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a policy that counts 5 working days
    policy = DeadlinePolicy(
        due_time=time(23, 59, 59),
        rules={"quick": DeadlineRule(days=5, counting="working")},
    )
    monkeypatch.setattr(deadlines, "policy", lambda: policy)
    # when counted from Friday 2026-02-13 (Spring Festival ahead)
    result = deadline_after(_local(2026, 2, 13), "quick")
    # then 02-14 (make-up Saturday), 02-24, 02-25, 02-26, 02-27 count
    assert result.due_at == _end_of_day_utc(2026, 2, 27)


def test_year_without_data_is_provisional_not_an_error() -> None:
    # given a receipt in 2031, a year without official data
    result = deadline_after(_local(2031, 1, 1), "acceptance")
    # then weekends-only counting gives 2031-01-16 (a Thursday), marked provisional
    assert result.due_at == _end_of_day_utc(2031, 1, 16)
    assert result.provisional is True


def test_span_into_a_year_without_data_is_provisional() -> None:
    # given a receipt late in 2026 whose deadline falls in 2027 (no data yet)
    result = deadline_after(_local(2026, 12, 25), "acceptance")
    # then the deadline is provisional
    assert result.provisional is True


def test_naive_start_is_rejected() -> None:
    # when the start has no time zone, then it is refused rather than guessed
    with pytest.raises(ValueError):
        deadline_after(datetime(2026, 5, 6, 10, 0), "acceptance")


def test_unknown_rule_is_rejected() -> None:
    with pytest.raises(KeyError):
        deadline_after(_local(2026, 5, 6), "no_such_rule")
