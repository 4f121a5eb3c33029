"""End to end against `hotspot run`: complaints in through the gateway, routed by the queue consumer,
a report generated and downloaded, the schedules fired at start-up, and a clean stop on Ctrl-C."""

import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.support import Stack, read_jsonl, running_stack

SAMPLES = read_jsonl("sample_complaints.jsonl")
UTF8_BOM = b"\xef\xbb\xbf"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack") / "hotspot-run.log", "--fire-schedules-now") as running:
        yield running


@pytest.fixture(scope="module")
def routed(stack: Stack) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each sample complaint submitted and polled until routed: (sample, final status)."""
    session = requests.Session()
    submitted = []
    for sample in SAMPLES:
        response = session.post(
            f"{stack.url}/intake/complaints",
            json={"description": sample["text"]},
            headers={"Idempotency-Key": str(uuid.uuid4())},
            timeout=5,
        )
        assert response.status_code == 201, response.text
        answer = response.json()
        assert answer["tracking_no"] and answer["verification_code"]
        submitted.append((sample, answer))
    results = []
    deadline = time.monotonic() + 30
    for sample, answer in submitted:
        while True:
            status = session.get(
                f"{stack.url}/intake/complaints/{answer['tracking_no']}",
                params={"code": answer["verification_code"]},
                timeout=5,
            )
            assert status.status_code == 200, status.text
            if status.json()["status"] == "routed":
                break
            assert time.monotonic() < deadline, f"not routed within 30 s: {status.json()}"
            time.sleep(0.2)
        results.append((sample, status.json()))
    return results


def test_the_gateway_lists_the_base_paths(stack: Stack) -> None:
    # given the running stack / when its root is asked
    landing = requests.get(f"{stack.url}/", timeout=5)
    # then it names the three APIs
    assert landing.json()["base_paths"] == ["/intake", "/cases", "/reports"]


def test_complaints_are_routed_to_the_expected_category_and_department(
    routed: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    # given the fourteen sample complaints submitted through the intake API and routed by the queue consumer
    # when their status is compared with the labels of the samples
    matches = [
        status["category"] is not None
        and status["department"] is not None
        and status["category"]["code"] == sample["category"]
        and status["department"]["code"] == sample["department"]
        for sample, status in routed
    ]
    # then (nearly) all of them went where a person would send them
    assert len(routed) == len(SAMPLES) == 14
    assert sum(matches) >= 12, [
        (sample["category"], sample["department"], status["category"], status["department"])
        for (sample, status), match in zip(routed, matches, strict=True)
        if not match
    ]


def test_a_report_is_generated_listed_and_downloadable(
    stack: Stack, routed: list[tuple[dict[str, Any], dict[str, Any]]]
) -> None:
    # given routed complaints
    department_name = next(status["department"]["name"] for _, status in routed if status["department"])
    # when a report is requested and the reports are listed
    created = requests.post(f"{stack.url}/reports", timeout=10)
    listed = requests.get(f"{stack.url}/reports", timeout=10)
    # then the new report is among them with its files
    assert created.status_code == 201, created.text
    report = created.json()
    assert report["files"] and all({"name", "key", "url"} <= set(file) for file in report["files"])
    assert listed.status_code == 200
    assert report["report_id"] in [listed_report["report_id"] for listed_report in listed.json()["reports"]]
    # and its CSV downloads through the presigned URL, as Excel-readable UTF-8 naming the departments
    csv_file = next(file for file in report["files"] if file["name"].endswith(".csv"))
    download = requests.get(csv_file["url"], timeout=10)
    assert download.status_code == 200
    assert download.content.startswith(UTF8_BOM)
    assert department_name in download.content.decode("utf-8-sig")


def test_schedules_fired_at_start_up(stack: Stack) -> None:
    # given a stack started with --fire-schedules-now
    # when its log is read
    schedule_lines = [line for line in stack.log().splitlines() if "schedule " in line]
    # then the routing reminders and the reporting schedule each fired successfully
    assert any("schedule routing.remind_deadlines: ok" in line for line in schedule_lines), schedule_lines
    assert any("schedule reporting." in line and ": ok" in line for line in schedule_lines), schedule_lines


def test_the_stack_stops_on_ctrl_c(stack: Stack) -> None:
    # given the running stack
    # when it gets SIGINT
    stack.process.send_signal(signal.SIGINT)
    # then it exits cleanly within ten seconds
    assert stack.process.wait(timeout=10) == 0
