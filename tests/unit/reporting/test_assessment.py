"""The department assessment (shared/reporting/assessment.py) from figures and the rules in
shared/data/assessment.json."""

import pytest
from pydantic import ValidationError

from shared.reporting import assessment
from shared.reporting.assessment import MaterialsStatus, assess
from shared.reporting.report_document import DepartmentRow, DepartmentScore, ScoreItem


def row(department: str = "GAJ", **figures: int) -> DepartmentRow:
    return DepartmentRow(department=department, name=department, **figures)


def item(score: DepartmentScore, code: str) -> ScoreItem:
    return next(found for found in score.items if found.code == code)


def only(rows: list[DepartmentRow], materials: dict[str, MaterialsStatus] | None = None) -> DepartmentScore:
    [score] = assess(rows, materials or {})
    return score


def test_the_rules_file_weighs_100_points_and_lists_satisfaction_unweighted() -> None:
    # given the county's rules file / when it is read
    rules = assessment.rules()
    weights = {entry.code: entry.weight for entry in rules.items}
    # then the weights add up to 100, every item the plan asks for is there, and satisfaction carries no weight
    assert sum(weights.values()) == 100
    assert {"accepted_on_time", "closed_on_time", "corrected", "typical_cases", "escalations"} <= set(weights)
    assert {"lawsuits_accountability", "materials_on_time"} <= set(weights)
    assert weights["satisfaction"] == 0


def test_each_score_shows_the_numbers_behind_it() -> None:
    # given a department that closed 10 cases, 9 on time (the full mark needs 100%, none at 60% or below)
    score = only([row(closed=10, closed_on_time=9, accepted=10, accepted_on_time=10)])
    # when it is assessed
    closing = item(score, "closed_on_time")
    # then the basis names the figures in Chinese and the score lies between the thresholds: 20 x (0.9-0.6)/0.4
    assert closing.basis.startswith("按期办结 9 件 / 办结 10 件 = 90.0%")
    assert closing.numbers == {"closed_on_time": 9, "closed": 10, "rate": 0.9}
    assert closing.score == pytest.approx(15.0)
    assert item(score, "accepted_on_time").score == 15
    # and the total is the sum of the items
    assert score.total == pytest.approx(sum(entry.score for entry in score.items))


def test_a_department_with_no_cases_is_not_faulted_for_rates_it_has_nothing_to_count_for() -> None:
    # given a department with no cases at all
    score = only([row("JYZ")])
    # when it is assessed / then no rate divides by zero: nothing to fault, full marks, and the basis says why
    closing = item(score, "closed_on_time")
    assert closing.score == closing.weight and "无办结案件" in closing.basis
    assert closing.numbers["rate"] is None
    assert item(score, "accepted_on_time").score == 15 and item(score, "corrected").score == 15
    # but it investigated no typical case, which the plan asks of every department
    assert item(score, "typical_cases").score == 0
    assert score.total == 85


@pytest.mark.parametrize(("typical", "share"), [(0, 0.0), (1, 0.5), (2, 1.0), (5, 1.0)])
def test_one_typical_case_earns_half_and_two_the_full_mark(typical: int, share: float) -> None:
    # given a department that investigated `typical` typical cases of unlawful enforcement
    found = item(only([row(typical_negative=typical)]), "typical_cases")
    # when assessed / then the plan's ladder applies (四(三): at least one or two)
    assert found.score == pytest.approx(found.weight * share)
    assert f"{typical} 件" in found.basis


def test_substantiated_cases_with_several_measures_do_not_raise_the_rate_above_100_percent() -> None:
    # given 4 cases found substantiated (3 fully, 1 in part), whose measures number 5
    found = item(
        only([row(substantiated=3, partly_substantiated=1, corrected=3, rectification_ordered=2)]), "corrected"
    )
    # when assessed / then the rate counts at most the substantiated cases, and the basis says so
    assert found.numbers["rate"] == 1.0 and found.score == found.weight
    assert "5 件（按 4 件计） / 属实、部分属实 4 件 = 100.0%" in found.basis


def test_a_rate_at_or_below_the_zero_threshold_scores_nothing() -> None:
    # given a department that accepted 10 cases, 5 of them on time (zero marks at 60%)
    found = item(only([row(accepted=10, accepted_on_time=5)]), "accepted_on_time")
    # when assessed / then it scores 0, and the basis gives the thresholds
    assert found.score == 0
    assert "60.0% 及以下不得分" in found.basis


def test_escalations_lawsuits_and_accountability_are_deducted_each_never_below_zero() -> None:
    # given one department escalated twice, another with a lost lawsuit and two accountability records
    escalated, sued = assess(
        [row("GAJ", escalations=2), row("SCJG", lawsuits_lost=1, wrong_decision_accountability=2)], {}
    )
    # when assessed / then each escalation costs 2 points of 10
    assert item(escalated, "escalations").score == 6
    assert item(escalated, "escalations").basis == "被督办 2 件 × 2 分 = 扣 4 分"
    # and 5 for the lawsuit plus 3 for each accountability record is more than the item's 10: it stops at 0
    lawsuits = item(sued, "lawsuits_accountability")
    assert lawsuits.score == 0 and lawsuits.numbers["deducted"] == 11
    assert lawsuits.basis == "行政诉讼败诉 1 件 × 5 分 + 错案责任追究 2 件 × 3 分 = 扣 11 分（最多扣 10 分）"


def test_materials_count_on_time_fully_late_half_and_not_yet_due_not_at_all() -> None:
    # given a department with 2 materials on time, 1 late, 1 missing and 1 not yet due
    status = MaterialsStatus(required=5, on_time=2, late=1, missing=1, pending=1)
    found = item(only([row()], {"GAJ": status}), "materials_on_time")
    # when assessed / then the share is (2 + 0.5) / 4 of the materials due so far
    assert found.score == pytest.approx(15 * 2.5 / 4, abs=0.01)
    assert found.basis.endswith("/ 已到期 4 项 = 62.5%")
    # and a department with nothing due yet loses nothing
    nothing_due = item(only([row()], {"GAJ": MaterialsStatus(required=4, pending=4)}), "materials_on_time")
    assert nothing_due.score == 15 and "尚无到期" in nothing_due.basis


def test_the_supervisor_and_unrouted_cases_are_not_assessed() -> None:
    # given the county office's row, the unrouted row and a town's row
    scores = assess([row("FZB", received=3), row("UNROUTED", received=2), row("LQZ")], {})
    # when assessed / then only the town gets a score
    assert [score.department for score in scores] == ["LQZ"]


def test_satisfaction_is_shown_but_never_scored() -> None:
    # given any department / when assessed / then satisfaction is listed with weight 0 and scores 0
    found = item(only([row(closed=3, closed_on_time=3)]), "satisfaction")
    assert (found.weight, found.score) == (0, 0) and "不计分" in found.basis


def test_other_weights_from_the_file_change_the_score() -> None:
    # given rules where the on-time closing rate weighs 70 and escalations 30
    data = assessment.rules().model_dump()
    data["items"] = [{**entry, "weight": 70} for entry in data["items"] if entry["code"] == "closed_on_time"] + [
        {**entry, "weight": 30} for entry in data["items"] if entry["code"] == "escalations"
    ]
    rules = assessment.Rules.model_validate(data)
    # when a department that closed all on time but was escalated once is assessed
    [score] = assess([row(closed=4, closed_on_time=4, escalations=1)], {}, rules)
    # then only those two items count, with the new weights
    assert [(entry.code, entry.score) for entry in score.items] == [("closed_on_time", 70), ("escalations", 28)]


def test_a_county_can_weigh_satisfaction_by_its_call_back_figures() -> None:
    # given rules where satisfaction is a rate of the call-back answers, weighing 20 of the closing rate's points
    data = assessment.rules().model_dump()
    for entry in data["items"]:
        if entry["code"] == "closed_on_time":
            entry["weight"] = 0
        if entry["code"] == "satisfaction":
            entry.update(
                weight=20,
                formula="rate",
                numerator=["satisfied", "basically_satisfied"],
                denominator=["callback_answered"],
                full_at=0.9,
                zero_at=0.5,
                empty_share=1.0,
                empty="无回访评价，不扣分",
            )
    rules = assessment.Rules.model_validate(data)
    # when a department whose answered call-backs were 7 of 10 satisfied or basically satisfied is assessed
    [score] = assess([row(callback_asked=12, callback_answered=10, satisfied=5, basically_satisfied=2)], {}, rules)
    # then the item scores halfway between its thresholds, with the figures named in its basis
    found = item(score, "satisfaction")
    assert found.score == pytest.approx(10) and "满意、基本满意 7 件 / 回访已评价 10 件 = 70.0%" in found.basis


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda items: items[0].update(weight=items[0]["weight"] + 1), "add up to 101"),
        (lambda items: items[-1].update(weight=5, formula="not_weighted"), "less than or equal to 0"),
        (lambda items: items[0].update(numerator=["no_such_figure"]), "numerator"),
        (lambda items: items[0].update(zero_at=1.0 - 1e-9, full_at=0.5), "zero_at must be below full_at"),
    ],
)
def test_a_rules_file_with_a_mistake_is_refused(change, message: str) -> None:
    # given the rules file with one mistake
    data = assessment.rules().model_dump()
    change(data["items"])
    # when it is read / then it is refused, saying what is wrong
    with pytest.raises(ValidationError, match=message):
        assessment.Rules.model_validate(data)
