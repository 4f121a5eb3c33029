"""Legal deadlines of a case, from the editable policy in `shared/data/deadline_policy.json`.

Days are counted on local dates in the county's time zone (departments.json), the start day itself not
counted; a deadline is due at the end of its due date, local time, and is returned in UTC.
"""

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.core.reference_data import county_timezone, load_json
from shared.routing import calendar


class DeadlineRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    days: int = Field(ge=1)
    counting: Literal["calendar", "working"]


class DeadlinePolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    due_time: time
    rules: dict[str, DeadlineRule]


class Deadline(BaseModel):
    model_config = ConfigDict(frozen=True)

    due_at: datetime  # aware, UTC
    # True when a year in the counted span had no official calendar (weekends-only fallback).
    provisional: bool
    # What it was counted from (deadline_after's arguments), kept on the case as due_rule / due_from / due_days
    # so that a provisional deadline is counted again once the missing year's calendar arrives.
    rule: str
    start: datetime
    days: int | None = None


@cache
def policy() -> DeadlinePolicy:
    return DeadlinePolicy.model_validate(load_json("deadline_policy.json"))


def deadline_after(start: datetime, rule_name: str, days: int | None = None) -> Deadline:
    """The deadline of policy rule `rule_name` counted from `start` (an aware datetime); `days` shortens the
    rule's period (an extension granted for fewer days than the most the policy allows)."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be timezone-aware")
    current = policy()
    if rule_name not in current.rules:
        raise KeyError(f"unknown deadline rule {rule_name!r}; known: {sorted(current.rules)}")
    rule = current.rules[rule_name]
    if days is not None:
        if not 1 <= days <= rule.days:
            raise ValueError(f"rule {rule_name!r} allows 1 to {rule.days} days, not {days}")
        rule = rule.model_copy(update={"days": days})
    zone = county_timezone()
    start_day = start.astimezone(zone).date()
    if rule.counting == "working":
        due_day = calendar.add_working_days(start_day, rule.days)
    else:
        due_day = start_day + timedelta(days=rule.days)
        if not calendar.is_working_day(due_day):
            due_day = calendar.next_working_day(due_day)
    due_at = datetime.combine(due_day, current.due_time, tzinfo=zone).astimezone(UTC)
    provisional = _provisional(start_day, due_day)
    return Deadline(due_at=due_at, provisional=provisional, rule=rule_name, start=start, days=days)


def _provisional(first: date, last: date) -> bool:
    return not all(calendar.has_data(year) for year in range(first.year, last.year + 1))
