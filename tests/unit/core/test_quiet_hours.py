"""The quiet hours, when no SMS goes out: whether a moment is in them, and when they are over."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from shared.core.notices import QuietHours

COUNTY = ZoneInfo("Asia/Shanghai")
NIGHT = QuietHours(start=time(21), end=time(8))


@pytest.mark.parametrize(
    ("moment", "over_at"),
    [
        (datetime(2026, 12, 4, 14, 0, tzinfo=COUNTY), datetime(2026, 12, 4, 14, 0, tzinfo=COUNTY)),
        (datetime(2026, 12, 4, 23, 30, tzinfo=COUNTY), datetime(2026, 12, 5, 8, 0, tzinfo=COUNTY)),
        (datetime(2026, 12, 4, 21, 0, tzinfo=COUNTY), datetime(2026, 12, 5, 8, 0, tzinfo=COUNTY)),
        (datetime(2026, 12, 5, 3, 15, tzinfo=COUNTY), datetime(2026, 12, 5, 8, 0, tzinfo=COUNTY)),
        (datetime(2026, 12, 5, 8, 0, tzinfo=COUNTY), datetime(2026, 12, 5, 8, 0, tzinfo=COUNTY)),
    ],
)
def test_quiet_hours_across_midnight_are_over_the_next_morning(moment: datetime, over_at: datetime) -> None:
    # given quiet hours from 21:00 to 08:00 county time
    # when a moment is asked about
    # then a moment outside them is itself, one inside them waits for 08:00 (the next day's after 21:00)
    assert NIGHT.over_at(moment) == over_at


def test_quiet_hours_within_a_day_are_over_the_same_day() -> None:
    # given quiet hours from 12:00 to 14:00
    lunch = QuietHours(start=time(12), end=time(14))
    # when a moment in them is asked about, then they are over at 14:00 the same day
    assert lunch.over_at(datetime(2026, 12, 4, 12, 30, tzinfo=COUNTY)) == datetime(2026, 12, 4, 14, 0, tzinfo=COUNTY)
    assert not lunch.contains(time(14)) and lunch.contains(time(12))
