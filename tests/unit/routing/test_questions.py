"""Telling questions (咨询) from complaints when the sender did not say (shared/routing/questions.py)."""

import json
from pathlib import Path

import pytest

from shared.routing import deadlines
from shared.routing.questions import is_question

ROOT = Path(__file__).resolve().parents[3]
LABELLED = [ROOT / "shared/data/labelled/tuning.jsonl", ROOT / "shared/data/labelled/heldout.jsonl"]

QUESTIONS = [
    "对行政执法部门作出的决定不服，应该向哪里申请行政复议，期限是多长时间？",
    "请问办理食品经营许可证需要什么材料？",
    "我想咨询一下，被交警扣分后多久可以申请复议",
    "开个小饭店需要办哪些手续，去哪个部门办理？",
    "行政处罚决定书送达后多长时间内可以起诉",
    "办理建设工程规划许可证的流程是怎样的",
    "企业年报逾期了怎么办理补报，有什么规定吗",
]

RHETORICAL_COMPLAINTS = [
    "在路口拦我车的是个辅警，一个人开的罚单，也没有正式交警在场，这样合法吗？",
    "环保局要求企业必须交排污保证金，说不交就不给办排污许可，这个保证金有依据吗？",
    "城管凭什么把我的三轮车扣了？请问还有没有王法，要求严肃处理！",
]


@pytest.mark.parametrize("text", QUESTIONS)
def test_questions_about_law_procedure_deadlines_or_where_to_go_are_questions(text: str) -> None:
    # given a question about law, procedure, deadlines or where to go, when recognised, then it is a question
    assert is_question(text)


@pytest.mark.parametrize("text", RHETORICAL_COMPLAINTS)
def test_rhetorical_questions_in_complaints_stay_complaints(text: str) -> None:
    # given a complaint that ends in a rhetorical question, when recognised, then it is not a question
    assert not is_question(text)


def test_almost_no_labelled_complaint_reads_as_a_question() -> None:
    # given every complaint of the labelled reference set with a kind of misconduct or area (not "other")
    complaints = [
        json.loads(line)["text"]
        for path in LABELLED
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and json.loads(line)["category"] != "other"
    ]
    # when each is recognised
    taken = [text for text in complaints if is_question(text)]
    # then at most one in a hundred is taken for a question (staff change the kind of those)
    assert len(complaints) > 300
    assert len(taken) <= len(complaints) // 100, taken


def test_a_question_is_answered_within_five_working_days_by_default() -> None:
    # given the default deadline policy, when reading the answer rule, then it counts 5 working days
    rule = deadlines.policy().rules["answer"]
    assert (rule.days, rule.counting) == (5, "working")
