"""What one case snapshot counts for in the statistics (shared/reporting/stats.py contribution): pure, no AWS."""

from datetime import UTC, datetime, timedelta

import pytest

from shared.core.models import Case, CaseKind, Channel, Extension, Status
from shared.reporting import stats

RECEIVED = datetime(2026, 5, 20, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in the county, week 21, phase 2
PERIODS = ["year:2026", "month:2026-05", "week:2026-W21", "campaign:2026", "phase:2026:2"]


def a_case(**fields) -> Case:
    values: dict = {
        "tracking_no": "ZF260520000001",
        "channel": Channel.hotline,
        "received_at": RECEIVED,
        "description": "执法人员乱罚款",
        "raw_key": "raw/x.json",
        "verification_hash": "0" * 64,
        "status": Status.routed,
        "category": "penalty",
        "domain": "enterprise",
        "department": "SCJG",
        "acceptance_due_at": RECEIVED + timedelta(days=15),
        "version": 2,
    }
    return Case.model_validate({**values, **fields})


def counters(case: Case, period: str = "week:2026-W21", department: str | None = None) -> dict[str, int]:
    department = department or case.department or stats.UNROUTED
    found = stats.contribution(case).counts
    return {name: amount for (key, code, name), amount in found.items() if (key, code) == (period, department)}


def test_a_routed_case_counts_as_received_in_every_period_of_its_receipt() -> None:
    # given a case just routed
    case = a_case()
    # when its contribution is computed
    counted = stats.contribution(case)
    # then it counts received, its domain, category and channel on its department, in each of its five periods
    assert {key for key, _, _ in counted.counts} == {*PERIODS, "weeks:2026"}
    # and received on its week's row of the county's weekly trend
    assert [(key, row, name) for key, row, name in counted.counts if key == "weeks:2026"] == [
        ("weeks:2026", "week:2026-W21", "received")
    ]
    assert counters(case) == {"received": 1, "enterprise_related": 1, "cat:penalty": 1, "ch:hotline": 1}
    assert counted.version == 2 and counted.tracking_no == case.tracking_no


def test_accepted_on_time_and_late() -> None:
    # given one case accepted before its acceptance deadline and one after it
    on_time = a_case(status=Status.accepted, accepted_at=RECEIVED + timedelta(days=3))
    late = a_case(status=Status.accepted, accepted_at=RECEIVED + timedelta(days=16))
    # when they are counted
    # then both are accepted, only the first on time, the second overdue
    assert {"accepted": 1, "accepted_on_time": 1}.items() <= counters(on_time).items()
    assert "overdue" not in counters(on_time)
    assert counters(late)["accepted"] == 1 and "accepted_on_time" not in counters(late)
    assert counters(late)["overdue"] == 1


def closed_case(replied_after_days: int, extension: Extension | None = None) -> Case:
    accepted = RECEIVED + timedelta(days=2)
    reply_due = accepted + timedelta(days=60 + (extension.days if extension else 0))
    return a_case(
        status=Status.closed,
        accepted_at=accepted,
        reply_due_at=reply_due,
        extension=extension,
        finding="substantiated",
        measures=["correct"],
        replied_at=accepted + timedelta(days=replied_after_days),
        closed_at=accepted + timedelta(days=replied_after_days + 1),
    )


def test_closed_on_time_counts_the_approved_extension() -> None:
    # given a case replied 75 days after acceptance: late without an extension, on time with 30 days approved
    approved = Extension(
        status="approved", days=30, reason="调取录像", requested_at=RECEIVED, requested_by="x", decided_at=RECEIVED
    )
    without, extended = closed_case(75), closed_case(75, approved)
    # when both are counted
    # then both are closed, only the extended one on time; the other is overdue
    assert counters(without)["closed"] == 1 and "closed_on_time" not in counters(without)
    assert counters(without)["overdue"] == 1
    assert counters(extended)["closed_on_time"] == 1 and "overdue" not in counters(extended)
    assert counters(closed_case(10))["closed_on_time"] == 1


def test_findings_measures_and_persons_held_accountable() -> None:
    # given decided cases: partly substantiated with every measure and 3 persons, substantiated without a count
    three = a_case(
        status=Status.decided,
        finding="partly",
        measures=["correct", "revoke", "order_rectification", "hold_accountable"],
        accountable_persons=3,
    )
    one = a_case(status=Status.decided, finding="substantiated", measures=["hold_accountable"])
    cleared = a_case(status=Status.decided, finding="unsubstantiated")
    # when they are counted
    # then each measure counts its case, and accountability counts persons (1 when not given)
    assert {
        "partly_substantiated": 1,
        "corrected": 1,
        "revoked": 1,
        "rectification_ordered": 1,
        "held_accountable": 3,
    }.items() <= counters(three).items()
    assert counters(one)["held_accountable"] == 1 and counters(one)["substantiated"] == 1
    assert counters(cleared)["unsubstantiated"] == 1 and "held_accountable" not in counters(cleared)


def test_a_transferred_case_counts_on_the_department_that_transferred_it() -> None:
    # given a case the market regulator handed back, now arbitrated to the public security bureau
    case = a_case(department="GAJ", transferred_from="SCJG")
    # when it is counted
    # then the transfer is on the regulator's row, everything else on the bureau's
    assert counters(case, department="SCJG") == {"transferred": 1}
    assert counters(case, department="GAJ")["received"] == 1 and "transferred" not in counters(case, department="GAJ")


def test_a_merged_duplicate_counts_nothing() -> None:
    # given a case merged into another
    case = a_case(status=Status.merged, merged_into="ZF260520000002", respondent="市场监管局")
    # when it is counted
    counted = stats.contribution(case)
    # then it adds nothing, to counters or clusters
    assert counted.counts == {} and counted.clusters == frozenset()


def test_typical_escalated_not_accepted_and_unrouted() -> None:
    # given a negative typical case escalated as overdue, a case not accepted, and one not yet routed
    typical = a_case(status=Status.replied, typical="negative", escalated_at=RECEIVED + timedelta(days=20))
    refused = a_case(status=Status.not_accepted, domain="livelihood")
    unrouted = a_case(status=Status.received, department=None, category=None, domain=None)
    # when they are counted
    # then each has its counters, the unrouted one on the UNROUTED row
    assert {"typical_negative": 1, "escalations": 1, "overdue": 1}.items() <= counters(typical).items()
    assert {"not_accepted": 1, "livelihood_related": 1}.items() <= counters(refused).items()
    assert counters(unrouted) == {"received": 1, "ch:hotline": 1}
    assert ("week:2026-W21", stats.UNROUTED, "received") in stats.contribution(unrouted).counts


def test_a_case_joins_its_department_category_and_unit_clusters_of_its_county_day() -> None:
    # given a case received at 17:00 UTC (01:00 the next day in the county) about a unit written with spaces
    case = a_case(received_at=datetime(2026, 5, 20, 17, 0, tzinfo=UTC), respondent=" 县 市场监管局。")
    # when it is counted
    clusters = stats.contribution(case).clusters
    # then it is in both clusters of 2026-05-21, the unit in its normalised form
    assert clusters == {("2026-05-21", "deptcat:SCJG#penalty"), ("2026-05-21", "unit:县市场监管局")}


@pytest.mark.parametrize(
    ("written", "normalised"),
    [("县 市场监管局。", "县市场监管局"), ("ＡＢＣ执法大队（一中队）", "abc执法大队一中队"), ("\u200b张三", "张三")],
)
def test_unit_names_are_normalised_for_matching(written: str, normalised: str) -> None:
    # given a unit or officer as written
    # when it is normalised
    # then full-width forms, case, spaces, punctuation and invisible characters do not matter
    assert stats.normalise_unit(written) == normalised


# ---- questions (咨询): counted apart from complaints ----


def a_question(**fields) -> Case:
    due = RECEIVED + timedelta(days=7)
    return a_case(kind=CaseKind.question, category="other", department="FZB", answer_due_at=due, **fields)


def test_a_question_counts_only_as_a_question_received() -> None:
    # given a question awaiting its answer
    question = a_question()
    # when it is counted, then it is a question received on its department and no complaint figure, category or
    # channel counts it, nor does it make a hotspot cluster
    assert counters(question) == {"questions_received": 1}
    assert stats.contribution(question).clusters == frozenset()


def test_questions_answered_on_time_and_late() -> None:
    # given one question answered before its answer deadline and one after it, both closed and escalated
    on_time = a_question(status=Status.closed, answered_at=RECEIVED + timedelta(days=2), closed_at=RECEIVED)
    late = a_question(status=Status.closed, answered_at=RECEIVED + timedelta(days=9), escalated_at=RECEIVED)
    # when they are counted, then both are answered, only the first on time; neither closes nor escalates a complaint
    assert counters(on_time) == {"questions_received": 1, "questions_answered": 1, "questions_answered_on_time": 1}
    assert counters(late) == {"questions_received": 1, "questions_answered": 1}
