"""The reporting service against moto: reports made from the counters, on demand and on schedule, stored with
a manifest under reports/<campaign>/<period>/<scope>/, and listed per scope with 15-minute links."""

import hashlib
import io
import json
import time
from datetime import datetime
from urllib.parse import parse_qs, urlparse

import openpyxl
import pytest
from chalice.test import Client

from infra import cli
from shared.core import auth, objects
from shared.core.settings import Settings
from shared.reporting import reports
from tests.support import load_service, scheduled_event
from tests.support_cases import RECEIVED, act, complaint, deliver_events

PHASE = "phase:2026:2"


@pytest.fixture
def reporting_app(aws: Settings):
    with Client(load_service("reporting").app) as test_client:
        yield test_client


def bearer(settings: Settings, role: auth.Role = auth.Role.county_admin, department: str | None = None) -> dict:
    return {"Authorization": f"Bearer {auth.issue_development_token(settings, role, department)}"}


def link_lifetime(query: dict[str, list[str]]) -> float:
    """Seconds a presigned link lives: SigV4 says so, SigV2 (us-east-1 S3) gives the moment it expires."""
    if "X-Amz-Expires" in query:
        return float(query["X-Amz-Expires"][0])
    return float(query["Expires"][0]) - time.time()


@pytest.fixture
def worked_cases(aws: Settings, reporting_app) -> list[str]:
    """Three complaints in the implementation phase: two about the traffic police, one closed on time."""
    numbers = [complaint(aws, 0), complaint(aws, 0), complaint(aws, 2)]
    act(aws, numbers[0], "accept", RECEIVED.replace(day=21))
    act(aws, numbers[0], "start_investigation", RECEIVED.replace(day=22))
    act(
        aws,
        numbers[0],
        "decide",
        RECEIVED.replace(day=25),
        finding="substantiated",
        measures=["correct"],
        summary="属实，已纠正",
    )
    act(aws, numbers[0], "reply", RECEIVED.replace(day=26), message="经查属实，已退还罚款并责令整改。")
    act(aws, numbers[0], "start_rectification", RECEIVED.replace(day=27))
    act(aws, numbers[0], "verify_rectification", RECEIVED.replace(day=28))
    act(aws, numbers[1], "not_accept", RECEIVED.replace(day=21), reason="已经由法院受理")
    deliver_events(aws, reporting_app.lambda_)
    return numbers


def test_a_report_on_demand_is_stored_in_every_format_with_its_manifest(reporting_app, aws, worked_cases) -> None:
    # when the county legal office asks for the implementation phase's county report
    response = reporting_app.http.post("/", body=json.dumps({"period": PHASE}).encode(), headers=bearer(aws))
    # then the table (XLSX, CSV, JSON) and the summary (PDF) are stored under the campaign, period and scope
    assert response.status_code == 201, response.body
    report = json.loads(response.body)
    assert (report["campaign"], report["period"], report["scope"]) == ("2026", PHASE, "county")
    prefix = "reports/2026/phase-2026-2/county/"
    assert sorted(f["key"] for f in report["files"]) == [
        prefix + name for name in ("statistics.csv", "statistics.json", "statistics.xlsx", "summary.pdf")
    ]
    # and each file's checksum in the manifest is the stored file's
    manifest = json.loads(objects.get(aws.reports_bucket, prefix + "manifest.json"))
    for item in manifest["files"]:
        assert hashlib.sha256(objects.get(aws.reports_bucket, item["key"])).hexdigest() == item["sha256"]
    assert manifest["source_counts"]["cases"] == 3
    # and the figures are what happened: the traffic police received two, closed one on time, refused one
    document = json.loads(objects.get(aws.reports_bucket, prefix + "statistics.json"))
    police = next(row for row in document["rows"] if row["department"] == "JJDD")
    assert (police["received"], police["closed"], police["closed_on_time"], police["not_accepted"]) == (2, 1, 1, 1)
    assert (police["substantiated"], police["corrected"]) == (1, 1)
    assert document["totals"]["received"] == 3
    # and the workbook opens with the statistics sheet first and the PDF is a PDF
    book = openpyxl.load_workbook(io.BytesIO(objects.get(aws.reports_bucket, prefix + "statistics.xlsx")))
    assert book.sheetnames[0] == "开展情况统计表"
    assert objects.get(aws.reports_bucket, prefix + "summary.pdf").startswith(b"%PDF")


def test_a_department_makes_and_lists_only_its_own_reports(reporting_app, aws, worked_cases) -> None:
    # given the county's report and the traffic police's own
    county = {"period": PHASE, "formats": ["json"]}
    assert reporting_app.http.post("/", body=json.dumps(county).encode(), headers=bearer(aws)).status_code == 201
    officer = bearer(aws, auth.Role.dept_officer, "JJDD")
    own = reporting_app.http.post(
        "/", body=json.dumps({"period": PHASE, "formats": ["json"]}).encode(), headers=officer
    )
    assert own.status_code == 201 and json.loads(own.body)["scope"] == "JJDD"
    # when the officer asks for another scope, or lists
    other = {"period": PHASE, "scope": "county"}
    refused = reporting_app.http.post("/", body=json.dumps(other).encode(), headers=officer)
    listed = json.loads(reporting_app.http.get("/", headers=officer).body)["reports"]
    # then another scope is refused and the list holds only the department's report, with 15-minute links
    assert refused.status_code == 403 and json.loads(refused.body)["error"]["code"] == "forbidden_scope"
    assert [report["scope"] for report in listed] == ["JJDD"]
    link = urlparse(listed[0]["files"][0]["url"])
    assert link.path.endswith(listed[0]["files"][0]["key"])
    assert link_lifetime(parse_qs(link.query)) == pytest.approx(900, abs=5)
    # and the county legal office sees both
    assert {r["scope"] for r in json.loads(reporting_app.http.get("/", headers=bearer(aws)).body)["reports"]} == {
        "county",
        "JJDD",
    }


def test_an_auditors_report_never_replaces_the_official_files(reporting_app, aws, worked_cases) -> None:
    # given the official county report of the phase
    body = json.dumps({"period": PHASE, "formats": ["json"]}).encode()
    assert reporting_app.http.post("/", body=body, headers=bearer(aws)).status_code == 201
    official = objects.get(aws.reports_bucket, "reports/2026/phase-2026-2/county/manifest.json")
    # when an auditor asks for the same report
    made = reporting_app.http.post("/", body=body, headers=bearer(aws, auth.Role.auditor))
    # then it is made in a folder of its own run, and the official manifest is the one from before
    assert made.status_code == 201
    assert all("/county/requested/" in item["key"] for item in json.loads(made.body)["files"])
    assert objects.get(aws.reports_bucket, "reports/2026/phase-2026-2/county/manifest.json") == official


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "invalid_json"),
        (json.dumps({"period": "week:2026-W99"}).encode(), "unknown_period"),
        (json.dumps({"period": "campaign:2026", "scope": "NOPE"}).encode(), "unknown_scope"),
        (json.dumps({"formats": ["docx"]}).encode(), "validation_failed"),
    ],
)
def test_a_bad_report_request_is_refused_with_a_reason(reporting_app, aws, body: bytes, code: str) -> None:
    response = reporting_app.http.post("/", body=body, headers=bearer(aws))
    assert response.status_code in (400, 422)
    assert json.loads(response.body)["error"]["code"] == code


def test_monday_makes_last_weeks_tables_for_the_county_and_each_department(aws, worked_cases, monkeypatch) -> None:
    # given two scopes only, to keep the test short
    monkeypatch.setattr(reports, "scopes", lambda: ["county", "JJDD"])
    # when the weekly schedule fires on Monday 25 May 08:00 county time
    made = reports.weekly_reports(aws, now=datetime.fromisoformat("2026-05-25T00:00:00+00:00"))
    # then week 21's tables exist for both scopes, without the PDF summary
    assert [(r.period, r.scope) for r in made] == [("week:2026-W21", "county"), ("week:2026-W21", "JJDD")]
    assert {f.name for f in made[0].files} == {"statistics.xlsx", "statistics.csv", "statistics.json"}
    county = json.loads(objects.get(aws.reports_bucket, "reports/2026/week-2026-W21/county/statistics.json"))
    assert county["totals"]["received"] == 3


def test_the_day_after_a_phase_ends_its_summary_is_made(reporting_app, aws, monkeypatch) -> None:
    monkeypatch.setattr(reports, "scopes", lambda: ["county"])
    # when the phase-end schedule runs on 16 May (phase 1 ended on 15 May) and on an ordinary day
    made = reports.phase_end_reports(aws, now=datetime.fromisoformat("2026-05-15T16:30:00+00:00"))
    none = reports.phase_end_reports(aws, now=datetime.fromisoformat("2026-06-02T16:30:00+00:00"))
    # then only the phase's reports are made, summary included
    assert [(r.period, r.scope) for r in made] == [("phase:2026:1", "county")] and none == []
    assert "summary.pdf" in {f.name for f in made[0].files}
    # and the schedule handler is wired to the same function
    assert reporting_app.lambda_.invoke("generate_phase_reports", scheduled_event()).payload == {"reports": []}


def test_the_command_line_makes_reports_of_a_period(aws, worked_cases, capsys) -> None:
    # when the office makes the traffic police's phase report from the command line, and asks for nonsense
    made = cli.main(["report", "--period", PHASE, "--scope", "JJDD", "--formats", "json,csv", "--aws"])
    printed = capsys.readouterr().out.split()
    refused = cli.main(["report", "--period", "phase:2026:9", "--aws"])
    # then the files are stored and named, and the bad period is refused without writing anything
    assert made == 0 and refused == 2
    assert printed == [
        "reports/2026/phase-2026-2/JJDD/statistics.json",
        "reports/2026/phase-2026-2/JJDD/statistics.csv",
    ]
    document = json.loads(objects.get(aws.reports_bucket, printed[0]))
    assert document["totals"]["received"] == 2
