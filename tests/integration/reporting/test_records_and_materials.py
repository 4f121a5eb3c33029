"""Records the county legal office enters and the departments' campaign materials, through the reporting app
against moto (shared/reporting/records.py): roles and department scope, validation in Chinese, audit events, presigned
uploads with on-time and late submissions, the late list, and the daily reminder sent once a day."""

import json
from datetime import UTC, date, datetime

import pytest
import requests
from chalice.test import Client

from infra import cli
from shared.core import auth, queues, sms_text
from shared.core.aws import client
from shared.core.dal.campaign import CampaignStore
from shared.core.dal.items import to_item
from shared.core.dal.records import RecordStore
from shared.core.dal.stats import StatsStore
from shared.core.dal.surveys import SurveyStore
from shared.core.messages import Envelope
from shared.core.settings import Settings
from shared.intake.complaints import submit_complaint
from shared.reporting import materials, periods, reports, stats, surveys
from shared.reporting.report_document import COUNTY_SCOPE
from shared.routing import notifications
from tests.support import load_service, receive_all, requests_made, scheduled_event

LAWSUIT = {
    "department": "JJDD",
    "case_number": "（2026）吉0622行初12号",
    "judgment_date": "2026-06-30",
    "summary": "交警大队扣留车辆程序违法，法院判决撤销。",
}
ACCOUNTABILITY = {
    "department": "SCJG",
    "persons": ["王某", "李某"],
    "decided_on": "2026-08-01",
    "measure": "诫勉谈话",
    "summary": "重复检查同一企业，对执法人员追责。",
}
PDF = b"%PDF-1.4\n%test\n"
# County time 08:00 on days around the materials' due date (2026-09-20; campaign ends 2026-10-20).
BEFORE_DUE = datetime(2026, 9, 18, 0, 0, tzinfo=UTC)
ON_DUE_DAY_LATE_EVENING = datetime(2026, 9, 20, 15, 30, tzinfo=UTC)  # 23:30 in Asia/Shanghai: still on time
AFTER_DUE = datetime(2026, 9, 21, 0, 0, tzinfo=UTC)


@pytest.fixture
def http(aws: Settings):
    with Client(load_service("reporting").app) as test_client:
        yield test_client


def bearer(settings: Settings, role: str = "county_admin", department: str | None = None) -> dict:
    token = auth.issue_development_token(settings, auth.Role(role), department, name="法制办张三")
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def principal(role: str, department: str | None = None) -> auth.Principal:
    return auth.Principal(subject=f"test-{role}", name="测试", role=auth.Role(role), department=department)


def figures(settings: Settings, period_key: str) -> dict[str, dict[str, int]]:
    """The records' figures on a period's statistics rows, of the departments that have any."""
    rows = stats.department_rows(settings, period_key)
    return {
        row.department: {name: getattr(row, name) for name in stats.RECORD_FIELDS}
        for row in rows
        if any(getattr(row, name) for name in stats.RECORD_FIELDS)
    }


def post(http, path: str, body: dict, headers: dict):
    return http.http.post(path, headers=headers, body=json.dumps(body, ensure_ascii=False).encode())


def error(response) -> dict:
    return json.loads(response.body)["error"]


# --- records -----------------------------------------------------------------------------------------------------


def test_the_county_office_records_a_lost_lawsuit_and_departments_see_only_their_own(http, aws: Settings) -> None:
    # given a lost lawsuit of the traffic police and an accountability record of market supervision
    added = post(http, "/records/lawsuits", LAWSUIT, bearer(aws))
    post(http, "/records/accountability", ACCOUNTABILITY, bearer(aws))
    # then the lawsuit is stored with who entered it and when
    assert added.status_code == 201, added.body
    record = json.loads(added.body)["record"]
    assert record["kind"] == "lawsuits" and record["version"] == 1 and record["date"] == "2026-06-30"
    assert record["created_by_name"] == "法制办张三" and record["created_at"]
    # when each role lists the lawsuits of the campaign
    listed = {
        caller: http.http.get("/records/lawsuits", headers=bearer(aws, role, department))
        for caller, (role, department) in {
            "admin": ("county_admin", None),
            "auditor": ("auditor", None),
            "traffic": ("dept_officer", "JJDD"),
            "market": ("dept_head", "SCJG"),
            "media": ("media", None),
        }.items()
    }
    # then the county office, the auditors and the traffic police see it; market supervision does not; media may not
    ids = {caller: [r["id"] for r in json.loads(r.body).get("items", [])] for caller, r in listed.items()}
    assert ids["admin"] == ids["auditor"] == ids["traffic"] == [record["id"]]
    assert ids["market"] == []
    assert listed["media"].status_code == 403 and error(listed["media"])["code"] == "forbidden"
    # and a department cannot ask for another department's records
    other = http.http.get("/records/lawsuits?department=JJDD", headers=bearer(aws, "dept_officer", "SCJG"))
    assert other.status_code == 403 and error(other)["code"] == "forbidden"


def test_only_the_county_office_enters_changes_and_deletes_records(http, aws: Settings) -> None:
    # given a record the county office entered
    record = json.loads(post(http, "/records/lawsuits", LAWSUIT, bearer(aws)).body)["record"]
    for role, department in [("dept_head", "JJDD"), ("dept_officer", "JJDD"), ("auditor", None), ("media", None)]:
        headers = bearer(aws, role, department)
        # when another role tries to add, change or delete one
        answers = [
            post(http, "/records/lawsuits", LAWSUIT, headers),
            http.http.put(
                f"/records/lawsuits/{record['id']}",
                headers=headers,
                body=json.dumps({**LAWSUIT, "version": 1}).encode(),
            ),
            http.http.delete(f"/records/lawsuits/{record['id']}", headers=headers),
        ]
        # then each is refused with 403 forbidden
        assert [(a.status_code, error(a)["code"]) for a in answers] == [(403, "forbidden")] * 3, role
    # and the record is unchanged, the only one
    assert RecordStore(aws).get(record["id"])["version"] == 1  # type: ignore[index]
    assert figures(aws, "year:2026") == {"JJDD": {"lawsuits_lost": 1, "wrong_decision_accountability": 0}}


# One wrong field each: (kind, change, the field named, words of its Chinese message).
WRONG_RECORDS = [
    ("lawsuits", {"summary": None}, "summary", "缺少必填项"),
    ("lawsuits", {"summary": "   "}, "summary", "不能为空"),
    ("lawsuits", {"department": "XYZ"}, "department", "不认识的部门代码"),
    ("lawsuits", {"judgment_date": "2099-01-01"}, "judgment_date", "日期不能晚于今天"),
    ("lawsuits", {"judgment_date": "六月三十日"}, "judgment_date", "应为日期"),
    ("lawsuits", {"case_number": "=HYPERLINK(1)"}, "case_number", "不能以 = + - @ 开头"),
    ("lawsuits", {"court": "靖宇县法院"}, "court", "不认识的字段"),
    ("lawsuits", {"tracking_no": "ZF000000000001"}, "tracking_no", "未找到该投诉编号"),
    ("accountability", {"persons": []}, "persons", "至少填写一项"),
    ("accountability", {"measure": None}, "measure", "缺少必填项"),
]


def test_a_wrong_record_is_refused_in_chinese_naming_the_field(http, aws: Settings) -> None:
    for kind, change, field, message in WRONG_RECORDS:
        # given a record with one wrong field
        base = LAWSUIT if kind == "lawsuits" else ACCOUNTABILITY
        body = {name: value for name, value in {**base, **change}.items() if value is not None}
        # when the county office submits it
        response = post(http, f"/records/{kind}", body, bearer(aws))
        # then it is refused with 422, the field named and a Chinese message
        assert response.status_code == 422, response.body
        fields = {item["field"]: item["message"] for item in error(response)["fields"]}
        assert field in fields and message in fields[field], fields
    # and a body that is not JSON is a 400
    broken = http.http.post("/records/lawsuits", headers=bearer(aws), body=b"{not json")
    assert broken.status_code == 400 and error(broken)["code"] == "invalid_json"
    # and nothing was stored
    assert figures(aws, "year:2026") == {}


def test_a_record_linked_to_a_complaint_is_kept(http, aws: Settings) -> None:
    # given a complaint
    answer = submit_complaint(aws, json.dumps({"description": "交警扣车不给手续"}).encode(), "application/json", None)
    number = answer.body["tracking_no"]
    # when a lawsuit arising from it is recorded / then the link is kept
    response = post(http, "/records/lawsuits", {**LAWSUIT, "tracking_no": number}, bearer(aws))
    assert response.status_code == 201 and json.loads(response.body)["record"]["tracking_no"] == number


def test_changes_need_the_version_read_and_every_change_is_audited(http, aws: Settings) -> None:
    # given a record
    record = json.loads(post(http, "/records/accountability", ACCOUNTABILITY, bearer(aws)).body)["record"]
    path = f"/records/accountability/{record['id']}"
    # when it is changed with the version read, then again with that (now stale) version
    changed = http.http.put(
        path, headers=bearer(aws), body=json.dumps({**ACCOUNTABILITY, "measure": "通报批评", "version": 1}).encode()
    )
    stale = http.http.put(path, headers=bearer(aws), body=json.dumps({**ACCOUNTABILITY, "version": 1}).encode())
    # then the first is stored as version 2 and the second refused
    assert changed.status_code == 200, changed.body
    assert json.loads(changed.body)["record"]["measure"] == "通报批评"
    assert json.loads(changed.body)["record"]["created_at"] == record["created_at"]
    assert stale.status_code == 409 and error(stale)["code"] == "version_conflict"
    # when it is deleted / then it is gone from the list, and a second delete finds nothing
    assert http.http.delete(path, headers=bearer(aws)).status_code == 204
    listed = json.loads(http.http.get("/records/accountability", headers=bearer(aws)).body)["items"]
    assert listed == []
    assert http.http.delete(path, headers=bearer(aws)).status_code == 404
    # and the audit keeps each change: who, what, and the record as it was
    events = RecordStore(aws).events(record["id"])
    assert [e["action"] for e in events] == ["create", "update", "delete"]
    assert all(e["actor_role"] == "county_admin" and e["actor_name"] == "法制办张三" for e in events)
    assert events[-1]["record"]["measure"] == "通报批评"
    # and a record of one kind is not reached under the other
    lawsuit = json.loads(post(http, "/records/lawsuits", LAWSUIT, bearer(aws)).body)["record"]
    assert http.http.delete(f"/records/accountability/{lawsuit['id']}", headers=bearer(aws)).status_code == 404
    assert http.http.get("/records/appeals", headers=bearer(aws)).status_code == 404


def test_records_count_in_the_periods_their_date_falls_in(http, aws: Settings) -> None:
    # given two lawsuits of the traffic police (one in May, one in September) and an accountability record
    post(http, "/records/lawsuits", {**LAWSUIT, "judgment_date": "2026-05-20"}, bearer(aws))
    post(http, "/records/lawsuits", {**LAWSUIT, "judgment_date": "2026-09-20"}, bearer(aws))
    post(http, "/records/accountability", ACCOUNTABILITY, bearer(aws))
    # when the implementation phase (5/16-9/20) and the summary phase are read from the statistics counters
    _, _, implementation, summary = (period.key for period in periods.campaign_periods())
    # then each counts the records dated in it, the last day included
    assert figures(aws, implementation) == {
        "JJDD": {"lawsuits_lost": 2, "wrong_decision_accountability": 0},
        "SCJG": {"lawsuits_lost": 0, "wrong_decision_accountability": 1},
    }
    assert figures(aws, summary) == {}
    assert figures(aws, "month:2026-09") == {"JJDD": {"lawsuits_lost": 1, "wrong_decision_accountability": 0}}


def test_a_changed_record_counts_where_it_now_belongs_and_a_deleted_one_nowhere(http, aws: Settings) -> None:
    # given a lawsuit of the traffic police judged in June
    record = json.loads(post(http, "/records/lawsuits", LAWSUIT, bearer(aws)).body)["record"]
    path = f"/records/lawsuits/{record['id']}"
    # when it is corrected to the market regulator, judged in September
    corrected = {**LAWSUIT, "department": "SCJG", "judgment_date": "2026-09-01", "version": 1}
    assert http.http.put(path, headers=bearer(aws), body=json.dumps(corrected).encode()).status_code == 200
    # then June counts nothing and September counts it on the regulator's row; the year counts it once
    lawsuit = {"lawsuits_lost": 1, "wrong_decision_accountability": 0}
    assert figures(aws, "month:2026-06") == {}
    assert figures(aws, "month:2026-09") == {"SCJG": lawsuit} == figures(aws, "year:2026")
    # when it is deleted / then it counts nowhere
    assert http.http.delete(path, headers=bearer(aws)).status_code == 204
    assert figures(aws, "year:2026") == {} and figures(aws, "month:2026-09") == {}


def test_rebuild_stats_recounts_the_records_too(http, aws: Settings, capsys) -> None:
    # given a lawsuit and an accountability record whose counters were lost (as on a stage upgraded from the
    # version that read the records apart)
    post(http, "/records/lawsuits", LAWSUIT, bearer(aws))
    post(http, "/records/accountability", ACCOUNTABILITY, bearer(aws))
    year = stats.department_rows(aws, "year:2026")
    for row in year:
        if row.department in ("JJDD", "SCJG"):
            StatsStore(aws).put_row("year:2026", row.department, {})
    assert figures(aws, "year:2026") == {}
    # when `hotspot rebuild-stats --check` runs, then without --check
    assert cli.main(["rebuild-stats", "--check", "--aws"]) == 1
    assert "STATS#year:2026 DEPT#JJDD: lawsuits_lost live 0 rebuilt 1" in capsys.readouterr().out
    assert cli.main(["rebuild-stats", "--aws"]) == 0
    # then the year counts both again, and a second check finds nothing to repair
    assert figures(aws, "year:2026") == {
        "JJDD": {"lawsuits_lost": 1, "wrong_decision_accountability": 0},
        "SCJG": {"lawsuits_lost": 0, "wrong_decision_accountability": 1},
    }
    assert cli.main(["rebuild-stats", "--check", "--aws"]) == 0


# --- what a report reads ------------------------------------------------------------------------------------------

SUBMISSION = {
    "upload_id": "u1",
    "department": "JJDD",
    "material": "summary",
    "key": "materials/2026/JJDD/summary/u1-总结.pdf",
    "submitted_at": "2026-09-18T00:00:00+00:00",
    "on_time": True,
}


def a_survey(settings: Settings) -> str:
    body = json.dumps({"title": "企业座谈会", "links": 2, "departments": ["JJDD"]}, ensure_ascii=False).encode()
    return str(surveys.create(settings, principal("county_admin"), body, now=BEFORE_DUE)["id"])


def test_a_county_report_reads_what_it_needs_in_few_requests(http, aws: Settings) -> None:
    # given a lost lawsuit, a material submission and a survey of the campaign
    post(http, "/records/lawsuits", LAWSUIT, bearer(aws))
    RecordStore(aws).add_submission(periods.campaign_id(), SUBMISSION)
    a_survey(aws)
    # when the county document of the whole campaign is built
    campaign = periods.campaign_periods()[0]
    with requests_made("dynamodb") as made:
        document = reports.build_document(aws, campaign, COUNTY_SCOPE, AFTER_DUE, "t")
    # then it took six Queries: the counters (the records' figures with them), the hotspots, the typical cases,
    # the campaign partition (materials and surveys together), the weekly trend, and the one survey's partition
    assert [operation for operation, _ in made] == ["dynamodb.Query"] * 6
    # and each of them shows
    police = next(row for row in document.rows if row.department == "JJDD")
    assert police.lawsuits_lost == 1
    scored = next(score for score in document.assessment if score.department == "JJDD")
    assert any(item.numbers.get("on_time") == 1 for item in scored.items)
    assert document.surveys.surveys == 1


def test_materials_and_surveys_stored_apart_are_found_again_once_moved(aws: Settings, capsys) -> None:
    # given a submission and a survey listed in the partitions of the previous version
    campaign = periods.campaign_id()
    RecordStore(aws).add_submission(campaign, SUBMISSION)
    survey_id = a_survey(aws)
    for item in CampaignStore(aws).items(campaign):
        kind, _, rest = str(item["sk"]).partition("#")
        earlier = {**item, "pk": f"{kind}S#{campaign}", "sk": rest}
        client("dynamodb").put_item(TableName=aws.cases_table, Item=to_item(earlier))
        client("dynamodb").delete_item(TableName=aws.cases_table, Key=to_item({"pk": item["pk"], "sk": item["sk"]}))
    assert RecordStore(aws).submissions(campaign) == [] and SurveyStore(aws).ids(campaign) == []
    # when they are moved, twice (from the command line)
    assert cli.main(["move-campaign-items", "--aws"]) == 0
    assert cli.main(["move-campaign-items", "--aws"]) == 0
    # then the first moved both and the second found nothing to move
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[-2:]] == ["2", "0"]
    # and the materials and the surveys find them again
    assert [item["upload_id"] for item in RecordStore(aws).submissions(campaign)] == ["u1"]
    assert SurveyStore(aws).ids(campaign) == [survey_id]
    assert materials.materials_status(aws, AFTER_DUE.date())["JJDD"].on_time == 1


# --- materials ---------------------------------------------------------------------------------------------------


def upload(http, settings: Settings, department: str, content: bytes = PDF, material: str = "summary") -> str:
    """Ask for a slot as an officer of `department`, then post the file to (moto's) S3 as a browser does."""
    headers = bearer(settings, "dept_officer", department)
    slot = post(
        http,
        f"/materials/{material}/uploads",
        {"filename": "活动总结.pdf", "content_type": "application/pdf", "size": len(content)},
        headers,
    )
    assert slot.status_code == 201, slot.body
    answer = json.loads(slot.body)
    posted = requests.post(answer["url"], data=answer["fields"], files={"file": ("a.pdf", content)}, timeout=10)
    assert posted.status_code == 204
    return str(answer["key"])


def test_a_department_uploads_its_summary_and_confirms_it_on_time(http, aws: Settings) -> None:
    # given an upload slot for the traffic police's summary, the file posted to it
    key = upload(http, aws, "JJDD")
    assert key.startswith(f"materials/{periods.campaign_id()}/JJDD/summary/") and key.endswith(".pdf")
    # when it is confirmed at 23:30 county time on the due day
    status, answer = materials.confirm_submission(
        aws, principal("dept_officer", "JJDD"), "summary", json.dumps({"key": key}).encode(), ON_DUE_DAY_LATE_EVENING
    )
    # then the submission is recorded on time with the object's size and checksum
    submission = answer["submission"]
    assert status == 201
    assert submission["on_time"] is True and submission["size"] == len(PDF)
    assert submission["etag"] == client("s3").head_object(Bucket=aws.reports_bucket, Key=key)["ETag"].strip('"')
    # and confirming it again changes nothing
    again = materials.confirm_submission(
        aws, principal("dept_head", "JJDD"), "summary", json.dumps({"key": key}).encode(), AFTER_DUE
    )
    assert again == (200, {"submission": submission})


def test_a_submission_after_the_due_day_is_late_and_the_late_list_shows_it(http, aws: Settings) -> None:
    # given the traffic police's summary confirmed through the API today (after the due date 9/20)
    key = upload(http, aws, "JJDD")
    confirmed = post(http, "/materials/summary/submissions", {"key": key}, bearer(aws, "dept_officer", "JJDD"))
    assert confirmed.status_code == 201, confirmed.body
    assert json.loads(confirmed.body)["submission"]["on_time"] is False
    # when the county office looks at the materials
    overview = json.loads(http.http.get("/materials", headers=bearer(aws)).body)
    late = {(entry["department"], entry["material"]): entry["state"] for entry in overview["late"]}
    # then the summary of the traffic police is late, its plan missing, and every other department's missing
    assert late[("JJDD", "summary")] == "late" and late[("JJDD", "plan")] == "missing"
    assert late[("GAJ", "summary")] == "missing" and ("FZB", "summary") not in late
    assert len(late) == len(materials.submitting_departments()) * len(materials.materials())
    # and the file comes with a download link
    [listed] = overview["submissions"]
    assert listed["key"] == key and "Signature" in listed["url"]
    # when the traffic police look / then they see their own states and file, and no late list
    own = json.loads(http.http.get("/materials", headers=bearer(aws, "dept_head", "JJDD")).body)
    assert {state["department"] for state in own["states"]} == {"JJDD"} and len(own["submissions"]) == 1
    assert "late" not in own
    # and market supervision sees none of the traffic police's files
    other = json.loads(http.http.get("/materials", headers=bearer(aws, "dept_head", "SCJG")).body)
    assert other["submissions"] == [] and {state["department"] for state in other["states"]} == {"SCJG"}
    # and the assessment gets the same picture: one late of four due
    status = materials.materials_status(aws, date(2026, 11, 27))["JJDD"]
    assert (status.on_time, status.late, status.missing, status.pending) == (0, 1, 3, 0)


def test_materials_are_refused_to_the_wrong_callers_and_files(http, aws: Settings) -> None:
    # given a file the traffic police uploaded
    key = upload(http, aws, "JJDD")
    slot_body = {"filename": "a.pdf", "content_type": "application/pdf", "size": 10}
    # when others ask for slots or confirm it
    answers = {
        "county office slot": post(http, "/materials/summary/uploads", slot_body, bearer(aws)),
        "auditor slot": post(http, "/materials/summary/uploads", slot_body, bearer(aws, "auditor")),
        "media list": http.http.get("/materials", headers=bearer(aws, "media")),
        "other department confirms": post(
            http, "/materials/summary/submissions", {"key": key}, bearer(aws, "dept_officer", "SCJG")
        ),
        "wrong material": post(http, "/materials/plan/submissions", {"key": key}, bearer(aws, "dept_officer", "JJDD")),
        "never uploaded": post(
            http,
            "/materials/summary/submissions",
            {"key": key.replace(key.rsplit("/", 1)[1][:32], "0" * 32)},
            bearer(aws, "dept_officer", "JJDD"),
        ),
        "unknown material": post(http, "/materials/poems/uploads", slot_body, bearer(aws, "dept_officer", "JJDD")),
        "wrong type": post(
            http,
            "/materials/statistics/uploads",
            {**slot_body, "content_type": "text/html"},
            bearer(aws, "dept_officer", "JJDD"),
        ),
        "too large": post(
            http,
            "/materials/summary/uploads",
            {**slot_body, "size": 21 * 1024 * 1024},
            bearer(aws, "dept_officer", "JJDD"),
        ),
    }
    # then each gets the refusal it should, with a machine code
    codes = {name: (answer.status_code, error(answer)["code"]) for name, answer in answers.items()}
    assert codes == {
        "county office slot": (403, "forbidden"),
        "auditor slot": (403, "forbidden"),
        "media list": (403, "forbidden"),
        "other department confirms": (422, "invalid_upload_key"),
        "wrong material": (422, "invalid_upload_key"),
        "never uploaded": (422, "upload_missing"),
        "unknown material": (404, "not_found"),
        "wrong type": (422, "unsupported_upload_type"),
        "too large": (422, "upload_too_large"),
    }
    assert "XLSX" in error(answers["wrong type"])["message"]
    # and nothing was recorded
    assert RecordStore(aws).submissions(periods.campaign_id()) == []


# --- reminders ---------------------------------------------------------------------------------------------------


def queued(settings: Settings) -> list[dict]:
    return [
        json.loads(message["Body"]) for message in receive_all(queues.queue_url(settings.notify_queue), client("sqs"))
    ]


def test_departments_missing_a_material_are_reminded_once_a_day(http, aws: Settings, monkeypatch) -> None:
    # given one material asked for (the summary): the traffic police submitted it, nobody else did
    summary = materials.material("summary")
    monkeypatch.setattr(materials, "materials", lambda: (summary,))
    key = upload(http, aws, "JJDD")
    materials.confirm_submission(
        aws, principal("dept_officer", "JJDD"), "summary", json.dumps({"key": key}).encode(), BEFORE_DUE
    )
    # when the daily run happens two days before the due date, twice
    first = materials.remind_materials(aws, BEFORE_DUE)
    second = materials.remind_materials(aws, BEFORE_DUE.replace(hour=1))
    messages = queued(aws)
    # then every department is reminded of each material it has not submitted, once: not twice the same day
    expected = len(materials.submitting_departments()) * len(materials.materials()) - 1
    assert len(first) == expected and second == []
    assert len(messages) == expected  # notifications.json: one duty mobile per legal office in the sample
    assert ("JJDD", "summary") not in {(r.department, r.material) for r in first}
    # and each is an SMS notice of the due-soon kind, with the department, the material and the due date
    notice = next(m["data"] for m in messages if m["data"]["values"]["department"] == "县公安局")
    assert notice["kind"] == "material_due_soon" and notice["phone"].startswith("+86")
    assert notice["values"]["due"] == "9月20日" and notice["values"]["material"] in {
        m.name for m in materials.materials()
    }
    # and the notification consumer sends it as the text of sms_templates.json, once however often it arrives
    texts: list[str] = []

    class Recorder:
        def send(self, phone: str, message: sms_text.Sms) -> str:
            texts.append(sms_text.render(message))
            return "provider-id"

    envelope = Envelope.model_validate(next(m for m in messages if m["data"] is notice))
    assert notifications.send_notification(aws, envelope, Recorder()) == 1
    assert notifications.send_notification(aws, envelope, Recorder()) == 0
    assert texts == ["【靖宇县法制办】县公安局：请于9月20日前向县政府法制办报送总结及经验材料。"]
    # when the run happens the day after the due date / then the reminders come again, now as overdue
    overdue = materials.remind_materials(aws, AFTER_DUE)
    assert len(overdue) == expected and {r.kind for r in overdue} == {"material_overdue"}
    queued(aws)
    # and before the window opens and after the campaign ends nothing is sent
    assert materials.remind_materials(aws, datetime(2026, 9, 16, 0, 0, tzinfo=UTC)) == []
    assert materials.remind_materials(aws, datetime(2026, 10, 21, 0, 0, tzinfo=UTC)) == []


def test_the_reminder_runs_as_a_scheduled_function_of_the_reporting_app(http, aws: Settings) -> None:
    # given the reporting app's schedules / then the reminder is one of them, daily at 08:00 county time
    app = load_service("reporting").app
    schedules = {
        source.name: source.schedule_expression
        for source in app.event_sources
        if hasattr(source, "schedule_expression")
    }
    assert schedules["remind_materials"].to_string() == "cron(0 0 * * ? *)"
    # when it fires today (after the campaign) / then it runs and sends nothing
    answer = http.lambda_.invoke("remind_materials", scheduled_event())
    assert answer.payload == {"sent": []}
    assert queued(aws) == []
