"""The reporting service against moto: statistics on demand and on schedule, listed with links."""

import csv
import io
import json
from urllib.parse import urlparse

import pytest
from chalice.test import Client

from shared import objects
from shared.intake import submit_complaint
from shared.settings import Settings
from tests.support import load_service, scheduled_event


@pytest.fixture
def reporting(aws: Settings):
    with Client(load_service("reporting").app) as test_client:
        yield test_client


def complain(settings: Settings, text: str) -> None:
    answer = submit_complaint(settings, json.dumps({"description": text}).encode(), "application/json", None)
    assert answer.status == 201


def test_a_report_on_demand_counts_cases_and_opens_in_excel(reporting, aws: Settings) -> None:
    # given two complaints received but not yet routed
    complain(aws, "城管没收我的三轮车")
    complain(aws, "税务所乱收费")
    # when the county office asks for a report
    response = reporting.http.post("/", body=b"")
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
    made = json.loads(reporting.http.post("/", body=b"").body)
    # when they are listed
    listed = json.loads(reporting.http.get("/").body)["reports"]
    # then both appear, each file with a presigned URL for its key
    assert len(listed) == 2
    assert made["report_id"] in [r["report_id"] for r in listed]
    for item in listed[0]["files"]:
        url = urlparse(item["url"])
        assert url.path.endswith(item["key"])
        assert "Signature" in url.query
