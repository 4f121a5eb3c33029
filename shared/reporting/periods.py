"""The periods of the statistics: which ones a moment belongs to, in county time, and what each is called.

Keys (shared.reporting.report_document.Period): `year:2026`, `month:2026-05`, `week:2026-W21` (ISO week, Monday first),
and within the campaign of shared/data/campaign.json `campaign:<id>` and `phase:<id>:<n>` (phases numbered
from 1 in the order of the file). Dates are the county's (Asia/Shanghai), never UTC days.
"""

import re
from datetime import date, datetime, timedelta

from shared.core.campaign import load_campaign
from shared.core.reference_data import county_timezone
from shared.reporting.report_document import Period


def campaign_id() -> str:
    return load_campaign().id


def _span(start: date, end: date) -> str:
    """2026年5月16日至9月20日; the year is repeated only when the span crosses one."""
    tail = f"{end.month}月{end.day}日" if end.year == start.year else f"{end.year}年{end.month}月{end.day}日"
    return f"{start.year}年{start.month}月{start.day}日至{tail}"


def _campaign_period() -> Period:
    phases = load_campaign().phases
    start, end = phases[0].start, phases[-1].end
    return Period(key=f"campaign:{campaign_id()}", kind="campaign", label=_span(start, end), start=start, end=end)


def _phase_period(number: int) -> Period:
    phase = load_campaign().phases[number - 1]
    key = f"phase:{campaign_id()}:{number}"
    return Period(key=key, kind="phase", label=_span(phase.start, phase.end), start=phase.start, end=phase.end)


def campaign_periods() -> list[Period]:
    """The whole campaign, then each of its phases."""
    return [_campaign_period()] + [_phase_period(number) for number in range(1, len(load_campaign().phases) + 1)]


def _year(year: int) -> Period:
    return Period(key=f"year:{year}", kind="year", label=f"{year}年", start=date(year, 1, 1), end=date(year, 12, 31))


def _month(year: int, month: int) -> Period:
    start = date(year, month, 1)
    end = (start + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    return Period(key=f"month:{year}-{month:02d}", kind="month", label=f"{year}年{month}月", start=start, end=end)


def _week(year: int, week: int) -> Period:
    start = date.fromisocalendar(year, week, 1)
    end = start + timedelta(days=6)
    span = _span(start, end)
    if start.year == year:  # else the ISO year's first week starts in December: keep the year
        span = span.removeprefix(f"{year}年")
    label = f"{year}年第{week}周（{span}）"
    return Period(key=f"week:{year}-W{week:02d}", kind="week", label=label, start=start, end=end)


def county_day(moment: datetime) -> date:
    return moment.astimezone(county_timezone()).date()


def periods_of(moment: datetime) -> list[Period]:
    """Every period the moment falls in: its year, month and ISO week, and the campaign and phase if within."""
    return periods_of_day(county_day(moment))


def periods_of_day(day: date) -> list[Period]:
    """Every period the county day falls in: its year, month and ISO week, and the campaign and phase if within."""
    iso = day.isocalendar()
    found = [_year(day.year), _month(day.year, day.month), _week(iso.year, iso.week)]
    found += [period for period in campaign_periods() if period.start <= day <= period.end]
    return found


def week_of(day: date) -> Period:
    iso = day.isocalendar()
    return _week(iso.year, iso.week)


def weeks_between(start: date, end: date) -> list[Period]:
    """The ISO weeks that overlap start..end (inclusive), in order."""
    weeks, monday = [], start - timedelta(days=start.weekday())
    while monday <= end:
        weeks.append(week_of(monday))
        monday += timedelta(days=7)
    return weeks


_KEYS = {
    "year": re.compile(r"year:(\d{4})"),
    "month": re.compile(r"month:(\d{4})-(\d{2})"),
    "week": re.compile(r"week:(\d{4})-W(\d{2})"),
    "campaign": re.compile(r"campaign:([^:]+)"),
    "phase": re.compile(r"phase:([^:]+):(\d{1,2})"),
}
# Every period key's shape in one pattern (the OpenAPI documents state it).
KEY_PATTERN = "^(" + "|".join(pattern.pattern for pattern in _KEYS.values()) + ")$"


def period(key: str) -> Period:
    """The period of a key; ValueError for a malformed key, an impossible date or another campaign."""
    kind = key.split(":", 1)[0]
    pattern = _KEYS.get(kind)
    found = pattern.fullmatch(key) if pattern else None
    if found is None:
        raise ValueError(f"not a period key: {key!r}")
    if kind in ("campaign", "phase") and found.group(1) != campaign_id():
        raise ValueError(f"not a period of campaign {campaign_id()}: {key!r}")
    if kind == "campaign":
        return _campaign_period()
    if kind == "phase":
        number = int(found.group(2))
        if not 1 <= number <= len(load_campaign().phases):
            raise ValueError(f"campaign {campaign_id()} has no phase {number}")
        return _phase_period(number)
    if kind == "year":
        return _year(int(found.group(1)))
    if kind == "month":
        if not 1 <= int(found.group(2)) <= 12:
            raise ValueError(f"no such month: {key!r}")
        return _month(int(found.group(1)), int(found.group(2)))
    try:
        return _week(int(found.group(1)), int(found.group(2)))
    except ValueError:
        raise ValueError(f"no such ISO week: {key!r}") from None
