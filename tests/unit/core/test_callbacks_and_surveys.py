"""The call-back's rules (shared/core/callbacks.py) and what survey answers add up to (shared/core/surveys.py)."""

from datetime import UTC, datetime, timedelta

import pytest

from shared.core import callbacks
from shared.core.errors import ApiError
from shared.core.models import Callback, Case, Channel, Rating
from shared.core.surveys import Tally

NOW = datetime(2026, 6, 10, 2, 0, tzinfo=UTC)


def a_case(**fields) -> Case:
    values = {
        "tracking_no": "ZF260601000001",
        "channel": Channel.sms,
        "received_at": NOW - timedelta(days=20),
        "description": "交警乱罚款",
        "raw_key": "raw/sms/x",
        "verification_hash": "h",
        "has_complainant": True,
    }
    return Case.model_validate({**values, **fields})


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("1", Rating.satisfied),
        ("２", Rating.basically_satisfied),
        (" 3。", Rating.dissatisfied),
        ("满意", Rating.satisfied),
        ("基本满意！", Rating.basically_satisfied),
        ("不 满意", Rating.dissatisfied),
        ("12", None),
        ("4", None),
        ("很满意，谢谢", None),
        ("交警又来罚款了", None),
    ],
)
def test_a_text_is_a_rating_only_when_it_is_nothing_else(text: str, rating: Rating | None) -> None:
    # given a text from a complainant / when it is read / then only a bare rating is one
    assert callbacks.parse_rating(text) == rating


def test_the_question_is_asked_once_and_only_of_a_named_complainant() -> None:
    # given a named complainant's case, an anonymous one and one asked already
    asked = callbacks.ask(a_case(), NOW)
    # then the first is asked now, with the window of callbacks.json; the others are not
    assert asked == Callback(asked_at=NOW, due_at=NOW + timedelta(days=callbacks.rules().answer_days))
    assert callbacks.ask(a_case(anonymous=True), NOW) is None
    assert callbacks.ask(a_case(callback=asked), NOW) is None


def test_an_answer_replaces_the_last_until_the_window_closes() -> None:
    # given a case asked ten days ago and answered satisfied
    open_case = a_case(callback=Callback(asked_at=NOW - timedelta(days=10), due_at=NOW + timedelta(days=5)))
    first = callbacks.answered(open_case, Rating.satisfied, None, "sms", NOW)
    # when it is answered again before the window closes
    second = callbacks.answered(open_case.model_copy(update={"callback": first}), Rating.dissatisfied, "慢", "web", NOW)
    # then the later answer stands, and the audit details name what it replaced
    assert (second.rating, second.via, second.comment) == (Rating.dissatisfied, "web", "慢")
    details = callbacks.answer_details(open_case.model_copy(update={"callback": first}), second)
    assert details == {"rating": Rating.dissatisfied, "via": "web", "replaces": Rating.satisfied}
    # and after the window, or without a question, an answer is refused with 409
    for case, moment in ((open_case, NOW + timedelta(days=6)), (a_case(), NOW)):
        with pytest.raises(ApiError) as refused:
            callbacks.answered(case, Rating.satisfied, None, "api", moment)
        assert (refused.value.status, refused.value.code) == (409, "callback_closed")


def test_a_tally_counts_links_answers_complaints_and_ratings() -> None:
    # given three links: one unanswered, one answered with ratings, one answered and filed as a complaint
    links = [
        {"number": 1},
        {"number": 2, "answer": {"ratings": {"JJDD": {"fees": "dissatisfied", "duty": "satisfied"}}, "text": ""}},
        {"number": 3, "answer": {"ratings": {"JJDD": {"fees": "satisfied"}}, "text": "乱收费"}, "tracking_no": "ZF1"},
    ]
    # when they are added up
    tally = Tally()
    tally.add(links)
    # then issued, answered and filed are counted, and each level per department and aspect
    assert (tally.issued, tally.answered, tally.complaints) == (3, 2, 1)
    assert tally.ratings == {"JJDD": {"fees": {"dissatisfied": 1, "satisfied": 1}, "duty": {"satisfied": 1}}}
