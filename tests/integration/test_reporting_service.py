"""The reporting service against moto: statistics on demand and on schedule, listed with links."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import pytest
from chalice.test import Client

from shared import auth, objects
from shared.intake import submit_complaint
from shared.settings import Settings
from tests.support import load_service, scheduled_event


@pytest.fixture
def reporting(aws: Settings):
    with Client(load_service("reporting").app) as test_client:
        yield test_client


def bearer(settings: Settings, role: auth.Role = auth.Role.county_admin, department: str | None = None) -> dict:
    return {"Authorization": f"Bearer {auth.issue_development_token(settings, role, department)}"}


def complain(settings: Settings, text: str) -> None:
    answer = submit_complaint(settings, json.dumps({"description": text}).encode(), "application/json", None)
    assert answer.status == 201


def test_a_report_on_demand_counts_cases_and_opens_in_excel(reporting, aws: Settings) -> None:
    # given two complaints received but not yet routed
    complain(aws, "城管没收我的三轮车")
    complain(aws, "税务所乱收费")
    # when the county office asks for a report
    response = reporting.http.post("/", body=b"", headers=bearer(aws))
    # then a CSV and a JSON are written under reports/ with download links
    assert response.status_code == 201
    report = json.loads(response.body)
    assert sorted(f["name"] for f in report["files"]) == ["statistics.csv", "statistics.json"]
    assert all(f["key"].startswith(f"reports/{report['report_id']}/") and f["url"] for f in report["files"])
    document = json.loads(objects.get(aws.reports_bucket, f"reports/{report['report_id']}/statistics.json"))
    assert document["total"] == 2
    assert document["by_status"] == {"received": 2} and document["by_channel"] == {"web": 2}
    # and the CSV starts with a byte order mark and reads as a Chinese table
    raw = objects.get(aws.reports_bucket, f"reports/{report['report_id']}/statistics.csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][0].endswith("投诉统计")
    total_row = next(row for row in rows if row and row[0] == "合计")
    assert total_row[-1] == "2"
    assert ["网上投诉", "2"] in rows


def test_reports_are_listed_newest_first_with_presigned_links(reporting, aws: Settings) -> None:
    # given two reports, one made by the schedule
    reporting.lambda_.invoke("generate_daily_report", scheduled_event())
    made = json.loads(reporting.http.post("/", body=b"", headers=bearer(aws)).body)
    # when they are listed (by an auditor)
    listed = json.loads(reporting.http.get("/", headers=bearer(aws, auth.Role.auditor)).body)["reports"]
    # then both appear, each file with a presigned URL for its key
    assert len(listed) == 2
    assert made["report_id"] in [r["report_id"] for r in listed]
    for item in listed[0]["files"]:
        url = urlparse(item["url"])
        assert url.path.endswith(item["key"])
        assert "Signature" in url.query


# The role x route matrix of the reporting routes: county statistics for the county office and auditors.
CALLERS = {
    "county_admin": (auth.Role.county_admin, None, True),
    "auditor": (auth.Role.auditor, None, True),
    "dept_head": (auth.Role.dept_head, "GAJ", False),
    "dept_officer": (auth.Role.dept_officer, "SCJG", False),
    "media": (auth.Role.media, None, False),
}


@pytest.mark.parametrize("caller", [*CALLERS, "missing", "expired", "forged", "other issuer"])
def test_reporting_routes_by_caller(reporting, aws: Settings, caller: str) -> None:
    # given a caller with a token of each role, or a bad token, or none
    if caller in CALLERS:
        role, department, allowed = CALLERS[caller]
        headers, expected = bearer(aws, role, department), (201, 200) if allowed else (403, 403)
    else:
        stale = datetime.now(UTC) - timedelta(days=1)
        token = {
            "missing": "",
            "expired": auth.issue_development_token(aws, auth.Role.county_admin, now=stale),
            "forged": auth.issue_development_token(aws, auth.Role.county_admin)[:-4] + "AAAA",
            "other issuer": auth.issue_development_token(
                aws.model_copy(update={"auth_issuer": "x"}), auth.Role.county_admin
            ),
        }[caller]
        headers, expected = ({"Authorization": f"Bearer {token}"} if token else {}), (401, 401)
    # when it asks for a report and for the list
    created = reporting.http.post("/", body=b"", headers=headers)
    listed = reporting.http.get("/", headers=headers)
    # then each gets exactly what its role allows, and a refusal says why in our error shape
    assert (created.status_code, listed.status_code) == expected
    if expected[0] >= 400:
        assert json.loads(created.body)["error"]["code"] in (
            "forbidden",
            "unauthenticated",
            "token_invalid",
            "token_expired",
        )
        assert objects.list_under(aws.reports_bucket, "reports/") == []
