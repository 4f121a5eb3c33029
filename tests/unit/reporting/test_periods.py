"""Periods of the statistics in county time: keys, Chinese labels, parsing back, weeks between two days."""

from datetime import UTC, date, datetime

import pytest

from shared.reporting import periods


def test_a_moment_belongs_to_its_county_year_month_week_campaign_and_phase() -> None:
    # given 17:30 UTC on Sunday 2026-05-24, which is already Monday 05-25 in Asia/Shanghai
    moment = datetime(2026, 5, 24, 17, 30, tzinfo=UTC)
    # when its periods are listed
    found = {period.key: period for period in periods.periods_of(moment)}
    # then they are those of the county day: the next ISO week, the campaign and its implementation phase
    assert list(found) == ["year:2026", "month:2026-05", "week:2026-W22", "campaign:2026", "phase:2026:2"]
    assert found["week:2026-W22"].label == "2026年第22周（5月25日至5月31日）"
    assert (found["week:2026-W22"].start, found["week:2026-W22"].end) == (date(2026, 5, 25), date(2026, 5, 31))
    assert found["phase:2026:2"].label == "2026年5月16日至9月20日"
    assert found["campaign:2026"].label == "2026年5月5日至10月20日"
    assert found["month:2026-05"].label == "2026年5月" and found["month:2026-05"].end == date(2026, 5, 31)


def test_outside_the_campaign_only_calendar_periods() -> None:
    # given a moment in November, after the campaign
    # when its periods are listed
    keys = [period.key for period in periods.periods_of(datetime(2026, 11, 27, 2, 0, tzinfo=UTC))]
    # then there is no campaign or phase period
    assert keys == ["year:2026", "month:2026-11", "week:2026-W48"]


def test_every_key_parses_back_to_the_same_period() -> None:
    # given the periods of a day in the campaign and the campaign's own periods
    listed = periods.periods_of(datetime(2026, 9, 21, 1, 0, tzinfo=UTC)) + periods.campaign_periods()
    # when each key is parsed
    # then the same period comes back
    assert all(periods.period(period.key) == period for period in listed)
    assert [period.key for period in periods.campaign_periods()] == [
        "campaign:2026",
        "phase:2026:1",
        "phase:2026:2",
        "phase:2026:3",
    ]


def test_an_iso_week_starting_in_december_keeps_both_years_in_its_label() -> None:
    # given the first ISO week of 2026, which starts on Monday 2025-12-29
    # when it is parsed
    week = periods.period("week:2026-W01")
    # then its label and dates say so
    assert week.label == "2026年第1周（2025年12月29日至2026年1月4日）"
    assert week.start == date(2025, 12, 29)


@pytest.mark.parametrize(
    "key", ["week:2026-W54", "month:2026-13", "phase:2026:4", "campaign:2025", "day:2026-05-01", "year:26"]
)
def test_a_bad_key_is_refused(key: str) -> None:
    # given a key of no period
    # when it is parsed
    # then it is refused
    with pytest.raises(ValueError):
        periods.period(key)


def test_weeks_between_two_days_are_the_iso_weeks_overlapping_them() -> None:
    # given a Saturday and the Monday nine days later
    # when the weeks between are listed
    weeks = periods.weeks_between(date(2026, 5, 16), date(2026, 5, 25))
    # then the weeks of both ends and the one between are there, Mondays first
    assert [week.key for week in weeks] == ["week:2026-W20", "week:2026-W21", "week:2026-W22"]
    assert weeks[0].start == date(2026, 5, 11)
