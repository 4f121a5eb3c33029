"""The hotspot rules (shared/reporting/hotspots.py, shared/data/hotspots.json): thresholds, rise, windows, names."""

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from shared.core.models import Case
from shared.reporting import hotspots, stats

RULE = hotspots.Rule(kind="department_category", window_days=7, min_count=5, rise_factor=2.0, min_rise=3)


def test_the_shipped_rules_check_7_and_30_days_for_both_kinds() -> None:
    # given the configuration as shipped / when it is read
    config = hotspots.rules()
    # then both default windows are checked, each with a rule per kind, the longer window asking for more
    assert config.windows == (7, 30)
    for kind in ("department_category", "unit"):
        assert config.rule(kind, 30).min_count > config.rule(kind, 7).min_count


def test_a_configuration_missing_a_rule_for_a_window_is_refused() -> None:
    # given the configuration with a third window but no rules for it
    data = hotspots.rules().model_dump()
    data["windows"] = [7, 30, 90]
    # when it is read / then it is refused, saying what is missing
    with pytest.raises(ValidationError, match="one rule per window and kind"):
        hotspots.Rules.model_validate(data)


@pytest.mark.parametrize(
    ("count", "previous", "reasons"),
    [
        (5, 5, ["threshold"]),  # many, but no more than before
        (4, 5, []),
        (4, 1, ["rise"]),  # 4 >= 1 x 2 and 3 more
        (3, 0, ["rise"]),  # out of nothing: the minimum rise suffices
        (2, 0, []),
        (5, 1, ["threshold", "rise"]),
        (5, 3, ["threshold"]),  # 5 < 3 x 2
        (9, 6, ["threshold"]),  # 3 more, but not twice as many
        (12, 6, ["threshold", "rise"]),
    ],
)
def test_a_cluster_fires_on_the_threshold_or_on_a_rise_against_the_previous_window(
    count: int, previous: int, reasons: list[str]
) -> None:
    # given a rule of at least 5, or twice the previous window and 3 more / when a cluster is checked
    # then it fires for the reasons that hold
    assert hotspots.fires(RULE, count, previous) == reasons


def test_windows_end_today_and_the_previous_window_is_just_before() -> None:
    # given a county day / when its 7-day window and the one before are taken
    current = hotspots.window(date(2026, 6, 10), 7)
    previous = hotspots.window(date(2026, 6, 10), 7, back=1)
    # then they are 7 days each, today included, and meet without overlapping
    assert (min(current), max(current)) == (date(2026, 6, 4), date(2026, 6, 10))
    assert (min(previous), max(previous)) == (date(2026, 5, 28), date(2026, 6, 3))
    assert len(hotspots.window(date(2026, 6, 10), 30)) == 30


def _case(number: str, respondent: str) -> Case:
    return Case.model_validate(
        {
            "tracking_no": number,
            "channel": "web",
            "received_at": datetime(2026, 6, 10, 2, tzinfo=UTC),
            "raw_key": "raw/x",
            "verification_hash": "x",
            "description": "罚款不开票",
            "respondent": respondent,
            "category": "penalty",
            "department": "JJDD",
            "status": "routed",
        }
    )


def test_a_unit_written_with_or_without_spaces_is_one_cluster_titled_by_its_name() -> None:
    # given two complaints naming the same officer, once with a space and full-width punctuation
    first = stats.contribution(_case("ZF1", "县交警大队 张三"))
    second = stats.contribution(_case("ZF2", "县交警大队张三。"))
    # when their clusters are taken
    units = {key for _, key in first.clusters if key.startswith("unit:")}
    # then both are in one unit cluster, which a hotspot titles by the name and files under the traffic police
    assert units == {key for _, key in second.clusters if key.startswith("unit:")} == {"unit:县交警大队张三"}
    described = hotspots.describe("unit:县交警大队张三")
    assert described == {"title": "县交警大队张三", "department": "JJDD", "category": None, "unit": "县交警大队张三"}


def test_a_department_and_category_cluster_is_titled_in_chinese() -> None:
    # given the cluster of the traffic police's penalties, and one of a unit no department's name matches
    described = hotspots.describe("deptcat:JJDD#penalty")
    # then the title is department · category, and a unit routed nowhere belongs to no department
    assert described["title"] == "县公安局交通警察大队 · 行政处罚"
    assert described["department"] == "JJDD" and described["category"] == "penalty"
    assert hotspots.describe("unit:某某公司")["department"] is None


def _hotspot(number: int, status: str, count: int, previous: int) -> hotspots.Hotspot:
    at = datetime(2026, 6, number, tzinfo=UTC)
    return hotspots.Hotspot(
        hotspot_id=f"7d-{number}-1",
        kind="unit",
        cluster_key=f"unit:{number}",
        window_days=7,
        generation=1,
        title=str(number),
        status=status,  # type: ignore[arg-type]
        reasons=["threshold"],
        count=count,
        previous_count=previous,
        cases=[],
        opened_at=at,
        updated_at=at,
    )


def test_ranking_puts_open_hotspots_first_then_the_largest_and_the_steepest_rise() -> None:
    # given hotspots of each status, some as large as others but rising less
    given = [
        _hotspot(1, "resolved", 50, 0),
        _hotspot(2, "tracking", 20, 0),
        _hotspot(3, "open", 6, 5),
        _hotspot(4, "open", 6, 1),
        _hotspot(5, "open", 9, 9),
    ]
    # when they are ranked
    ranked = [item.hotspot_id for item in hotspots.rank(given)]
    # then open ones come first by count, then rise; tracked ones next; resolved ones last
    assert ranked == ["7d-5-1", "7d-4-1", "7d-3-1", "7d-2-1", "7d-1-1"]
