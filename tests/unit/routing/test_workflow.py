"""The transition table and the effects of each action, without AWS (shared/routing/workflow.py)."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from shared.core.auth import Principal, Role
from shared.core.errors import ApiError
from shared.core.models import Callback, Case, CaseKind, Channel, DueKind, Extension, Status
from shared.routing import workflow
from shared.routing.deadlines import deadline_after

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
BODIES: dict[str, dict] = {
    "accept": {},
    "not_accept": {"reason": "不属于行政执法投诉"},
    "transfer": {"reason": "非本部门职责"},
    "arbitrate": {"department": "SCJG"},
    "merge": {"into": "ZF260601000002"},
    "request_extension": {"days": 30, "reason": "需要现场勘验"},
    "approve_extension": {},
    "refuse_extension": {"reason": "理由不充分"},
    "start_investigation": {},
    "decide": {"finding": "substantiated", "measures": ["correct"], "summary": "罚款无依据，予以纠正"},
    "reply": {"message": "经调查，投诉属实，已责令纠正。"},
    "start_rectification": {},
    "verify_rectification": {},
    "close": {},
    "reopen_for_review": {"reason": "投诉人对答复不满意"},
    "correct_category": {"category": "fees"},
    "reassign": {"handler": "李四"},
    "flag_media": {},
    "mark_typical": {"kind": "negative"},
    "record_callback": {"rating": "basically_satisfied", "comment": "电话回访：基本满意"},
    "answer": {"answer": "应自知道该行政行为之日起六十日内向县人民政府申请行政复议。"},
    "change_kind": {"kind": "question"},
}


def a_case(status: Status, **fields) -> Case:
    values = {
        "tracking_no": "ZF260601000001",
        "channel": Channel.web,
        "received_at": NOW - timedelta(days=1),
        "description": "执法人员乱收费",
        "raw_key": "raw/web/x",
        "verification_hash": "h",
        "status": status,
        "category": "penalty",
        "department": "JJDD",
        "version": 3,
    }
    return Case.model_validate({**values, **fields})


def satisfying_guards(action: str, status: Status) -> Case:
    """A case in `status` of a kind the action is for, meeting every guard of `action`, so that only the state
    decides."""
    fields: dict = {
        "kind": min(workflow.rule(action).kinds),
        "due_kind": DueKind.reply,
        "due_at": NOW + timedelta(days=30),
        "reply_due_at": NOW + timedelta(days=30),
    }
    if "extension_requested" in workflow.rule(action).guards:
        fields["extension"] = Extension(
            status="requested", days=20, reason="需要鉴定", requested_at=NOW, requested_by="officer"
        )
    fields["measures"] = ["correct"] if "followup_needed" in workflow.rule(action).guards else []
    fields["review_request_due_at"] = NOW + timedelta(days=10)
    if "callback_open" in workflow.rule(action).guards:
        fields["callback"] = Callback(asked_at=NOW - timedelta(days=1), due_at=NOW + timedelta(days=14))
    return a_case(status, **fields)


def allowed_principal(action: str, department: str = "JJDD") -> Principal:
    role = sorted(workflow.rule(action).roles)[0]
    dept = department if role in (Role.dept_head, Role.dept_officer) else None
    return Principal(subject=f"user-{role}", name="张三", role=role, department=dept)


def body(action: str, version: int = 3) -> workflow.ActionBody:
    return workflow.parse_body(action, {"version": version, **BODIES[action]})


def primary_case() -> Case:
    return a_case(Status.accepted, tracking_no="ZF260601000002", version=7)


@pytest.mark.parametrize("action", list(workflow.table().actions))
@pytest.mark.parametrize("status", list(Status))
def test_every_action_from_every_state_is_allowed_exactly_as_the_table_says(action: str, status: Status) -> None:
    # given a case in the state, meeting the action's other conditions, and a caller with the right role
    rule = workflow.rule(action)
    case = satisfying_guards(action, status)
    principal = allowed_principal(action)
    # when the action is applied
    if status in rule.from_states:
        changes = workflow.apply_action(principal, case, action, body(action), NOW, primary_case())
        # then it moves the case to the table's state, one version up, with one audit event of that action
        after, event = changes[0][1], changes[0][2]
        assert after.status == (rule.to or status)
        assert after.version == case.version + 1 == event.version
        assert (event.action, event.from_status, event.to_status, event.actor) == (
            action,
            status,
            after.status,
            principal.subject,
        )
    else:
        # then it is refused as an invalid transition
        with pytest.raises(ApiError) as refused:
            workflow.apply_action(principal, case, action, body(action), NOW, primary_case())
        assert (refused.value.status, refused.value.code) == (409, "invalid_transition")


@pytest.mark.parametrize("action", list(workflow.table().actions))
def test_roles_outside_the_table_are_refused_for_every_action(action: str) -> None:
    # given a case the action applies to
    rule = workflow.rule(action)
    status = sorted(rule.from_states)[0]
    case = satisfying_guards(action, status)
    for role in Role:
        department = "JJDD" if role in (Role.dept_head, Role.dept_officer) else None
        principal = Principal(subject="someone", name="某人", role=role, department=department)
        # when each role tries it
        try:
            workflow.apply_action(principal, case, action, body(action), NOW, primary_case())
            outcome = "allowed"
        except ApiError as error:
            outcome = str(error.status)
        # then exactly the table's roles may
        assert outcome == ("allowed" if role in rule.roles else "403"), role


def test_the_table_and_the_body_models_name_the_same_actions() -> None:
    # given the data table and the code
    # then every action in the table has a body model and an effect, and nothing else has
    assert set(workflow.table().actions) == set(workflow.BODIES) == set(workflow._EFFECTS)


def test_merging_into_another_departments_case_is_refused_as_into_a_missing_one() -> None:
    # given a case of the traffic police, and an accepted case of market supervision with the officer's number
    case = a_case(Status.accepted)
    hidden = primary_case().model_copy(update={"department": "SCJG"})
    officer = Principal(subject="o", name="赵六", role=Role.dept_officer, department="JJDD")
    # when the traffic police officer merges into it, and into a case that does not exist
    refusals = []
    for other in (hidden, None):
        with pytest.raises(ApiError) as refused:
            workflow.apply_action(officer, case, "merge", body("merge"), NOW, other)
        refusals.append(refused.value.body())
    # then both answers are the same: nothing tells the other department's case exists
    assert refusals[0] == refusals[1] and refusals[0]["error"]["fields"][0]["field"] == "into"


def test_another_departments_case_is_answered_as_missing_to_an_officer() -> None:
    # given a case of the traffic police and an officer of market supervision
    case = a_case(Status.routed)
    officer = Principal(subject="o", name="赵六", role=Role.dept_officer, department="SCJG")
    # when the officer accepts it
    with pytest.raises(ApiError) as refused:
        workflow.apply_action(officer, case, "accept", body("accept"), NOW)
    # then it is answered as for a missing case: the officer learns nothing of it
    assert (refused.value.status, refused.value.code) == (404, "not_found")


def test_a_stale_version_is_a_conflict() -> None:
    # given a case at version 3 and a request made at version 2
    case = a_case(Status.routed)
    # when it is applied
    with pytest.raises(ApiError) as refused:
        workflow.apply_action(allowed_principal("accept"), case, "accept", body("accept", version=2), NOW)
    # then it is a version conflict
    assert (refused.value.status, refused.value.code) == (409, "version_conflict")


def test_accepting_starts_the_reply_deadline_60_days_after_acceptance() -> None:
    # given a routed case with its acceptance deadline running
    case = a_case(Status.routed, due_kind=DueKind.acceptance, due_at=NOW + timedelta(days=14), reminders_sent=["x"])
    # when it is accepted
    after = workflow.apply_action(allowed_principal("accept"), case, "accept", body("accept"), NOW)[0][1]
    # then the reply deadline runs, counted from now, and reminders start over
    expected = deadline_after(NOW, "reply").due_at
    assert (after.due_kind, after.due_at, after.reply_due_at, after.accepted_at) == (
        DueKind.reply,
        expected,
        expected,
        NOW,
    )
    assert after.due_at - NOW >= timedelta(days=60) and after.reminders_sent == []


def test_an_approved_extension_moves_the_reply_deadline_once_and_at_most_30_days() -> None:
    # given an accepted case with a reply deadline
    accepted = workflow.apply_action(allowed_principal("accept"), a_case(Status.routed), "accept", body("accept"), NOW)[
        0
    ][1]
    officer = allowed_principal("request_extension")
    fzb = Principal(subject="fzb", name="法制办", role=Role.county_admin)
    # when more than 30 days are asked for, it is refused as invalid
    with pytest.raises(ValidationError):
        workflow.parse_body("request_extension", {"version": 4, "days": 31, "reason": "太忙"})
    # when 20 days are asked for and approved
    requested = workflow.apply_action(
        officer,
        accepted,
        "request_extension",
        workflow.parse_body("request_extension", {"version": 4, "days": 20, "reason": "需要鉴定"}),
        NOW,
    )[0][1]
    approved = workflow.apply_action(fzb, requested, "approve_extension", body("approve_extension", 5), NOW)[0][1]
    # then the deadline moves 20 days past the old one (to a working day), and a second extension is refused
    assert approved.due_at == deadline_after(accepted.reply_due_at, "extension", 20).due_at
    assert timedelta(days=20) <= approved.due_at - accepted.due_at < timedelta(days=28)
    assert approved.extension.status == "approved" and approved.extension.decided_by == "fzb"
    with pytest.raises(ApiError) as refused:
        workflow.apply_action(
            officer,
            approved,
            "request_extension",
            workflow.parse_body("request_extension", {"version": 6, "days": 5, "reason": "再延"}),
            NOW,
        )
    assert refused.value.code == "invalid_transition" and refused.value.fields[0].code == "extension_unused"


def test_approval_cannot_grant_more_days_than_requested() -> None:
    # given a request for 10 days
    case = satisfying_guards("approve_extension", Status.investigating).model_copy(
        update={"extension": Extension(status="requested", days=10, reason="r", requested_at=NOW, requested_by="o")}
    )
    fzb = Principal(subject="fzb", name="法制办", role=Role.county_admin)
    # when 20 are approved
    with pytest.raises(ApiError) as refused:
        workflow.apply_action(
            fzb, case, "approve_extension", workflow.parse_body("approve_extension", {"version": 3, "days": 20}), NOW
        )
    # then it is refused on the field
    assert refused.value.status == 422 and refused.value.fields[0].field == "days"


def test_review_can_be_requested_within_the_window_after_the_reply_and_only_once() -> None:
    # given a case replied today
    replied = workflow.apply_action(allowed_principal("reply"), a_case(Status.decided), "reply", body("reply"), NOW)[0][
        1
    ]
    window_end = replied.review_request_due_at
    assert window_end == deadline_after(NOW, "review_request").due_at and replied.due_at is None
    # when a review is recorded after the window, it is refused
    late = window_end + timedelta(seconds=1)
    with pytest.raises(ApiError) as refused:
        workflow.apply_action(
            allowed_principal("reopen_for_review"), replied, "reopen_for_review", body("reopen_for_review", 4), late
        )
    assert refused.value.fields[0].code == "within_review_window"
    # when it is recorded within the window, the case is reviewed with a 30-day answer deadline
    reviewing = workflow.apply_action(
        allowed_principal("reopen_for_review"), replied, "reopen_for_review", body("reopen_for_review", 4), window_end
    )[0][1]
    assert reviewing.status == Status.reviewing and reviewing.due_kind == DueKind.review_reply
    assert reviewing.due_at == deadline_after(window_end, "review_reply").due_at
    # and after the review's reply no second review is possible
    decided = workflow.apply_action(allowed_principal("decide"), reviewing, "decide", body("decide", 5), window_end)[0][
        1
    ]
    again = workflow.apply_action(allowed_principal("reply"), decided, "reply", body("reply", 6), window_end)[0][1]
    assert "reopen_for_review" not in workflow.allowed_actions(
        allowed_principal("reopen_for_review"), again, window_end
    )


def test_a_decision_with_corrective_measures_needs_rectification_before_closing() -> None:
    # given a replied case whose decision ordered a correction
    case = a_case(Status.replied, measures=["correct"])
    head = allowed_principal("verify_rectification")
    # when it is closed directly, it is refused; through rectification and verification it closes
    with pytest.raises(ApiError) as refused:
        workflow.apply_action(head, case, "close", body("close"), NOW)
    assert refused.value.fields[0].code == "no_followup_pending"
    rectifying = workflow.apply_action(head, case, "start_rectification", body("start_rectification"), NOW)[0][1]
    closed = workflow.apply_action(head, rectifying, "verify_rectification", body("verify_rectification", 4), NOW)[0][1]
    assert (rectifying.status, closed.status, closed.closed_at) == (Status.rectifying, Status.closed, NOW)


def test_an_unsubstantiated_finding_takes_no_measures() -> None:
    # given a decision that finds nothing but orders a correction
    # when it is parsed, then it is refused
    with pytest.raises(ValidationError):
        workflow.parse_body(
            "decide", {"version": 1, "finding": "unsubstantiated", "measures": ["correct"], "summary": "x"}
        )


def test_persons_held_accountable_are_recorded_only_with_that_measure() -> None:
    # given a decision holding 2 persons accountable, and one giving a count without the measure
    given = {"version": 3, "finding": "substantiated", "summary": "追责", "accountable_persons": 2}
    decision = workflow.parse_body("decide", {**given, "measures": ["hold_accountable"]})
    # when the first is applied
    case = a_case(Status.investigating)
    decided = workflow.apply_action(allowed_principal("decide"), case, "decide", decision, NOW)[0][1]
    # then the case records the persons; the second is refused
    assert decided.accountable_persons == 2
    with pytest.raises(ValidationError):
        workflow.parse_body("decide", {**given, "measures": ["correct"]})


def test_only_the_county_office_reassigns_a_case_to_another_department() -> None:
    # given an accepted case and its department head
    case = a_case(Status.accepted, handler="王五")
    head = Principal(subject="h", name="钱七", role=Role.dept_head, department="JJDD")
    # when the head moves it to another department, it is forbidden; a new handler is fine
    with pytest.raises(ApiError) as refused:
        workflow.apply_action(
            head, case, "reassign", workflow.parse_body("reassign", {"version": 3, "department": "SCJG"}), NOW
        )
    assert refused.value.status == 403
    after = workflow.apply_action(head, case, "reassign", body("reassign"), NOW)[0][1]
    assert (after.handler, after.department) == ("李四", "JJDD")


def test_the_first_reply_to_a_named_complainant_opens_the_call_back_once() -> None:
    # given a decided case of a named complainant
    case = a_case(Status.decided, has_complainant=True)
    principal = allowed_principal("reply")
    # when it is replied to
    after = workflow.apply_action(principal, case, "reply", body("reply"), NOW)[0][1]
    # then the call-back is asked now and open for the configured days
    assert after.callback is not None and after.callback.asked_at == NOW
    assert after.callback.due_at == NOW + timedelta(days=15) and after.callback.rating is None
    # and a reply after a review asks nothing again
    reviewed = after.model_copy(update={"status": Status.decided, "review_requested_at": NOW})
    again = workflow.apply_action(principal, reviewed, "reply", body("reply", after.version), NOW + timedelta(days=20))
    assert again[0][1].callback == after.callback


def test_an_anonymous_complainant_is_not_asked() -> None:
    # given a decided anonymous case / when it is replied to / then no call-back is opened
    case = a_case(Status.decided, anonymous=True)
    after = workflow.apply_action(allowed_principal("reply"), case, "reply", body("reply"), NOW)[0][1]
    assert after.callback is None


def test_staff_record_a_telephone_call_back_only_while_it_is_open() -> None:
    # given a replied case whose call-back closed yesterday
    closed = Callback(asked_at=NOW - timedelta(days=16), due_at=NOW - timedelta(days=1))
    case = a_case(Status.replied, has_complainant=True, callback=closed)
    # when staff record a telephone call-back / then it is refused by the guard
    with pytest.raises(ApiError) as refused:
        workflow.apply_action(
            allowed_principal("record_callback"), case, "record_callback", body("record_callback"), NOW
        )
    assert refused.value.fields[0].code == "callback_open"
    # and while it is open the rating is recorded as a phone answer, with what it replaced in the audit event
    open_case = case.model_copy(update={"callback": closed.model_copy(update={"due_at": NOW + timedelta(days=1)})})
    change = workflow.apply_action(
        allowed_principal("record_callback"), open_case, "record_callback", body("record_callback"), NOW
    )[0]
    assert change.after.callback is not None
    assert (change.after.callback.rating, change.after.callback.via) == ("basically_satisfied", "phone")
    assert change.event.details["rating"] == "basically_satisfied" and change.event.details["replaces"] is None


# ---- questions (咨询) ----


def a_question(**fields) -> Case:
    return a_case(Status.routed, kind=CaseKind.question, due_kind=DueKind.answer, due_at=NOW, **fields)


@pytest.mark.parametrize(
    "action", [name for name, rule in workflow.table().actions.items() if CaseKind.question not in rule.kinds]
)
def test_a_question_takes_no_complaint_action(action: str) -> None:
    # given a question awaiting its answer, and a caller who may take a complaint action
    case = a_question()
    # when a complaint-only action is tried on it, then it is refused as an invalid transition
    with pytest.raises(ApiError) as refused:
        workflow.apply_action(allowed_principal(action), case, action, body(action), NOW, primary_case())
    assert (refused.value.status, refused.value.code) == (409, "invalid_transition")


def test_answering_a_question_closes_it_with_the_answer_and_stops_its_deadline() -> None:
    # given a question of the traffic police awaiting its answer
    case = a_question()
    # when its officer answers it
    [(_, after, event)] = workflow.apply_action(allowed_principal("answer"), case, "answer", body("answer"), NOW, None)
    # then it is closed with the answer and its time, no deadline runs, and the audit event keeps the answer
    assert after.status == Status.closed
    assert (after.answer, after.answered_at, after.closed_at) == (BODIES["answer"]["answer"], NOW, NOW)
    assert (after.due_at, after.due_kind) == (None, None)
    assert event.details["answer"] == BODIES["answer"]["answer"]


def test_an_answer_is_not_empty() -> None:
    # given an answer of blanks, when parsed, then it is refused
    with pytest.raises(ValidationError):
        workflow.parse_body("answer", {"version": 3, "answer": "   "})


def test_changing_a_complaint_into_a_question_starts_the_answer_deadline_from_receipt() -> None:
    # given a routed complaint under the acceptance deadline
    case = a_case(Status.routed, due_kind=DueKind.acceptance, due_at=NOW + timedelta(days=14))
    # when an officer of its department changes it into a question
    [(_, after, event)] = workflow.apply_action(
        allowed_principal("change_kind"), case, "change_kind", body("change_kind"), NOW, None
    )
    # then it is a question set by that officer, under the answer deadline counted from receipt, audited
    answer = deadline_after(case.received_at, "answer")
    assert (after.kind, after.kind_set_by) == (CaseKind.question, "user-county_admin")
    assert (after.due_kind, after.due_at, after.answer_due_at) == (DueKind.answer, answer.due_at, answer.due_at)
    assert (event.action, event.details["from_kind"], event.details["kind"]) == ("change_kind", "complaint", "question")


def test_changing_a_question_into_a_complaint_starts_the_acceptance_deadline_from_receipt() -> None:
    # given a question awaiting its answer
    case = a_question()
    # when it is changed into a complaint
    request = workflow.parse_body("change_kind", {"version": 3, "kind": "complaint"})
    [(_, after, _)] = workflow.apply_action(allowed_principal("change_kind"), case, "change_kind", request, NOW, None)
    # then the acceptance deadline runs from receipt, as if routing had taken it for a complaint
    acceptance = deadline_after(case.received_at, "acceptance")
    assert (after.kind, after.due_kind, after.acceptance_due_at) == (
        CaseKind.complaint,
        DueKind.acceptance,
        acceptance.due_at,
    )


def test_changing_to_the_same_kind_is_refused() -> None:
    # given a question, when changed into a question, then 422 on the field kind
    request = workflow.parse_body("change_kind", {"version": 3, "kind": "question"})
    with pytest.raises(ApiError) as refused:
        workflow.apply_action(allowed_principal("change_kind"), a_question(), "change_kind", request, NOW, None)
    assert (refused.value.status, refused.value.fields[0].field) == (422, "kind")


def test_a_question_handed_back_and_given_to_another_department_gets_a_new_answer_deadline() -> None:
    # given a question the traffic police hand back as not theirs
    transfer = workflow.parse_body("transfer", {"version": 3, "reason": "非本部门职责"})
    [(_, handed_back, _)] = workflow.apply_action(
        allowed_principal("transfer"), a_question(), "transfer", transfer, NOW, None
    )
    assert (handed_back.status, handed_back.department, handed_back.due_kind) == (
        Status.transferred,
        "FZB",
        DueKind.answer,
    )
    # when the county legal office names the department that answers it
    arbitrate = workflow.parse_body("arbitrate", {"version": handed_back.version, "department": "SWJ"})
    [(_, given, _)] = workflow.apply_action(
        allowed_principal("arbitrate"), handed_back, "arbitrate", arbitrate, NOW, None
    )
    # then that department answers it under a new answer deadline from now, not the acceptance clock
    answer = deadline_after(NOW, "answer")
    assert (given.department, given.due_kind, given.due_at, given.answer_due_at, given.acceptance_due_at) == (
        "SWJ",
        DueKind.answer,
        answer.due_at,
        answer.due_at,
        None,
    )
