"""EventBridge schedule expressions as the local stack reads them: rates, cron fields, next fire times."""

from datetime import UTC, datetime, timedelta

import pytest
from chalice.app import Cron, Rate

from infra.local_stack import CronSchedule, RateSchedule, parse_schedule

# A fixed clock: Friday 27 November 2026, 16:07:30 UTC.
NOW = datetime(2026, 11, 27, 16, 7, 30, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_rate_fires_one_period_after_the_rule_is_created_and_every_period_after() -> None:
    # given a five-minute rate created now
    schedule = parse_schedule("rate(5 minutes)", origin=NOW)
    # when asking for the fire times from the creation on
    first = schedule.next_after(NOW)
    assert first is not None
    second = schedule.next_after(first)
    # then they come every five minutes, counted from the creation
    assert first == NOW + timedelta(minutes=5)
    assert second == NOW + timedelta(minutes=10)
    assert schedule.next_after(NOW + timedelta(minutes=7)) == NOW + timedelta(minutes=10)


@pytest.mark.parametrize(
    ("expression", "period"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(2 hours)", timedelta(hours=2)),
        ("rate(1 day)", timedelta(days=1)),
    ],
)
def test_rate_units(expression: str, period: timedelta) -> None:
    # given / when a rate expression is parsed
    schedule = parse_schedule(expression, origin=NOW)
    # then its period is the stated one
    assert schedule == RateSchedule(period=period, origin=NOW)


def test_chalice_schedule_objects_produce_expressions_that_parse() -> None:
    # given the expressions Chalice's Rate and Cron objects write
    rate = Rate(1, unit=Rate.HOURS).to_string()
    cron = Cron(0, 2, "*", "*", "?", "*").to_string()
    # when parsed
    rate_schedule = parse_schedule(rate, origin=NOW)
    cron_schedule = parse_schedule(cron, origin=NOW)
    # then they fire when Chalice means them to
    assert rate_schedule.next_after(NOW) == NOW + timedelta(hours=1)
    assert cron_schedule.next_after(NOW) == utc(2026, 11, 28, 2, 0)


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minutes)",  # EventBridge wants the singular for 1
        "rate(5 minute)",
        "rate(0 minutes)",
        "rate(5 weeks)",
        "every 5 minutes",
        "cron(0 2 * * *)",  # five fields, the Unix way
        "cron(0 2 * * * *)",  # neither day field is `?`
        "cron(0 2 ? * ? *)",  # both are
        "cron(? 2 * * ? *)",
        "cron(60 2 * * ? *)",
        "cron(0 2 L * ? *)",
        "cron(0 2 ? * 6#3 *)",
        "cron(0 2 * * ? 1969)",
        "cron(0/0 2 * * ? *)",
    ],
)
def test_invalid_expressions_are_refused(expression: str) -> None:
    # given an expression EventBridge would refuse (or one using L, W or #, not supported locally)
    # when parsed / then it raises
    with pytest.raises(ValueError):
        parse_schedule(expression, origin=NOW)


def test_cron_fields_take_lists_ranges_steps_and_names() -> None:
    # given a cron with every kind of field syntax
    schedule = parse_schedule("cron(0/20 8-10,14 ? JAN-MAR,nov MON-FRI 2026-2027)", origin=NOW)
    # then each field holds the values it means
    assert isinstance(schedule, CronSchedule)
    assert schedule.minutes == {0, 20, 40}
    assert schedule.hours == {8, 9, 10, 14}
    assert schedule.days_of_month is None
    assert schedule.months == {1, 2, 3, 11}
    assert schedule.days_of_week == {2, 3, 4, 5, 6}
    assert schedule.years == {2026, 2027}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # every 15 minutes: the next quarter hour
        ("cron(0/15 * * * ? *)", utc(2026, 11, 27, 16, 15)),
        # daily at 02:00 UTC: tomorrow, since today's has passed
        ("cron(0 2 * * ? *)", utc(2026, 11, 28, 2, 0)),
        # later today
        ("cron(30 18 * * ? *)", utc(2026, 11, 27, 18, 30)),
        # weekdays at 01:00 (AWS counts 1 = Sunday): Friday now, so Monday
        ("cron(0 1 ? * MON-FRI *)", utc(2026, 11, 30, 1, 0)),
        ("cron(0 1 ? * 2-6 *)", utc(2026, 11, 30, 1, 0)),
        # Sundays
        ("cron(0 9 ? * 1 *)", utc(2026, 11, 29, 9, 0)),
        # the first of each month
        ("cron(0 0 1 * ? *)", utc(2026, 12, 1, 0, 0)),
        # across the year end
        ("cron(0 0 15 1 ? *)", utc(2027, 1, 15, 0, 0)),
        # a given year only
        ("cron(0 0 20 9 ? 2028)", utc(2028, 9, 20, 0, 0)),
        # 31st: skips the months without one
        ("cron(0 12 31 * ? *)", utc(2026, 12, 31, 12, 0)),
    ],
)
def test_cron_next_fire_time(expression: str, expected: datetime) -> None:
    # given a cron schedule and a fixed clock
    schedule = parse_schedule(expression, origin=NOW)
    # when asking for the next fire time
    # then it is the first matching minute after now
    assert schedule.next_after(NOW) == expected


def test_cron_next_fire_time_is_strictly_after_the_given_moment() -> None:
    # given a schedule that matches the current minute exactly
    schedule = parse_schedule("cron(0 2 * * ? *)", origin=NOW)
    # when asking from that very fire time
    # then the next is a day later, not the same one again
    assert schedule.next_after(utc(2026, 11, 28, 2, 0)) == utc(2026, 11, 29, 2, 0)


def test_cron_without_a_future_time_has_no_next_fire() -> None:
    # given a schedule whose only year has passed, and one for a day that never comes
    past = parse_schedule("cron(0 0 1 1 ? 2025)", origin=NOW)
    never = parse_schedule("cron(0 0 30 2 ? *)", origin=NOW)
    # then neither fires again
    assert past.next_after(NOW) is None
    assert never.next_after(NOW) is None
