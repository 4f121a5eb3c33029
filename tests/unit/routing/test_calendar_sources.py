"""Our official-calendar data files agree, day by day, with the `chinese-calendar` package.

The data files are what the product uses (a county edits them when the State Council publishes next year's
arrangement); the package is an independent transcription of the same notices, used here as a check.
"""

from datetime import date, timedelta

import chinese_calendar
import pytest

from shared.routing import calendar


def days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_day_of_a_year_with_data_matches_the_package(year: int) -> None:
    # given a year for which we ship the official arrangement
    assert calendar.has_data(year)
    # when every day is compared with the package
    differing = [day for day in days_of(year) if calendar.is_working_day(day) != chinese_calendar.is_workday(day)]
    # then no day differs (holidays and make-up working days included)
    assert differing == []


def test_the_make_up_working_days_of_2026_are_working_days() -> None:
    # given the Saturdays and Sundays the 2026 notice turns into working days (调休上班)
    make_up = [
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ]
    # then both sources count them as working days, though they fall on weekends
    assert all(day.weekday() >= 5 for day in make_up)
    assert all(calendar.is_working_day(day) and chinese_calendar.is_workday(day) for day in make_up)
