"""The complainant's compartment (routing service against moto): who may reveal it, every reveal audited without
the data, and messages relayed to the stored contact without the caller learning it."""

import json
import logging
import re
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from chalice.test import Client
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from shared.core import auth, queues, staff_pages
from shared.core.auth import Role
from shared.core.aws import client
from shared.core.dal.cases import CaseStore
from shared.core.messages import Envelope
from shared.core.models import AuditEvent
from shared.core.settings import Settings
from shared.intake.complaints import submit_complaint
from shared.routing import confidentiality, router
from tests.support import load_service, receive_all, sqs_event

TRAFFIC = "交警在路口查车罚款两百元，不开罚款收据，让我直接把钱转到他个人手机上。"
NAME, PHONE, ID_NUMBER = "王红", "13912345678", "11010519491231002X"


@pytest.fixture
def app_client(aws: Settings):
    with Client(load_service("routing").app) as test_client:
        yield test_client


def routed(settings: Settings, consent: bool = False) -> str:
    """A complaint about the traffic police's staff, received through intake and routed to them."""
    complainant = {"name": NAME, "phone": PHONE, "id_number": ID_NUMBER, "consent_to_share": consent}
    body = json.dumps({"description": TRAFFIC, "complainant": complainant}, ensure_ascii=False).encode()
    answer = submit_complaint(settings, body, "application/json", None)
    assert answer.status == 201, answer.body
    message = receive_all(queues.queue_url(settings.intake_queue), client("sqs"))[-1]["Body"]
    router.route_complaint(settings, Envelope.model_validate_json(message))
    return str(answer.body["tracking_no"])


def classified_as(settings: Settings, number: str, category: str) -> None:
    """As if the classifier had put the case in `category` when it routed it."""
    store = CaseStore(settings)
    before = store.get(number)
    assert before is not None
    after = before.model_copy(update={"category": category, "version": before.version + 1})
    event = AuditEvent(
        tracking_no=number, version=after.version, at=datetime.now(UTC), actor=router.ROUTER, action="route"
    )
    store.transition(before, after, event)


def bearer(settings: Settings, role: Role, department: str | None = None) -> dict:
    token = auth.issue_development_token(settings, role, department, name="开发人员")
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def post(app_client, path: str, headers: dict, body: dict) -> tuple[int, dict]:
    response = app_client.http.post(path, headers=headers, body=json.dumps(body, ensure_ascii=False))
    return response.status_code, json.loads(response.body)


def access_events(settings: Settings, number: str, action: str) -> list[AuditEvent]:
    return [event for event in CaseStore(settings).events(number) if event.action == action]


CALLERS = {
    "county_admin": (Role.county_admin, None),
    "own_head": (Role.dept_head, "JJDD"),
    "own_officer": (Role.dept_officer, "JJDD"),
    "other_officer": (Role.dept_officer, "SCJG"),
    "auditor": (Role.auditor, None),
    "media": (Role.media, None),
}


@pytest.mark.parametrize(
    ("caller", "consent", "category", "allowed"),
    [
        ("county_admin", False, None, True),
        ("own_officer", True, None, True),
        ("own_head", True, None, True),
        ("own_officer", False, None, False),
        ("own_head", False, None, False),
        ("own_officer", False, "livelihood", True),
        ("other_officer", True, None, False),
        ("other_officer", False, "livelihood", False),
        ("auditor", True, None, False),
        ("media", True, None, False),
    ],
)
def test_who_may_reveal_the_complainant_and_a_refused_caller_writes_and_learns_nothing(
    app_client, aws: Settings, caller: str, consent: bool, category: str | None, allowed: bool
) -> None:
    # given a routed complaint, with or without the complainant's consent, about staff unless classified otherwise
    number = routed(aws, consent)
    if category:
        classified_as(aws, number, category)
    role, department = CALLERS[caller]
    headers = bearer(aws, role, department)
    # when the caller opens the case (where the role may) and asks for the complainant with a reason
    shown = app_client.http.get(f"/{number}", headers=headers)
    status, body = post(app_client, f"/{number}/complainant/reveal", headers, {"reason": "需要电话核实情况"})
    # then the case shows the complainant masked to everyone, saying whether a reveal would be allowed
    if shown.status_code == 200:
        complainant = json.loads(shown.body)["complainant"]
        assert (complainant["name"], complainant["phone"]) == ("王*", "139****5678")
        assert complainant["id_number"] == "**************002X"
        assert json.loads(shown.body)["complainant_revealable"] is allowed
    # and the reveal answers the full compartment exactly when the rules allow, else what a missing case answers
    missing = post(app_client, "/ZF000000000000/complainant/reveal", headers, {"reason": "需要电话核实情况"})
    if allowed:
        assert status == 200 and (body["complainant"]["name"], body["complainant"]["phone"]) == (NAME, PHONE)
    else:
        assert (status, body) == missing and status == 404 and PHONE not in json.dumps(body)
    # and an allowed reveal is on the case: who and why, none of the personal data; a refused one wrote nothing
    events = access_events(aws, number, "reveal_complainant")
    assert len(events) == (1 if allowed else 0)
    for event in events:
        assert event.actor == auth.principal_from_headers(aws, headers).subject
        assert event.note == "需要电话核实情况" and event.details["actor_role"] == role
        stored = event.model_dump_json()
        assert NAME not in stored and PHONE not in stored and ID_NUMBER not in stored


def test_a_category_the_department_corrected_itself_does_not_open_the_contact(app_client, aws: Settings) -> None:
    # given a complaint about the traffic police's staff, without consent
    number = routed(aws)
    officer = bearer(aws, Role.dept_officer, "JJDD")
    version = CaseStore(aws).get(number).version  # type: ignore[union-attr]
    # when their officer recategorises it as not about staff and asks for the complainant
    status, _ = post(
        app_client, f"/{number}/actions/correct_category", officer, {"version": version, "category": "other"}
    )
    assert status == 200
    status, _ = post(app_client, f"/{number}/complainant/reveal", officer, {"reason": "核实"})
    # then it is refused, and nothing is recorded
    assert status == 404 and access_events(aws, number, "reveal_complainant") == []


def test_each_reveal_is_audited_and_the_timeline_shows_them_in_order(app_client, aws: Settings) -> None:
    # given a case the county legal office opens twice
    number = routed(aws)
    fzb = bearer(aws, Role.county_admin)
    # when it reveals the complainant twice, then an auditor tries
    assert post(app_client, f"/{number}/complainant/reveal", fzb, {"reason": "第一次核实"})[0] == 200
    assert post(app_client, f"/{number}/complainant/reveal", fzb, {"reason": "第二次核实"})[0] == 200
    assert post(app_client, f"/{number}/complainant/reveal", bearer(aws, Role.auditor), {"reason": "抽查"})[0] == 404
    # then the timeline carries the two reveals after the routing, in order (the refused one wrote nothing)
    timeline = json.loads(app_client.http.get(f"/{number}", headers=fzb).body)["timeline"]
    reveals = [
        (event["note"], event["details"]["allowed"]) for event in timeline if event["action"] == "reveal_complainant"
    ]
    assert reveals == [("第一次核实", True), ("第二次核实", True)]
    assert timeline[0]["action"] != "reveal_complainant"


def test_a_reveal_without_a_reason_is_refused_before_anything_is_read(app_client, aws: Settings) -> None:
    # given a case / when the county legal office asks for the complainant without a reason
    number = routed(aws)
    status, body = post(app_client, f"/{number}/complainant/reveal", bearer(aws, Role.county_admin), {})
    # then it is a validation error naming the field, and no reveal happened
    assert status == 422 and body["error"]["fields"][0]["field"] == "reason"
    assert access_events(aws, number, "reveal_complainant") == []


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [("reveal", {"reason": "核实\x05身份"}, "reason"), ("message", {"text": "您好\x86"}, "text")],
)
def test_control_characters_in_a_reason_or_a_message_are_refused(app_client, aws: Settings, path, body, field) -> None:
    # given a case / when its officer gives a reason or a message with a control character (C0 or C1)
    number = routed(aws)
    receive_all(queues.queue_url(aws.notify_queue), client("sqs"))
    status, answer = post(app_client, f"/{number}/complainant/{path}", bearer(aws, Role.county_admin), body)
    # then it is a validation error naming the field; nothing is recorded or queued for the complainant
    assert status == 422 and [item["field"] for item in answer["error"]["fields"]] == [field]
    assert access_events(aws, number, "reveal_complainant") == access_events(aws, number, "relay_message") == []
    assert receive_all(queues.queue_url(aws.notify_queue), client("sqs")) == []


def texts() -> list[tuple[str, str]]:
    return [(phone, text) for phone, text, *_ in sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values()]


def test_a_department_messages_the_complainant_through_the_system_without_learning_the_number(
    app_client, aws: Settings, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture
) -> None:
    # given a complaint about the traffic police's staff whose complainant did not agree to share their contact
    number = routed(aws)
    officer = bearer(aws, Role.dept_officer, "JJDD")
    receive_all(queues.queue_url(aws.notify_queue), client("sqs"))  # the routing's own notices, if any
    caplog.set_level(logging.INFO)
    # when their officer sends a message and the notification consumer runs
    text = "请于周五前携票据到交警大队法制室说明情况"
    status, body = post(app_client, f"/{number}/complainant/message", officer, {"text": text})
    queued = [m["Body"] for m in receive_all(queues.queue_url(aws.notify_queue), client("sqs"))]
    app_client.lambda_.invoke("send_notifications", sqs_event(queued))
    # then the caller was told only that it is queued, never the number
    assert status == 202 and body["queued"] is True and PHONE not in json.dumps(body) and "5678" not in json.dumps(body)
    # and the SMS went to the stored contact with the message, once
    sent = [sms for sms in texts() if number in sms[1]]
    assert len(sent) == 1 and sent[0][0] == f"+86{PHONE}" and text in sent[0][1]
    # and it is recorded on the case: an audit event with the text, a notice record of the delivery
    events = access_events(aws, number, "relay_message")
    assert len(events) == 1 and events[0].note == text and PHONE not in events[0].model_dump_json()
    notices = CaseStore(aws).notices(number)
    assert any(notice["kind"] == "relay" and notice["state"] == "sent" for notice in notices)
    # and no log line carries the number, the name or the text
    logged = (
        capsys.readouterr().out
        + caplog.text
        + "".join(json.dumps(record.__dict__, default=str, ensure_ascii=False) for record in caplog.records)
    )
    assert PHONE not in logged and NAME not in logged and text not in logged


def test_relayed_messages_are_limited_in_length_scope_and_rate(app_client, aws: Settings) -> None:
    # given a case of the traffic police
    number = routed(aws)
    officer = bearer(aws, Role.dept_officer, "JJDD")
    path = f"/{number}/complainant/message"
    # when a message longer than one SMS is sent / then it is refused
    assert post(app_client, path, officer, {"text": "长" * (confidentiality.rules().relay_chars + 1)})[0] == 422
    # when another department or an auditor sends one / then it is refused
    assert post(app_client, path, bearer(aws, Role.dept_officer, "SCJG"), {"text": "您好"})[0] == 404
    assert post(app_client, path, bearer(aws, Role.auditor), {"text": "您好"})[0] == 403
    # when the officer sends more than the hourly limit / then the one over it gets 429
    limit = confidentiality.rules().relay_per_hour
    statuses = [post(app_client, path, officer, {"text": f"消息{i}"})[0] for i in range(limit + 1)]
    assert statuses == [202] * limit + [429]
    assert len(access_events(aws, number, "relay_message")) == limit


@pytest.mark.parametrize(("ticked", "consent"), [(True, True), (False, False)])
def test_the_web_form_records_the_complainants_consent_unticked_meaning_no(
    aws: Settings, ticked: bool, consent: bool
) -> None:
    # given the public form filled in by a named person, with the consent box ticked or not
    fields = {"description": TRAFFIC, "who": "person", "name": NAME, "phone": PHONE}
    if ticked:
        fields["consent_to_share"] = "yes"
    # when it is posted
    with Client(load_service("intake").app) as intake:
        response = intake.http.post(
            "/",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Host": "127.0.0.1:8000"},
            body=urlencode(fields).encode(),
        )
    # then the complainant's compartment records the consent as given
    assert response.status_code == 201
    number = re.search(r'id="tracking-no">(\w+)<', response.body.decode())
    assert number is not None
    stored = CaseStore(aws).complainant(number.group(1))
    assert stored is not None and stored.consent_to_share is consent


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def test_the_console_reveals_the_complainant_only_through_the_audited_form(app_client, aws: Settings) -> None:
    # given a case, and the county legal office and the department signed in to the console
    number = routed(aws)
    fzb = {"Cookie": f"{staff_pages.SESSION_COOKIE}={auth.issue_development_token(aws, Role.county_admin, None)}"}
    officer = {"Cookie": f"{staff_pages.SESSION_COOKIE}={auth.issue_development_token(aws, Role.dept_officer, 'JJDD')}"}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    # when each opens the case page
    page = app_client.http.get(f"/console/{number}", headers=fzb).body.decode()
    officer_page = app_client.http.get(f"/console/{number}", headers=officer).body.decode()
    # then both see the complainant masked, and only the county legal office is offered the reveal form
    assert PHONE not in page and "139****5678" in page and 'id="reveal-complainant"' in page
    assert 'id="reveal-complainant"' not in officer_page
    # when the county legal office submits it with a reason
    fields = {"csrf": csrf_of(page), "reason": "核实投诉人身份"}
    revealed = app_client.http.post(
        f"/console/{number}/reveal_complainant", headers={**fzb, **form}, body=urlencode(fields)
    )
    # then the answering page shows the full contact, not cached, and the reveal is on the case
    assert revealed.status_code == 200 and PHONE in revealed.body.decode() and ID_NUMBER in revealed.body.decode()
    assert revealed.headers["Cache-Control"] == "no-store"
    assert [event.note for event in access_events(aws, number, "reveal_complainant")] == ["核实投诉人身份"]
    # and the officer forcing the form is refused as for a missing case, and nothing is written
    forced = app_client.http.post(
        f"/console/{number}/reveal_complainant",
        headers={**officer, **form},
        body=urlencode({"csrf": csrf_of(officer_page), "reason": "看看"}),
    )
    assert forced.status_code == 404 and PHONE not in forced.body.decode()
    assert len(access_events(aws, number, "reveal_complainant")) == 1
