"""Questions (咨询) from intake to answer (routing service against moto): filed as questions by JSON, the form, SMS
and mail, routed to the office that can answer them under the answer deadline, answered by the department's officer,
the answer sent to the asker and shown on the status page; staff change the kind either way."""

import json
from email import message_from_bytes, policy
from urllib.parse import urlencode

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from shared.core import auth, queues
from shared.core.auth import Role
from shared.core.aws import client
from shared.core.dal.cases import CaseStore
from shared.core.messages import Envelope
from shared.core.models import Case, CaseKind, DueKind, Status
from shared.core.settings import Settings, get_settings
from shared.routing import router
from shared.routing.deadlines import deadline_after
from tests.integration.intake.test_email_intake import file, mail
from tests.integration.routing.test_staff_console import cookie as console_cookie
from tests.integration.routing.test_staff_console import csrf_of, offered
from tests.support import receive_all, sqs_event

REVIEW = "对行政执法部门作出的决定不服，应该向哪里申请行政复议，期限是多长时间？"
TRAFFIC = "请问交警大队处理交通违法，被扣分后多久可以申请复议？"
ANSWER = "可以自知道该行政行为之日起六十日内，向县人民政府申请行政复议。"
PHONE, EMAIL = "13912345678", "wanghong@example.cn"


def route_all(settings: Settings) -> list[Case]:
    bodies = [m["Body"] for m in receive_all(queues.queue_url(settings.intake_queue), client("sqs"))]
    return [router.route_complaint(settings, Envelope.model_validate_json(body)) for body in bodies]


def submit(public, body: dict) -> dict:
    response = public.post(
        "/complaints",
        headers={"Content-Type": "application/json"},
        body=json.dumps(body, ensure_ascii=False),
    )
    assert response.status_code == 201, response.body
    return json.loads(response.body)


def status(public, receipt: dict) -> dict:
    response = public.get(f"/complaints/{receipt['tracking_no']}?code={receipt['verification_code']}")
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def act(
    routing_app, number: str, action: str, role: Role = Role.dept_officer, department: str | None = "JJDD", **fields
):
    settings = get_settings()
    token = auth.issue_development_token(settings, role, department if role != Role.county_admin else None)
    version = CaseStore(settings).get(number).version  # type: ignore[union-attr]
    return routing_app.http.post(
        f"/{number}/actions/{action}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        body=json.dumps({"version": version, **fields}, ensure_ascii=False),
    )


def test_a_question_that_says_nothing_of_its_kind_goes_to_the_county_legal_office_under_the_answer_deadline(
    public, aws: Settings
) -> None:
    # given the issue's question about review, submitted as JSON without saying it is a question
    receipt = submit(public, {"description": REVIEW, "anonymous": True})
    # when routing takes it
    [case] = route_all(aws)
    # then it is a question the recogniser said so, for the county legal office, under the answer deadline
    answer = deadline_after(case.received_at, "answer")
    assert (case.kind, case.kind_set_by, case.department) == (CaseKind.question, router.ROUTER, "FZB")
    assert (case.due_kind, case.due_at, case.answer_due_at, case.acceptance_due_at) == (
        DueKind.answer,
        answer.due_at,
        answer.due_at,
        None,
    )
    # and the status page says it is a question waiting for its answer by that date
    shown = status(public, receipt)
    assert (shown["kind"], shown["status_name"], shown["due_kind"]) == (
        "question",
        "已转交答复部门，等待答复",
        "answer",
    )
    assert "answer" not in shown


def test_a_question_is_answered_by_the_department_named_and_the_answer_reaches_the_asker(
    public, routing_app, aws: Settings
) -> None:
    # given a question about the traffic police, said to be one, from an asker with a mobile and a mail address
    receipt = submit(
        public, {"kind": "question", "description": TRAFFIC, "complainant": {"phone": PHONE, "email": EMAIL}}
    )
    [case] = route_all(aws)
    assert (case.kind, case.kind_set_by, case.department, case.status) == (
        CaseKind.question,
        "complainant",
        "JJDD",
        Status.routed,
    )
    # when an officer of the traffic police answers it
    response = act(routing_app, case.tracking_no, "answer", answer=ANSWER)
    # then the question is closed with the answer, and the timeline keeps the answer
    assert response.status_code == 200, response.body
    answered = json.loads(response.body)["case"]
    assert (answered["status"], answered["answer"], answered["due_at"]) == ("closed", ANSWER, None)
    timeline = CaseStore(aws).events(case.tracking_no)
    assert timeline[-1].action == "answer" and timeline[-1].details["answer"] == ANSWER
    # and the notice, once sent, reaches the asker by SMS (pointing to the status page) and by mail (the answer)
    notices = [m["Body"] for m in receive_all(queues.queue_url(aws.notify_queue), client("sqs"))]
    assert [json.loads(body)["data"]["kind"] for body in notices] == ["answered"]
    assert routing_app.lambda_.invoke("send_notifications", sqs_event(notices)).payload == {"batchItemFailures": []}
    texts = [text for phone, text, *_ in sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values()]
    assert len(texts) == 1 and case.tracking_no in texts[0] and "已答复" in texts[0]
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    [mail] = [message_from_bytes(item.raw_data.encode(), policy=policy.default) for item in sent]
    assert mail["To"] == EMAIL and case.tracking_no in mail["Subject"]
    assert ANSWER in mail.get_content()  # type: ignore[attr-defined]
    # and the status page shows the answer and when it was given
    shown = status(public, receipt)
    assert (shown["kind"], shown["status"], shown["status_name"], shown["answer"]) == (
        "question",
        "closed",
        "已答复",
        ANSWER,
    )
    assert shown["answered_at"].endswith("+08:00")


def test_the_form_files_a_question_when_the_person_chooses_to_ask(public, aws: Settings) -> None:
    # given the web form with 我要咨询 chosen
    fields = {"kind": "question", "description": TRAFFIC, "who": "anonymous", "token": "a" * 32}
    # when it is posted
    response = public.post(
        "/",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Host": "127.0.0.1:8000"},
        body=urlencode(fields).encode(),
    )
    # then a question is filed, said to be one by the person, and routed to the traffic police
    assert response.status_code == 201, response.body
    [case] = route_all(aws)
    assert (case.kind, case.kind_set_by, case.department) == (CaseKind.question, "complainant", "JJDD")


def test_an_unknown_kind_on_the_form_is_refused_next_to_the_choice(public, aws: Settings) -> None:
    # given the form with a kind that is not offered, when posted, then 422 and nothing is filed
    fields = {"kind": "praise", "description": TRAFFIC, "who": "anonymous"}
    response = public.post(
        "/",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Host": "127.0.0.1:8000"},
        body=urlencode(fields).encode(),
    )
    assert response.status_code == 422
    assert 'id="error-kind"' in response.body.decode()
    assert route_all(aws) == []


def test_a_question_by_sms_is_filed_as_a_question(public, aws: Settings) -> None:
    # given a text to the campaign number asking where to apply for review
    push = [
        {
            "phone_number": PHONE,
            "send_time": "2026-05-20 10:00:00",
            "content": REVIEW,
            "sign_name": "靖宇县法制办",
            "dest_code": "1234",
            "sequence_id": 4001,
        }
    ]
    # when the provider pushes it and routing takes it
    response = public.post(
        "/sms/aliyun?token=local-sms-token",
        headers={"Content-Type": "application/json"},
        body=json.dumps(push, ensure_ascii=False),
    )
    assert response.status_code == 200, response.body
    [case] = route_all(aws)
    # then it is a question for the county legal office
    assert (case.channel, case.kind, case.department, case.due_kind) == (
        "sms",
        CaseKind.question,
        "FZB",
        DueKind.answer,
    )


def test_a_question_by_mail_is_filed_as_a_question(aws: Settings) -> None:
    # given a mail to the county mailbox asking where to apply for review, from a sender SES authenticated
    client("ses").verify_email_identity(EmailAddress=aws.mail_address)
    file(aws, mail(REVIEW, subject="咨询行政复议", message_id="<q1@163.com>"))
    # when routing takes it
    [case] = route_all(aws)
    # then it is a question for the county legal office, under the answer deadline
    assert (case.channel, case.kind, case.department, case.due_kind) == ("email", CaseKind.question, "FZB", "answer")


def test_staff_change_a_complaint_into_a_question_and_complaint_actions_are_refused_on_it(
    public, routing_app, aws: Settings
) -> None:
    # given a question the asker sent as a complaint, routed to the traffic police under the acceptance deadline
    submit(public, {"kind": "complaint", "description": TRAFFIC, "anonymous": True})
    [case] = route_all(aws)
    assert (case.kind, case.due_kind) == (CaseKind.complaint, DueKind.acceptance)
    # when the traffic police's officer changes it into a question
    response = act(routing_app, case.tracking_no, "change_kind", kind="question", note="属于咨询")
    # then it is a question under the answer deadline, and the change is in the timeline with who made it
    assert response.status_code == 200, response.body
    changed = json.loads(response.body)["case"]
    assert (changed["kind"], changed["due_kind"]) == ("question", "answer")
    event = CaseStore(aws).events(case.tracking_no)[-1]
    assert (event.action, event.details["from_kind"], event.details["kind"], event.note) == (
        "change_kind",
        "complaint",
        "question",
        "属于咨询",
    )
    # and accepting it as a complaint is refused, while answering it is offered
    refused = act(routing_app, case.tracking_no, "accept")
    assert refused.status_code == 409 and json.loads(refused.body)["error"]["fields"][0]["code"] == "kind"
    token = auth.issue_development_token(aws, Role.dept_officer, "JJDD")
    shown = routing_app.http.get(f"/{case.tracking_no}", headers={"Authorization": f"Bearer {token}"})
    assert set(json.loads(shown.body)["allowed_actions"]) >= {"answer", "change_kind"}
    assert "accept" not in json.loads(shown.body)["allowed_actions"]


def test_another_departments_officer_cannot_answer(public, routing_app, aws: Settings) -> None:
    # given a question for the traffic police
    submit(public, {"kind": "question", "description": TRAFFIC, "anonymous": True})
    [case] = route_all(aws)
    # when an officer of the tax bureau tries to answer it, then it is refused as if there were no such case, and
    # the question stays open
    response = act(routing_app, case.tracking_no, "answer", department="SWJ", answer=ANSWER)
    assert response.status_code == 404
    assert CaseStore(aws).get(case.tracking_no).status == Status.routed  # type: ignore[union-attr]


def test_the_console_offers_the_officer_the_answer_and_the_change_of_kind(public, routing_app, aws: Settings) -> None:
    # given a question for the traffic police and its officer signed in to the console
    submit(public, {"kind": "question", "description": TRAFFIC, "anonymous": True})
    [case] = route_all(aws)
    officer = console_cookie(aws, Role.dept_officer, "JJDD")
    page = routing_app.http.get(f"/console/{case.tracking_no}", headers=officer).body.decode()
    # then the page says it is a question and offers exactly handing it back, answering it and changing its kind
    assert '<dd id="kind">咨询' in page and "咨询答复期限" in page
    assert offered(page) == ["transfer", "answer", "change_kind"]
    assert '<option value="complaint">投诉</option>' in page
    # when the officer posts the answer form
    fields = {"version": case.version, "csrf": csrf_of(page), "answer": ANSWER}
    done = routing_app.http.post(
        f"/console/{case.tracking_no}/answer",
        headers={**officer, "Content-Type": "application/x-www-form-urlencoded"},
        body=urlencode(fields),
    )
    # then the question is answered and the page shows the answer
    assert done.status_code == 303
    after = routing_app.http.get(f"/console/{case.tracking_no}", headers=officer).body.decode()
    assert f'<p class="description" id="answer">{ANSWER}</p>' in after and offered(after) == []


def test_the_console_changes_the_kind_with_its_own_select(public, routing_app, aws: Settings) -> None:
    # given a complaint routed to the traffic police
    submit(public, {"kind": "complaint", "description": TRAFFIC, "anonymous": True})
    [case] = route_all(aws)
    officer = console_cookie(aws, Role.dept_officer, "JJDD")
    page = routing_app.http.get(f"/console/{case.tracking_no}", headers=officer).body.decode()
    # when the officer posts the change of kind to a question
    fields = {"version": case.version, "csrf": csrf_of(page), "kind": "question"}
    done = routing_app.http.post(
        f"/console/{case.tracking_no}/change_kind",
        headers={**officer, "Content-Type": "application/x-www-form-urlencoded"},
        body=urlencode(fields),
    )
    # then it is a question, offered the answer
    assert done.status_code == 303
    after = routing_app.http.get(f"/console/{case.tracking_no}", headers=officer).body.decode()
    assert "<h1>咨询" in after and "answer" in offered(after)


def test_a_department_lists_its_questions_apart(public, routing_app, aws: Settings) -> None:
    # given a complaint and a question, both for the traffic police
    submit(public, {"kind": "complaint", "description": TRAFFIC, "anonymous": True})
    submit(public, {"kind": "question", "description": TRAFFIC, "anonymous": True})
    routed = {case.kind: case for case in route_all(aws)}
    complaint, question = routed[CaseKind.complaint], routed[CaseKind.question]
    token = auth.issue_development_token(aws, Role.dept_officer, "JJDD")
    # when its officer lists the queue with and without the question filter
    both = routing_app.http.get("/?status=routed", headers={"Authorization": f"Bearer {token}"})
    only = routing_app.http.get("/?status=routed&kind=question", headers={"Authorization": f"Bearer {token}"})
    # then the queue has both, each with its kind, and the filter only the question
    assert {(item["tracking_no"], item["kind"]) for item in json.loads(both.body)["items"]} == {
        (complaint.tracking_no, "complaint"),
        (question.tracking_no, "question"),
    }
    assert [item["tracking_no"] for item in json.loads(only.body)["items"]] == [question.tracking_no]
    # and the console's queue offers the filter and marks the question
    page = routing_app.http.get("/console?kind=question", headers=console_cookie(aws, Role.dept_officer, "JJDD"))
    html = page.body.decode()
    assert '<option value="question" selected>只看咨询</option>' in html
    assert question.tracking_no in html and complaint.tracking_no not in html
