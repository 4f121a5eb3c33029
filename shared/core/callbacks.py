"""The call-back (回访) after a reply: asking once, reading an answer, recording it on the case.

The question is asked at the case's first reply (shared/routing/workflow.py sets `Case.callback`, the notice goes
out with the reply's, shared/routing/callbacks.py). Answers come by SMS and the web or JSON API
(shared/intake/callbacks.py) and from staff who called the complainant (the case action `record_callback`). Each
answer is a new version of the case with its audit event, stored with the case event for the statistics in an
outbox (shared/core/outbox.py), so the satisfaction figures count it exactly once. Wording and the window:
shared/data/callbacks.json.
"""

import re
import unicodedata
from datetime import datetime, timedelta
from functools import cache
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel
from pydantic_core import PydanticCustomError

from shared.core import outbox, reference_data
from shared.core.campaign import load_campaign
from shared.core.changes import CaseChange, change_case
from shared.core.dal.cases import CaseStore
from shared.core.dal.items import ConditionFailed
from shared.core.errors import ApiError
from shared.core.models import Callback, Case, Rating
from shared.core.observability import logger
from shared.core.settings import Settings

Via = Literal["sms", "web", "api", "phone"]
ANSWER_ACTION = "callback_answer"
ATTEMPTS = 3
_SEPARATORS = re.compile(r"[\s\W_]+")


class RatingRule(BaseModel):
    label: str
    sms: list[str]


class CallbackRules(BaseModel):
    answer_days: int
    comment_max_chars: int
    ratings: dict[Rating, RatingRule]
    review_hint: str


@cache
def rules() -> CallbackRules:
    return CallbackRules.model_validate(reference_data.load_json("callbacks.json"))


def _comment(value: str | None) -> str | None:
    most = rules().comment_max_chars
    if value is not None and len(value) > most:
        raise PydanticCustomError("too_long", "意见不能超过 {most} 字", {"most": most})
    return value or None


# What a complainant says with a rating (the page, the API, a telephone call-back), within callbacks.json's length.
Comment = Annotated[str | None, AfterValidator(_comment)]


def label(rating: Rating) -> str:
    return rules().ratings[rating].label


def reachable(case: Case) -> bool:
    """Whom the question can reach: a named complainant (anonymous ones are told nothing, as for every notice)."""
    return case.has_complainant and not case.anonymous


def ask(case: Case, now: datetime) -> Callback | None:
    """The call-back a reply opens: once per case (a reply after a review asks nothing again)."""
    if case.callback is not None or not reachable(case):
        return None
    return Callback(asked_at=now, due_at=now + timedelta(days=rules().answer_days))


def is_open(case: Case, now: datetime) -> bool:
    return case.callback is not None and now <= case.callback.due_at


def parse_rating(text: str) -> Rating | None:
    """The rating a text gives (`2`, `２`, `基本满意。`), or None when it is not only a rating."""
    word = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text))
    for rating, rule in rules().ratings.items():
        if word in rule.sms:
            return rating
    return None


def review_hint(case: Case) -> str:
    """What a dissatisfied complainant is told about a review (复查)."""
    due = case.review_request_due_at
    day = f"{due.astimezone(reference_data.county_timezone()):%Y年%m月%d日}" if due else ""
    hotlines = load_campaign().hotlines
    hotline = hotlines[0].number if hotlines else ""
    return rules().review_hint.format(due=day, hotline=hotline)


def closed_error() -> ApiError:
    return ApiError(409, "callback_closed", "该投诉当前不在回访评价期内")


def answered(case: Case, rating: Rating, comment: str | None, via: Via, now: datetime) -> Callback:
    """The case's call-back with this answer, replacing an earlier one; 409 when the window is not open."""
    if case.callback is None or not is_open(case, now):
        raise closed_error()
    return case.callback.model_copy(update={"rating": rating, "answered_at": now, "via": via, "comment": comment})


def answer_details(case: Case, callback: Callback) -> dict:
    """The audit event's details of an answer: the rating, how it came, and the one it replaces."""
    replaced = case.callback.rating if case.callback else None
    return {"rating": callback.rating, "via": callback.via, "replaces": replaced}


def record(
    settings: Settings,
    tracking_no: str,
    rating: Rating,
    comment: str | None,
    via: Via,
    actor: str,
    now: datetime,
) -> Case:
    """Record a complainant's answer on the case, with its audit event and its case event (statistics)."""
    store = CaseStore(settings)
    for _ in range(ATTEMPTS):
        before = store.get(tracking_no)
        if before is None:
            raise ApiError(404, "not_found", "未找到该投诉，请核对投诉编号和查询码")
        callback = answered(before, rating, comment, via, now)
        change: CaseChange = change_case(
            before, actor, ANSWER_ACTION, now, details=answer_details(before, callback), callback=callback
        )
        pending = outbox.entry(
            tracking_no,
            change.after.version,
            now,
            [(settings.events_queue, outbox.transition_message(change.after, None))],
        )
        try:
            store.transition_together([change], [outbox.write(store, pending)])
        except ConditionFailed:
            continue  # changed meanwhile: read it again
        logger.info("callback answered", extra={"tracking_no": tracking_no, "via": via})
        outbox.deliver(settings, pending)
        return change.after
    raise ApiError(409, "version_conflict", "投诉正在更新，请稍后再试")
