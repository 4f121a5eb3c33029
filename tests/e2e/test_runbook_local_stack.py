"""The README runbook's repair commands, each run as an operator runs it (`python -m infra.cli …`) against a running
`hotspot run`: redrive, rebuild-stats --check then repair, key rotation, quarantine list and replay. (Rotating a
provider credential is exercised against the providers' stand-ins in tests/integration/routing/test_sms_senders.py,
point-in-time restore is an AWS CLI step on tables whose PITR the template tests assert, and the same commands with
`--stage` in tests/integration/test_cli_stage.py.)"""

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from unittest.mock import patch

import pytest
import requests

from infra.local_stack import use_local_environment
from infra.resources import dead_letter_queue
from shared.core import filing
from shared.core.aws import client, reset_clients
from shared.core.errors import ApiError
from shared.core.models import Channel
from shared.core.settings import Settings, environment_settings, get_settings
from tests.support import ROOT, Stack, running_stack

COMPLAINT = {"description": "县市场监管局执法人员检查时索要好处费。"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("runbook") / "hotspot-run.log") as running:
        yield running


@pytest.fixture
def local(stack: Stack) -> Iterator[Settings]:
    """This process's clients on the stack's moto server, for what the test sets up and reads."""
    with patch.dict(os.environ):
        use_local_environment(stack.moto_url)
        environment_settings.cache_clear()
        yield get_settings()
    environment_settings.cache_clear()
    reset_clients()


def hotspot(stack: Stack, *arguments: str) -> subprocess.CompletedProcess[str]:
    moto_port = stack.moto_url.rsplit(":", 1)[1]
    command = [sys.executable, "-m", "infra.cli", *arguments, "--moto-port", moto_port]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)


def answer(run: subprocess.CompletedProcess[str]) -> str:
    """The command's own last line (the functions' log lines come before it)."""
    return run.stdout.strip().splitlines()[-1]


def routed(stack: Stack, receipt: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        status = requests.get(
            f"{stack.url}/intake/complaints/{receipt['tracking_no']}",
            params={"code": receipt["verification_code"]},
            timeout=5,
        ).json()
        if status["status"] == "routed":
            return status
        assert time.monotonic() < deadline, f"not routed within 30 s: {status}"
        time.sleep(0.2)


def test_redrive_moves_dead_lettered_messages_back_and_records_how_many(stack: Stack, local: Settings) -> None:
    # given two messages in the events queue's dead-letter queue
    sqs = client("sqs")
    dlq = sqs.get_queue_url(QueueName=dead_letter_queue(local.events_queue))["QueueUrl"]
    for number in range(2):
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"type": "case.transitioned", "id": f"runbook-{number}"}))
    # when `hotspot redrive` runs
    moved = hotspot(stack, "redrive", local.events_queue)
    # then both are back on the queue, and the count is the stage's DlqRedriven figure for the dashboard
    assert moved.returncode == 0 and f"moved 2 messages from {local.events_queue}-dlq" in moved.stdout, moved.stderr
    statistics = client("cloudwatch").get_metric_statistics(
        Namespace="hotspot",
        MetricName="DlqRedriven",
        Dimensions=[{"Name": "queue", "Value": local.events_queue}],
        StartTime=datetime(2020, 1, 1, tzinfo=UTC),
        EndTime=datetime(2100, 1, 1, tzinfo=UTC),
        Period=3600,
        Statistics=["Sum"],
    )
    assert sum(point["Sum"] for point in statistics["Datapoints"]) == 2


def test_rebuild_stats_finds_a_wrong_counter_and_repairs_it(stack: Stack, local: Settings) -> None:
    # given a complaint routed and counted, then its department's counter of the year changed by hand
    filed = requests.post(
        f"{stack.url}/intake/complaints", json=COMPLAINT, headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=5
    )
    department = routed(stack, filed.json())["department"]["code"]
    year = datetime.now(UTC).year
    deadline = time.monotonic() + 30
    while hotspot(stack, "rebuild-stats", "--check").returncode != 0:  # the statistics consumer counts it
        assert time.monotonic() < deadline, "the counters never agreed"
        time.sleep(0.5)
    client("dynamodb").update_item(
        TableName=local.cases_table,
        Key={"pk": {"S": f"STATS#year:{year}"}, "sk": {"S": f"DEPT#{department}"}},
        UpdateExpression="ADD accepted :five",
        ExpressionAttributeValues={":five": {"N": "5"}},
    )
    # when the runbook's check runs, then the repair, then the check again
    checked = hotspot(stack, "rebuild-stats", "--check")
    repaired = hotspot(stack, "rebuild-stats")
    again = hotspot(stack, "rebuild-stats", "--check")
    # then the check names the counter and fails, the repair writes it, and the second check agrees
    assert checked.returncode == 1 and f"STATS#year:{year} DEPT#{department}: accepted live 5" in checked.stdout
    assert repaired.returncode == 0, repaired.stderr
    assert again.returncode == 0 and "differences 0" in again.stdout


def test_key_rotation_keeps_the_previous_key_valid(stack: Stack) -> None:
    # given the stack's signing key, as its JWKS publishes it
    [before] = [key["kid"] for key in requests.get(f"{stack.url}/cases/auth/jwks.json", timeout=5).json()["keys"]]
    # when `hotspot keys rotate` runs
    rotated = hotspot(stack, "keys", "rotate", "--local")
    # then a new key is current and the one tokens were signed with is kept as previous
    assert rotated.returncode == 0, rotated.stderr
    current = rotated.stdout.split()[2].rstrip(";")
    assert current != before and rotated.stdout.strip().endswith(f"previous {before}")


def test_a_quarantined_payload_is_listed_and_replayed_once_after_the_fix(stack: Stack, local: Settings) -> None:
    # given a complaint quarantined by a check since found wrong (archived and listed as intake does it)
    now = datetime.now(UTC)
    raw_key = filing.archive_raw(local, Channel.web, json.dumps(COMPLAINT).encode(), "application/json", now)
    filing.reject(local, Channel.web, raw_key, ApiError(422, "check_bug", "提交的内容有误"), now)
    reference = filing.raw_ref(raw_key)
    # when the operator lists the month's quarantine and replays the payload, twice
    listed = hotspot(stack, "quarantine", "list")
    first = hotspot(stack, "quarantine", "replay", reference)
    second = hotspot(stack, "quarantine", "replay", reference, "--month", f"{now:%Y-%m}")
    # then the list shows it with its reason, and it is filed once: the second replay names the same complaint
    assert listed.returncode == 0 and f"web {reference} check_bug" in listed.stdout, listed.stderr
    assert first.returncode == 0 and answer(first).startswith("filed as "), first.stderr
    tracking_no = answer(first).split()[2]
    assert second.returncode == 0 and answer(second) == f"filed as {tracking_no} (replayed before)"
    # and the list names the complaint it became
    assert f"(replayed as {tracking_no})" in hotspot(stack, "quarantine", "list").stdout
    # and the stack stores the complaint like any other
    case = client("dynamodb").get_item(
        TableName=local.cases_table, Key={"pk": {"S": f"CASE#{tracking_no}"}, "sk": {"S": "CASE"}}
    )
    assert case.get("Item"), "the replayed complaint is not stored"
