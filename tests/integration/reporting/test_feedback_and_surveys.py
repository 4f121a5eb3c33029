"""The call-back after the reply and the opinion forms, from the complainant's or the enterprise's answer to the
county workbook (issue 15, items 3 and 4), through the three services' own routes and consumers."""

import io
import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

import openpyxl
import pytest
from chalice.test import Client
from twilio.request_validator import RequestValidator

from shared.core import auth, objects, queues
from shared.core.aws import client
from shared.core.dal.cases import CaseStore
from shared.core.messages import Envelope
from shared.core.settings import Settings
from shared.intake import sms_inbound
from shared.routing import router
from tests.support import load_service, receive_all
from tests.support_cases import act, deliver_events

PHONE = "13912345678"
TWILIO_URL = "http://127.0.0.1:8000/intake/sms/twilio"
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# The year's report: the cases and surveys of these tests are of today.
WORKBOOK = "reports/2026/year-2026/county/statistics.xlsx"


@pytest.fixture
def apps(aws: Settings):
    with (
        Client(load_service("intake").app) as intake,
        Client(load_service("routing").app) as routing,
        Client(load_service("reporting").app) as reporting,
    ):
        yield intake, routing, reporting


def bearer(settings: Settings) -> dict:
    return {"Authorization": f"Bearer {auth.issue_development_token(settings, auth.Role.county_admin, None)}"}


def text_from_phone(settings: Settings, sid: str, body: str, now: datetime) -> str:
    """A Twilio text from the complainant's phone; the reply as TwiML."""
    params = {"MessageSid": sid, "From": f"+86{PHONE}", "To": "+15005550006", "Body": body}
    signature = RequestValidator("local-twilio-token").compute_signature(TWILIO_URL, params)
    answer = sms_inbound.receive(
        settings, "twilio", urlencode(params).encode(), FORM["Content-Type"], signature, None, now
    )
    assert answer.status == 200
    return answer.body


def replied_case(settings: Settings, intake, replied_at: datetime) -> tuple[str, str]:
    """A traffic-police complaint with the complainant's mobile, routed, worked and replied to at `replied_at`."""
    body = {
        "description": "交警在路口查车罚款两百元，不开罚款收据。",
        "respondent": "县交警大队",
        "complainant": {"name": "王芳", "phone": PHONE},
    }
    receipt = json.loads(intake.post("/complaints", headers=JSON, body=json.dumps(body, ensure_ascii=False)).body)
    number, code = receipt["tracking_no"], receipt["verification_code"]
    message = receive_all(queues.queue_url(settings.intake_queue), client("sqs"))[-1]["Body"]
    router.route_complaint(settings, Envelope.model_validate_json(message), now=replied_at - timedelta(days=4))
    act(settings, number, "accept", replied_at - timedelta(days=3))
    act(settings, number, "start_investigation", replied_at - timedelta(days=2))
    act(settings, number, "decide", replied_at - timedelta(days=1), finding="unsubstantiated", summary="经查不属实")
    act(settings, number, "reply", replied_at, message="经查，罚款有依据，已当场开具票据。")
    return number, code


def county_workbook(settings: Settings, reporting) -> openpyxl.Workbook:
    asked = reporting.http.post(
        "/", headers=bearer(settings), body=json.dumps({"period": "year:2026", "formats": ["xlsx"]}).encode()
    )
    assert asked.status_code == 201, asked.body
    return openpyxl.load_workbook(io.BytesIO(objects.get(settings.reports_bucket, WORKBOOK)))


def sheet_row(sheet, name: str) -> list:
    return next([cell.value for cell in row] for row in sheet.iter_rows(min_row=5) if row[1].value == name)


def test_a_replied_complainant_is_asked_answers_2_by_sms_and_the_workbook_counts_it(aws: Settings, apps) -> None:
    intake, routing, reporting = apps
    # given a complaint replied to yesterday, the complainant having given a mobile
    now = datetime.now(UTC)
    number, _ = replied_case(aws, intake.http, now - timedelta(days=1))
    # then the reply's notices include the call-back question, once
    notices = [json.loads(m["Body"]) for m in receive_all(queues.queue_url(aws.notify_queue), client("sqs"))]
    asked = [n for n in notices if n["data"].get("kind") == "callback"]
    assert len(asked) == 1 and asked[0]["data"]["values"]["link"].endswith(f"/feedback?no={number}")
    # when the complainant texts 2 from the same phone
    reply = text_from_phone(aws, "SM-cb-1", "２", now)
    # then it is taken as the rating (basically satisfied), not as a complaint or a follow-up
    assert "基本满意" in reply and number in reply
    case = CaseStore(aws).get(number)
    assert case.callback.rating == "basically_satisfied" and case.callback.via == "sms"
    assert case.description == "交警在路口查车罚款两百元，不开罚款收据。"
    assert [e.action for e in CaseStore(aws).events(number)][-1] == "callback_answer"
    assert len(list(CaseStore(aws).by_status("received"))) == 0
    # and the staff console shows it on the case
    token = auth.issue_development_token(aws, auth.Role.county_admin, None)
    page = routing.http.get(f"/console/{number}", headers={"Cookie": f"hotspot_console={token}"})
    assert "评价：基本满意（短信回复" in page.body.decode()
    # and once the case events are counted, the county workbook shows it under the traffic police
    deliver_events(aws, reporting.lambda_)
    row = sheet_row(county_workbook(aws, reporting)["回访满意度"], "县公安局交通警察大队")
    assert row[2:4] == [1, 1] and row[5:8] == [0, 1, 0]


def test_a_text_outside_the_window_is_a_complaint_again(aws: Settings, apps) -> None:
    intake, _, _ = apps
    # given a complaint replied to twenty days ago (the window is 15 days)
    now = datetime.now(UTC)
    number, _ = replied_case(aws, intake.http, now - timedelta(days=20))
    # when the complainant texts 1 / then it is not a rating: the text is filed as a complaint of its own
    reply = text_from_phone(aws, "SM-cb-late", "1", now)
    assert "已登记" in reply and CaseStore(aws).get(number).callback.rating is None


def test_the_feedback_route_refuses_a_wrong_code_as_the_status_lookup_does(aws: Settings, apps) -> None:
    intake, _, _ = apps
    # given a replied complaint and its code
    number, code = replied_case(aws, intake.http, datetime.now(UTC) - timedelta(days=1))
    wrong = "000000" if code != "000000" else "111111"
    # when a wrong code is given to the feedback route and to the status lookup
    refused = intake.http.post(
        f"/complaints/{number}/feedback", headers=JSON, body=json.dumps({"code": wrong, "rating": "satisfied"})
    )
    lookup = intake.http.get(f"/complaints/{number}?code={wrong}")
    # then both answer the same 404, and nothing is recorded
    assert refused.status_code == lookup.status_code == 404
    assert json.loads(refused.body) == json.loads(lookup.body)
    assert CaseStore(aws).get(number).callback.rating is None
    # and with the right code a dissatisfied answer is recorded, replacing nothing, and says how to ask for a review
    answered = intake.http.post(
        f"/complaints/{number}/feedback",
        headers=JSON,
        body=json.dumps({"code": code, "rating": "dissatisfied", "comment": "罚款没有依据"}, ensure_ascii=False),
    )
    body = json.loads(answered.body)
    assert answered.status_code == 200 and body["rating_name"] == "不满意" and "申请复查" in body["review"]
    # and a later answer replaces it, each with its audit event
    again = intake.http.post(
        f"/complaints/{number}/feedback", headers=JSON, body=json.dumps({"code": code, "rating": "satisfied"})
    )
    assert again.status_code == 200
    details = [e.details for e in CaseStore(aws).events(number) if e.action == "callback_answer"]
    assert [(d["rating"], d["replaces"]) for d in details] == [("dissatisfied", None), ("satisfied", "dissatisfied")]
    assert CaseStore(aws).get(number).callback.comment is None


def test_a_survey_of_20_links_5_answered_one_filed_shows_in_the_workbook(aws: Settings, apps) -> None:
    intake, routing, reporting = apps
    # given the county legal office creates a survey of 20 links about two departments
    created = reporting.http.post(
        "/surveys",
        headers={**bearer(aws), **JSON},
        body=json.dumps(
            {"title": "2026年企业座谈会", "links": 20, "departments": ["JJDD", "SCJG"]}, ensure_ascii=False
        ),
    )
    assert created.status_code == 201, created.body
    survey = json.loads(created.body)
    assert len(survey["urls"]) == 20 and len(set(survey["urls"])) == 20
    assert objects.get(aws.reports_bucket, f"surveys/{survey['id']}/links.pdf").startswith(b"%PDF")
    # when five enterprises answer on their links, one describing a concrete problem
    for index, url in enumerate(survey["urls"][:5]):
        parts = urlsplit(url)
        fields = {
            "r-JJDD-inspections": "satisfied" if index < 3 else "dissatisfied",
            "r-SCJG-fees": "basically_satisfied",
        }
        if index == 0:
            fields["text"] = "市场监管所今年检查了我们五次，每次都不出示检查通知书。"
        path = parts.path.removeprefix("/intake") + "?" + parts.query
        answered = intake.http.post(path, headers=FORM, body=urlencode(fields))
        assert answered.status_code == 201, answered.body
    # and a link used twice is refused
    first = urlsplit(survey["urls"][0])
    again = intake.http.post(first.path.removeprefix("/intake") + "?" + first.query, headers=FORM, body="text=再说一次")
    assert again.status_code == 409
    # and staff file the concrete problem as a complaint in one step
    detail = json.loads(reporting.http.get(f"/surveys/{survey['id']}", headers=bearer(aws)).body)
    with_text = next(a for a in detail["answers"] if a["text"])
    filed = routing.http.post(
        f"/surveys/{survey['id']}/answers/{with_text['number']}/complaint", headers={**bearer(aws), **JSON}, body="{}"
    )
    assert filed.status_code == 201, filed.body
    case = CaseStore(aws).get(json.loads(filed.body)["tracking_no"])
    assert case.channel == "survey" and case.source_ref == f"survey:{survey['id']}/{with_text['number']}"
    assert case.anonymous and case.description.startswith("市场监管所今年检查了我们五次")
    token = auth.issue_development_token(aws, auth.Role.county_admin, None)
    page = routing.http.get(f"/console/{case.tracking_no}", headers={"Cookie": f"hotspot_console={token}"})
    assert f"survey:{survey['id']}/{with_text['number']}" in page.body.decode()
    twice = routing.http.post(
        f"/surveys/{survey['id']}/answers/{with_text['number']}/complaint", headers={**bearer(aws), **JSON}, body="{}"
    )
    assert twice.status_code == 409
    # then the workbook's 征求意见 sheet has forms issued, answered and filed, and each department's ratings
    sheet = county_workbook(aws, reporting)["征求意见"]
    police = sheet_row(sheet, "县公安局交通警察大队")
    assert police[2:4] == [5, 0.6]  # 执法检查: five ratings, three satisfied
    market = sheet_row(sheet, "县市场监督管理局")
    assert market[2:4] == [0, "-"] and market[10:12] == [5, 1.0]  # 行政收费: five basically satisfied
    note = next(row[0].value for row in sheet.iter_rows() if row[0].value and "发放征求意见表" in str(row[0].value))
    assert "发放征求意见表20份，收回5份，据此登记投诉1件" in note
    assert re.match(r"本期征求意见1次", note)


def test_staff_record_a_telephone_call_back_and_it_is_counted(aws: Settings, apps) -> None:
    intake, routing, reporting = apps
    # given a replied complaint whose complainant did not answer by SMS or on the web
    number, _ = replied_case(aws, intake.http, datetime.now(UTC) - timedelta(days=2))
    officer = {
        "Authorization": f"Bearer {auth.issue_development_token(aws, auth.Role.dept_officer, 'JJDD')}",
        **JSON,
    }
    version = CaseStore(aws).get(number).version
    # when the department's officer records the telephone call-back on the case
    body = {"version": version, "rating": "satisfied", "comment": "电话回访：对答复满意"}
    recorded = routing.http.post(f"/{number}/actions/record_callback", headers=officer, body=json.dumps(body))
    # then the case carries the rating as a phone answer, with its audit event naming the officer
    assert recorded.status_code == 200, recorded.body
    callback = CaseStore(aws).get(number).callback
    assert (callback.rating, callback.via, callback.comment) == ("satisfied", "phone", "电话回访：对答复满意")
    event = CaseStore(aws).events(number)[-1]
    assert (event.action, event.details["rating"], event.details["actor_role"]) == (
        "record_callback",
        "satisfied",
        "dept_officer",
    )
    # and the year's workbook counts it for the traffic police
    deliver_events(aws, reporting.lambda_)
    row = sheet_row(county_workbook(aws, reporting)["回访满意度"], "县公安局交通警察大队")
    assert row[2:4] == [1, 1] and row[5:8] == [1, 0, 0]


def test_a_survey_form_refuses_unknown_links_and_wrong_answers(aws: Settings, apps) -> None:
    intake, _, reporting = apps
    # given a survey of two links about the traffic police
    created = reporting.http.post(
        "/surveys",
        headers={**bearer(aws), **JSON},
        body=json.dumps({"title": "走访", "links": 2, "departments": ["JJDD"]}),
    )
    survey = json.loads(created.body)
    path = urlsplit(survey["urls"][0])
    url = f"{path.path.removeprefix('/intake')}?{path.query}"
    # when a link with a made-up token, an unknown level, or nothing at all is posted
    forged = intake.http.post(f"/surveys/{survey['id']}?t=madeup", headers=FORM, body="text=乱收费")
    bad_level = intake.http.post(url, headers=FORM, body="r-JJDD-fees=excellent")
    empty = intake.http.post(url, headers=FORM, body="r-JJDD-fees=")
    # then each is refused with the page saying why, and the link can still be used once
    assert (forged.status_code, bad_level.status_code, empty.status_code) == (404, 422, 422)
    assert "链接无效" in forged.body.decode() and "请至少评价一项或填写意见" in empty.body.decode()
    assert intake.http.get(url).status_code == 200
    taken = intake.http.post(url, headers=FORM, body="r-JJDD-fees=dissatisfied&r-SCJG-fees=satisfied")
    assert taken.status_code == 201
    # and a department it does not ask about is not taken: only the survey's departments are stored
    detail = json.loads(reporting.http.get(f"/surveys/{survey['id']}", headers=bearer(aws)).body)
    assert detail["answers"][0]["ratings"] == {"JJDD": {"fees": "dissatisfied"}} and detail["answered"] == 1
