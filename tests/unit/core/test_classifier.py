"""The rule-based classifier: categories, routing rules, confidence and the two labelled corpora."""

import json
from collections import Counter
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.core import ngram_model, reference_data
from shared.core.classifier import (
    Classification,
    builtin_model,
    classify,
    evaluate,
    model_text,
    reference_examples,
    train_model,
)
from shared.core.ngram_model import Example

DATA = Path(__file__).parents[2] / "data"
CATEGORY_CODES = {c.code for c in reference_data.categories()}


def _load(name: str) -> list[dict[str, str]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _misses(cases: list[dict[str, str]]) -> list[str]:
    misses = []
    for case in cases:
        result = classify(case["text"], case.get("respondent"))
        if (result.category, result.department) != (case["category"], case["department"]):
            misses.append(
                f"{case['text'][:40]} expected {case['category']}/{case['department']}, "
                f"got {result.category}/{result.department} "
                f"{result.matched_keywords} {result.matched_aliases}"
            )
    return misses


# ---- the labelled corpora ----


def test_reference_samples_mostly_right() -> None:
    # given the 14 reference samples
    cases = _load("sample_complaints.jsonl")
    assert len(cases) == 14
    # when each is classified
    misses = _misses(cases)
    # then at least 12 have both category and department right
    assert len(misses) <= 2, "\n".join(misses)


def test_own_corpus_is_well_formed() -> None:
    # given the team's own labelled corpus
    cases = _load("classifier_cases.jsonl")
    codes = {d.code for d in reference_data.departments()}
    # then it is big enough, covers every category at least four times, and uses real codes
    assert len(cases) >= 44
    per_category = Counter(case["category"] for case in cases)
    assert {code: per_category[code] for code in CATEGORY_CODES if per_category[code] < 4} == {}
    assert all(case["department"] in codes and case["why"] for case in cases)


def test_own_corpus_at_least_90_percent_right() -> None:
    # given the team's own labelled corpus
    cases = _load("classifier_cases.jsonl")
    # when each is classified
    misses = _misses(cases)
    # then at least 90% have both category and department right
    assert len(misses) <= len(cases) // 10, f"{len(misses)} of {len(cases)} wrong:\n" + "\n".join(misses)


# ---- category ----


def test_gift_seeking_inspector_is_abuse_not_inspection() -> None:
    # given an inspection complaint whose real point is a demand for gifts
    text = "市场监管局的人每次来检查都暗示我们请客送礼，不送就说检查不合格。"
    # when classified
    result = classify(text)
    # then the conduct it is mainly about wins
    assert result.category == "abuse"
    assert "请客送礼" in result.matched_keywords


def test_specific_misconduct_beats_thematic_area() -> None:
    # given a food-safety (livelihood) complaint that is about a fine
    text = "学校周边的小吃店食品安全有问题，市场监管局却只罚款不整改，一罚了之。"
    # when classified
    result = classify(text)
    # then the specific misconduct wins over the thematic area
    assert result.category == "penalty"


def test_thematic_area_when_no_misconduct() -> None:
    # given a complaint about an enterprise project and no specific misconduct
    text = "我们是招商引资的企业，希望住建局统一执法尺度，别影响项目建设和企业发展。"
    # when classified
    result = classify(text)
    # then the thematic area is the category
    assert result.category == "economy"
    assert result.domain == "enterprise"


def test_one_passing_thematic_word_is_not_enough() -> None:
    # given a suggestion that merely mentions a pupil
    text = "建议各部门把执法流程做成宣传册，发给学校。"
    # when classified
    result = classify(text)
    # then it is 'other', not 'livelihood'
    assert result.category == "other"


def test_generic_words_are_not_category_evidence() -> None:
    # given a text made only of generic enforcement words
    text = "请依法处理，尽快受理、办理，严格执法。"
    # when classified
    result = classify(text)
    # then nothing applies
    assert result.category == "other"
    assert result.matched_keywords == []


def test_inaction_words() -> None:
    # given a complaint about being made to run back and forth
    text = "去住建局办事，工作人员推诿，让我来回跑了五趟还是不给办。"
    # when classified
    result = classify(text)
    # then it is inaction
    assert result.category == "inaction"


# ---- department routing ----


def test_longest_alias_wins_and_child_beats_parent() -> None:
    # given the traffic police named under the public security bureau
    text = "县公安局交警大队的民警在路口乱罚款。"
    # when classified
    result = classify(text)
    # then the child body JJDD wins, through its longest alias
    assert result.department == "JJDD"
    assert "交警大队" in result.matched_aliases and "交警" not in result.matched_aliases


def test_official_name_contains_parent_name() -> None:
    # given the official name, which contains 公安局 and 交通警察
    result = classify("县公安局交通警察大队扣了我的车，没有任何扣押手续。")
    # then it routes to the child only
    assert result.department == "JJDD"
    assert result.matched_aliases == ["县公安局交通警察大队"]


def test_town_mentioned_as_a_place_is_not_the_respondent() -> None:
    # given a town that is only where the incident happened
    text = "在三道湖镇的工地上，城管把我们的材料拉走了。"
    # when classified
    result = classify(text)
    # then the body that acted is the respondent
    assert result.department == "ZHZF"


def test_town_alone_as_a_place_goes_to_triage() -> None:
    # given a town mentioned only as a place and no other body
    result = classify("在三道湖镇的路边，有人把我的摊子掀翻了。")
    # then no body is found
    assert (result.department, result.triage_reason) == ("FZB", "no_body_found")


@pytest.mark.parametrize(
    "text",
    [
        "三道湖镇政府强行拆除了我家的仓房。",
        "三道湖镇的干部强行拆除了我家的仓房。",
        "三道湖镇执法队强行拆除了我家的仓房。",
    ],
)
def test_town_with_government_or_cue_is_the_respondent(text: str) -> None:
    # when a town is named with 政府 or followed by a respondent cue
    result = classify(text)
    # then the town is the respondent
    assert result.department == "SDHZ"
    assert result.triage_reason is None


def test_bare_town_government_goes_to_triage() -> None:
    # given 镇政府 without saying which town
    result = classify("镇政府的人把我家的围墙推倒了。")
    # then FZB triages it
    assert (result.department, result.triage_reason) == ("FZB", "no_body_found")


def test_body_followed_by_place_word_is_a_place() -> None:
    # given a police station that is only a landmark
    result = classify("我在派出所门口卖菜，城管把我的秤没收了。")
    # then the acting body is the respondent
    assert result.department == "ZHZF"


def test_buck_passing_between_two_bodies_goes_to_triage() -> None:
    # given two departments pushing the matter to each other
    text = "工地夜间施工噪音扰民，住建局说归环保局管，环保局说归住建局管，推来推去。"
    # when classified
    result = classify(text)
    # then FZB coordinates and the category is inaction
    assert (result.department, result.triage_reason, result.category) == ("FZB", "buck_passing", "inaction")
    assert result.department_confidence == 0.8


def test_buck_passing_words_with_one_body_stay_with_that_body() -> None:
    # given one body that says it is not responsible
    result = classify("城管说占道经营不归他们管，推给了别人。")
    # then the named body handles it
    assert (result.department, result.triage_reason) == ("ZHZF", None)


def test_parent_and_child_are_not_two_bodies_for_buck_passing() -> None:
    # given a child and its parent plus a buck-passing cue
    result = classify("交警大队和公安局互相推诿，我的事故处理拖了半年。")
    # then they count as one body
    assert (result.department, result.triage_reason) == ("JJDD", None)


def test_complaint_about_a_legal_office_goes_to_triage() -> None:
    # given a complaint about a department's legal office handling an earlier complaint
    text = "我投诉过税务所的执法人员，税务局法制科自己查自己，说查无实据。"
    # when classified
    result = classify(text)
    # then FZB handles it
    assert (result.department, result.triage_reason) == ("FZB", "legal_office_handling")
    assert "法制科" in result.matched_keywords


def test_legal_office_in_respondent_field_goes_to_triage() -> None:
    # given the legal office named in the respondent field
    result = classify("对我投诉的处理一直没有答复。", respondent="县水利局法制股")
    # then FZB handles it
    assert (result.department, result.triage_reason) == ("FZB", "legal_office_handling")


def test_fzb_named_alone_is_routed_not_triaged() -> None:
    # given a suggestion addressed to the county legal office
    result = classify("建议县政府法制办每月公布执法投诉的办理情况。")
    # then FZB is the named department, not a triage
    assert (result.department, result.triage_reason) == ("FZB", None)
    assert result.department_confidence == 0.9


def test_fzb_as_addressee_does_not_hide_the_respondent() -> None:
    # given a complaint addressed to FZB about another body
    result = classify("请法制办督促一下，城管乱罚款的事情到现在没人管。")
    # then the other body is the respondent
    assert result.department == "ZHZF"


def test_no_body_goes_to_triage_with_low_confidence() -> None:
    # given a complaint naming no body
    result = classify("有执法人员收了钱不开票。")
    # then FZB triages it with low department confidence
    assert (result.department, result.triage_reason) == ("FZB", "no_body_found")
    assert result.department_confidence <= 0.3
    assert result.confidence <= 0.3


def test_respondent_field_wins_over_text() -> None:
    # given a respondent field and a different body in the text
    result = classify("我在环保局门口被几个人把车扣了，说罚款五百元。", respondent="交警队")
    # then the respondent field wins with high confidence
    assert (result.department, result.department_confidence) == ("JJDD", 0.95)


def test_respondent_field_without_body_falls_back_to_text() -> None:
    # given a respondent field naming a person, not a body
    result = classify("城管队员把我的三轮车砸了。", respondent="王某")
    # then the text decides, as a single body
    assert (result.department, result.department_confidence) == ("ZHZF", 0.9)


def test_several_bodies_most_named_wins_with_lower_confidence() -> None:
    # given two bodies, one named twice
    result = classify("税务局的人检查完，消防队又来检查，过几天税务局又来了，重复检查。")
    # then the most named wins, with lower confidence than a single body
    assert (result.department, result.department_confidence) == ("SWJ", 0.6)


def test_several_bodies_tie_goes_to_first_named() -> None:
    # given two bodies named once each
    result = classify("林业局和水利局先后来我们合作社重复检查。")
    # then the first named wins
    assert result.department == "LYJ"


# ---- normalisation, confidence, domain, output ----


def test_full_width_text_is_normalised() -> None:
    # given the same complaint with full-width punctuation, digits, letters and ideographic spaces
    half = "交警在路口罚款200元,不开罚款收据,让我转到他个人微信(WX)上。"
    full = "交　警在路口罚款２００元，不开罚款收据，让我转到他个人微信（ＷＸ）上。"
    # when both are classified
    a, b = classify(half), classify(full)
    # then they classify the same
    assert (b.category, b.department) == ("penalty", "JJDD")
    assert (a.category, a.department, a.matched_keywords) == (b.category, b.department, b.matched_keywords)


def test_full_width_gap_pattern() -> None:
    # given a buck-passing cue split by full-width spaces
    result = classify("打电话给环保局，说归　城管　管；找城管又说归环保局管。")
    # then the gap cue still matches
    assert result.triage_reason == "buck_passing"


def test_full_width_comma_ends_a_clause_for_gap_words() -> None:
    # given '检查…次' split by a full-width comma (another clause)
    result = classify("市场监管局来检查，说下次再来。")
    # then the gap word does not match across the clauses
    assert result.category == "inspection"
    assert "检查...次" not in result.matched_keywords


def test_confidence_reflects_evidence() -> None:
    # given one weak keyword versus several strong ones
    weak = classify("城管的人来检查了一下。")
    strong = classify("城管的人重复检查、多头检查，一个月检查了五次。")
    # then both are inspection, and more evidence gives more confidence
    assert weak.category == strong.category == "inspection"
    assert weak.category_confidence < strong.category_confidence <= 1.0
    assert strong.confidence == min(strong.category_confidence, strong.department_confidence)


def test_words_inside_a_body_name_are_not_evidence() -> None:
    # given a body whose name contains a domain word (运输)
    result = classify("交通运输局的人说话不客气。")
    # then the domain is not taken from the body's name
    assert result.domain == "general"


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("我们公司的厂房被环保局查封了。", "enterprise"),
        ("小区楼下的烧烤摊油烟扰民，城管不管。", "livelihood"),
        ("交警的执法记录仪没有打开。", "general"),
    ],
)
def test_domain(text: str, domain: str) -> None:
    # when classified, then the domain follows the domain words
    assert classify(text).domain == domain


def test_output_is_complete_and_frozen() -> None:
    # given a classification
    result = classify("交警乱罚款。")
    # then names match the codes, values are in range, and the model is immutable
    assert isinstance(result, Classification)
    assert result.category in CATEGORY_CODES
    assert result.category_name == reference_data.category(result.category).name
    assert result.department_name == reference_data.department(result.department).name
    assert 0 <= result.confidence <= 1
    with pytest.raises(ValidationError):
        result.category = "other"


def test_empty_text_does_not_fail() -> None:
    # when nothing is given, then it is triaged as 'other'
    result = classify("", respondent="")
    assert (result.category, result.department, result.triage_reason) == ("other", "FZB", "no_body_found")


# ---- the labelled reference set and the statistical model ----


def test_reference_set_is_well_formed_and_split() -> None:
    # given the labelled reference set: the tuning part and the held-out part
    tuning, heldout = reference_examples("tuning"), reference_examples("heldout")
    codes = {d.code for d in reference_data.departments()}
    # then every category has at least 30 examples, every label is real and no text is in both parts
    per_category = Counter(example.category for example in tuning + heldout)
    assert {code: per_category[code] for code in CATEGORY_CODES if per_category[code] < 30} == {}
    assert {example.category for example in heldout} == CATEGORY_CODES
    assert all(example.department in codes for example in tuning + heldout)
    assert not {example.text for example in tuning} & {example.text for example in heldout}


def test_heldout_accuracy_meets_the_target() -> None:
    # given the held-out part, which neither the rules' tuning nor the model's training saw
    heldout = reference_examples("heldout")
    # when evaluated with the built-in model
    accuracy = evaluate(heldout)
    # then category is right at least 95% of the time and department at least 98%
    assert accuracy.examples == len(heldout)
    assert accuracy.category >= 0.95, accuracy.per_category
    assert accuracy.department is not None and accuracy.department >= 0.98


def test_model_learns_what_the_rules_miss() -> None:
    # given abuse of office told as a story, without any of the rules' words
    text = "税务所的专管员说他家里正在装修，让我们公司帮他把装修的钱付了，不然今年的日子就不好过。"
    # when classified by the rules' vote alone (a model trained on nothing of abuse) and by the built-in model
    without_abuse = train_model([e for e in reference_examples("tuning") if e.category != "abuse"])
    # then only the model that has seen such stories gets it right, and reports its version
    assert classify(text, model=without_abuse).category != "abuse"
    result = classify(text)
    assert result.category == "abuse"
    assert result.model_version == builtin_model().version


def test_department_names_do_not_sway_the_category() -> None:
    # given the same complaint naming two different bodies
    template = "{}的人来我们厂里，连个通知都没有就到处翻，一个月已经来了五次了。"
    # when the model reads each
    results = [classify(template.format(name)) for name in ("环保局", "税务所")]
    # then the masked text reads the same, so the category and its confidence are the same
    assert model_text(template.format("环保局")) == model_text(template.format("税务所"))
    assert results[0].category == results[1].category == "inspection"
    assert results[0].category_confidence == results[1].category_confidence


def test_two_candidates_with_their_confidence() -> None:
    # given a complaint with evidence for two kinds (a fee and a licence)
    result = classify("办营业执照的时候窗口要我们多交三百元的材料费，说不交就不给办。")
    # then the first candidate is the category, and the second is another kind with less confidence
    (first, first_confidence), (second, second_confidence) = result.category_candidates
    assert first == result.category and first_confidence == result.category_confidence
    assert second != first and 0 <= second_confidence <= first_confidence


def test_model_round_trips_through_json() -> None:
    # given the built-in model
    model = builtin_model()
    # when serialised and read back
    again = ngram_model.loads(ngram_model.dumps(model))
    # then it is the same version with the same probabilities
    text = model_text("城管把我的三轮车拉走了，也不给任何单据。")
    assert again.version == model.version
    assert again.probabilities(text) == model.probabilities(text)


def test_version_names_what_was_trained() -> None:
    # given the reference set and the same set with one more example
    examples = reference_examples("tuning")
    extra = Example(text="交警大队的人让我扫他个人微信交罚款。", category="penalty", department="JJDD")
    # when trained twice on the same examples (in any order) and once with the extra example
    first, again, more = train_model(examples), train_model(examples[::-1]), train_model([*examples, extra])
    # then equal training gives the equal version and more training another
    assert first.version == again.version != more.version
