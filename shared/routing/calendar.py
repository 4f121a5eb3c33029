"""China's official working-day calendar: public holidays and make-up working days (调休).

One JSON file per year in `shared/data/calendar/cn_<year>.json`, copied from the State Council's yearly
notice. A year without a file falls back to weekends-only, so a deadline far ahead is still computed
(callers mark it provisional with `has_data`); nothing here raises for a missing year. Files are read once per
process: a new year's file takes effect with the next deployment, whose scheduled run then recomputes the
provisional deadlines (shared/routing/provisional.py).
"""

import json
from datetime import date, timedelta
from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from shared.core.reference_data import DATA_DIR

# Where the year files are; tests point it at a directory of their own (and clear `_year`'s cache).
CALENDAR_DIR = DATA_DIR / "calendar"


class _Holiday(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    # The JSON says "from"/"to"; "from" is a Python keyword.
    first: date = Field(alias="from")
    last: date = Field(alias="to")


class _MakeUpDay(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    date: date


class _YearFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    year: int
    holidays: tuple[_Holiday, ...]
    make_up_working_days: tuple[_MakeUpDay, ...]


class _Year(BaseModel):
    model_config = ConfigDict(frozen=True)

    rest_days: frozenset[date]
    working_days: frozenset[date]


@cache
def _year(year: int) -> _Year | None:
    path = CALENDAR_DIR / f"cn_{year}.json"
    if not path.is_file():
        return None
    data = _YearFile.model_validate(json.loads(path.read_text(encoding="utf-8")))
    rest: set[date] = set()
    for holiday in data.holidays:
        day = holiday.first
        while day <= holiday.last:
            rest.add(day)
            day += timedelta(days=1)
    working = {m.date for m in data.make_up_working_days}
    # Catch editing mistakes early: a wrong year or a day listed as both rest and work.
    if data.year != year or any(d.year != year for d in rest | working) or rest & working:
        raise ValueError(f"calendar/cn_{year}.json: dates must be in {year} and not both rest and work")
    return _Year(rest_days=frozenset(rest), working_days=frozenset(working))


def has_data(year: int) -> bool:
    """True when the official calendar of that year is known."""
    return _year(year) is not None


def is_working_day(day: date) -> bool:
    known = _year(day.year)
    if known is not None:
        if day in known.working_days:
            return True
        if day in known.rest_days:
            return False
    return day.weekday() < 5


def next_working_day(day: date) -> date:
    """The first working day strictly after `day`."""
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(day: date, n: int) -> date:
    """The n-th working day after `day` (`day` itself never counts); n == 0 returns `day`."""
    if n < 0:
        raise ValueError("n must not be negative")
    for _ in range(n):
        day = next_working_day(day)
    return day
