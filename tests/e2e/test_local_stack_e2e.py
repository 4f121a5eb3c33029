"""End to end against `hotspot run`: complaints in through the gateway, routed by the queue consumer,
a report generated and downloaded, the schedules fired at start-up, and a clean stop on Ctrl-C."""

import base64
import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from shared.routing import staff
from tests.support import Stack, read_jsonl, running_stack, staff_token

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
    # when the county office requests a report and an auditor lists the reports (tokens from `hotspot token`)
    county_admin = {"Authorization": f"Bearer {staff_token(stack, 'county_admin')}"}
    auditor = {"Authorization": f"Bearer {staff_token(stack, 'auditor')}"}
    created = requests.post(f"{stack.url}/reports", headers=county_admin, timeout=10)
    listed = requests.get(f"{stack.url}/reports", headers=auditor, timeout=10)
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


def test_hotspot_token_prints_a_token_the_stack_accepts(stack: Stack) -> None:
    # given a development token for an officer of the public security bureau, printed by `hotspot token`
    token = staff_token(stack, "dept_officer", "GAJ")
    # when the stack is asked who that is
    me = requests.get(f"{stack.url}/cases/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    # then it is that officer, verified with the key the stack generated at start-up and publishes
    assert me.status_code == 200, me.text
    assert (me.json()["role"], me.json()["department"]) == ("dept_officer", "GAJ")
    keys = requests.get(f"{stack.url}/cases/auth/jwks.json", timeout=5).json()["keys"]
    assert keys and all(key["alg"] == "ES256" and "d" not in key for key in keys)
    # and the officer may not make the county's statistics, while no token at all is a 401
    county = requests.post(
        f"{stack.url}/reports", json={"scope": "county"}, headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert county.status_code == 403 and county.json()["error"]["code"] == "forbidden_scope"
    assert requests.get(f"{stack.url}/reports", timeout=5).status_code == 401


def test_staff_added_with_the_cli_log_in_with_password_and_totp(stack: Stack) -> None:
    # given an account made with `hotspot staff add --local` (the password from stdin)
    moto_port = stack.moto_url.rsplit(":", 1)[1]
    command = ["staff", "add", "li.ming", "--role", "auditor", "--name", "李明", "--local", "--moto-port", moto_port]
    added = subprocess.run(
        [sys.executable, "-m", "infra.cli", *command],
        input="a-long-enough-password\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    secret = parse_qs(urlsplit(added.stdout.strip()).query)["secret"][0]
    # when they log in through the gateway with the code of their authenticator app
    totp = staff.hotp(base64.b32decode(secret), staff.totp_step(datetime.now(UTC)))
    body = {"username": "li.ming", "password": "a-long-enough-password", "totp": totp}
    answer = requests.post(f"{stack.url}/cases/auth/login", json=body, timeout=10)
    # then the token they get lists the reports
    assert answer.status_code == 200, answer.text
    headers = {"Authorization": f"Bearer {answer.json()['token']}"}
    assert requests.get(f"{stack.url}/reports", headers=headers, timeout=10).status_code == 200


def test_schedules_fired_at_start_up(stack: Stack) -> None:
    # given a stack started with --fire-schedules-now
    # when its log is read
    schedule_lines = [line for line in stack.log().splitlines() if "schedule " in line]
    # then the routing reminders and the reporting schedule each fired successfully
    assert any("schedule routing.remind_deadlines: ok" in line for line in schedule_lines), schedule_lines
    assert any("schedule reporting." in line and ": ok" in line for line in schedule_lines), schedule_lines


def test_the_product_logs_each_line_once_as_json(
    stack: Stack, routed: list[tuple[dict[str, Any], dict[str, Any]]]
) -> None:
    # given the sample complaints received and routed
    # when the stack's log is read for their receipts
    lines = [line for line in stack.log().splitlines() if "complaint received" in line]
    # then each was logged once, as the JSON line Lambda would send to CloudWatch
    received = [json.loads(line)["tracking_no"] for line in lines]
    assert sorted(received) == sorted(answer["tracking_no"] for _, answer in routed)


def test_the_stack_stops_on_ctrl_c(stack: Stack) -> None:
    # given the running stack
    # when it gets SIGINT
    stack.process.send_signal(signal.SIGINT)
    # then it exits cleanly within ten seconds
    assert stack.process.wait(timeout=10) == 0
