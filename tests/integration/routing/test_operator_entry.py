"""Operator entry (POST /cases of the routing service against moto): staff record complaints from the hotline,
letters, visits, surveys, checks and the media; archived, stored with who entered them, acknowledged, routed."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from shared.core import auth, quarantine, queues
from shared.core.auth import Role
from shared.core.aws import client
from shared.core.dal.cases import CaseStore
from shared.core.filing import verification_hash
from shared.core.messages import Envelope
from shared.core.models import Status
from shared.core.settings import Settings, environment_settings
from shared.routing import notifications, router
from shared.routing.sms import sms_sender
from tests.support import raw_keys, receive_all

TRAFFIC = "来电反映：交警在路口查车罚款两百元，不开罚款收据，让他把钱转到个人手机上。"
PHONE = "13912345678"


def bearer(settings: Settings, role: Role, department: str | None = None) -> dict:
    return {"Authorization": "Bearer " + auth.issue_development_token(settings, role, department)}


def enter(http, headers: dict, **fields) -> tuple[int, dict]:
    body = {"description": TRAFFIC, "channel": "hotline", "complainant": {"name": "李明", "phone": PHONE}, **fields}
    response = http.post(
        "/",
        headers={**headers, "Content-Type": "application/json"},
        body=json.dumps(body, ensure_ascii=False),
    )
    return response.status_code, json.loads(response.body)


def messages(settings: Settings, queue: str) -> list[Envelope]:
    return [Envelope.model_validate_json(m["Body"]) for m in receive_all(queues.queue_url(queue), client("sqs"))]


@pytest.mark.parametrize("channel", ["hotline", "letter", "visit", "survey", "inspection", "media"])
def test_staff_enter_a_complaint_of_each_channel_which_is_acknowledged_and_routed(
    http, aws: Settings, channel: str
) -> None:
    # given an officer of the traffic police and a letter that came yesterday
    received = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    # when the officer enters it
    status, receipt = enter(
        http, bearer(aws, Role.dept_officer, "JJDD"), channel=channel, received_at=received.isoformat()
    )
    # then it is stored with its channel, its receipt time and who entered it, and the codes are answered
    assert status == 201
    number, code = receipt["tracking_no"], receipt["verification_code"]
    case = CaseStore(aws).get(number)
    assert case is not None and case.verification_hash == verification_hash(number, code)
    assert (case.channel, case.received_at, case.entered_by) == (channel, received, "dev-dept_officer-JJDD")
    assert CaseStore(aws).events(number)[0].actor == "dev-dept_officer-JJDD"
    # and the raw body is archived under its channel
    raw = client("s3").get_object(Bucket=aws.raw_bucket, Key=case.raw_key)["Body"].read()
    assert case.raw_key.startswith(f"raw/{channel}/") and json.loads(raw)["description"] == TRAFFIC
    # and the complainant's acknowledgement is requested, which texts them the codes once
    [ack] = messages(aws, aws.notify_queue)
    assert ack.id == f"{number}:v1:acknowledgement"
    notifications.send_notification(aws, ack, sms_sender(aws))
    notifications.send_notification(aws, ack, sms_sender(aws))
    sent = [text for _, text, *_ in sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values()]
    assert len(sent) == 1 and number in sent[0] and code in sent[0]
    # and the routing consumer routes it like any complaint
    [received_message] = messages(aws, aws.intake_queue)
    router.route_complaint(aws, received_message)
    routed = CaseStore(aws).get(number)
    assert routed is not None and routed.status == Status.routed and routed.department


@pytest.mark.parametrize(
    ("role", "department", "expected"),
    [
        (Role.county_admin, None, 201),
        (Role.dept_head, "JJDD", 201),
        (Role.dept_officer, "SCJG", 201),
        (Role.auditor, None, 403),
        (Role.media, None, 403),
    ],
)
def test_only_staff_who_handle_cases_enter_complaints(
    http, aws: Settings, role: Role, department: str | None, expected: int
) -> None:
    # given a staff member of the role, when they enter a complaint, then they get what their role allows
    status, _ = enter(http, bearer(aws, role, department))
    assert status == expected


def test_entry_without_a_token_is_refused_and_nothing_is_stored(http, aws: Settings) -> None:
    # when someone without a token posts a complaint
    status, body = enter(http, {})
    # then 401, nothing archived or queued
    assert status == 401 and body["error"]["code"]
    assert client("s3").list_objects_v2(Bucket=aws.raw_bucket).get("KeyCount") == 0
    assert messages(aws, aws.intake_queue) == []


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"channel": "web"}, "channel", "invalid_channel"),
        ({"channel": "phone"}, "channel", "enum"),
        ({"received_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}, "received_at", "in_future"),
        ({"received_at": (datetime.now(UTC) - timedelta(days=61)).isoformat()}, "received_at", "too_early"),
        ({"received_at": "2026-05-04T23:00:00+08:00"}, "received_at", "too_early"),  # before the campaign opened
    ],
)
def test_a_wrong_channel_or_a_future_receipt_time_is_refused_and_kept(
    http, aws: Settings, fields: dict, field: str, code: str
) -> None:
    # when an officer enters a complaint with a channel that is not staff's or a receipt time to come
    status, body = enter(http, bearer(aws, Role.dept_officer, "JJDD"), **fields)
    # then 422 naming the field, nothing stored, and the raw body on the quarantine list
    assert status == 422 and [(f["field"], f["code"]) for f in body["error"]["fields"]] == [(field, code)]
    assert messages(aws, aws.intake_queue) == []
    entries = quarantine.month(aws, f"{datetime.now(UTC):%Y-%m}")
    assert [entry.raw_key.rsplit("/", 1)[-1] for entry in entries] == [body["error"]["raw_ref"]]


def test_an_anonymous_entry_gets_no_acknowledgement_and_a_retry_stores_once(http, aws: Settings) -> None:
    # given an officer entering an anonymous call with an idempotency key, twice (a double click)
    headers = {**bearer(aws, Role.dept_officer, "JJDD"), "Idempotency-Key": "call-20261127-001"}
    first = enter(http, headers, complainant=None, anonymous=True)
    second = enter(http, headers, complainant=None, anonymous=True)
    # then one complaint is stored, answered the same, and nothing is pushed to the complainant
    assert first[0] == second[0] == 201 and first[1] == second[1]
    assert len(messages(aws, aws.intake_queue)) == 1
    assert messages(aws, aws.notify_queue) == []


def test_entries_are_limited_per_staff_member(http, aws: Settings, monkeypatch) -> None:
    # given a limit of two entries an hour
    monkeypatch.setenv("ENTRIES_PER_STAFF_PER_HOUR", "2")
    environment_settings.cache_clear()
    try:
        officer = bearer(aws, Role.dept_officer, "JJDD")
        # when one officer enters three, then the third is refused, while another officer may still enter
        assert [enter(http, officer)[0] for _ in range(3)] == [201, 201, 429]
        assert enter(http, bearer(aws, Role.dept_head, "JJDD"))[0] == 201
    finally:
        environment_settings.cache_clear()
    # and nothing of the refused entry is archived or on the quarantine list
    assert len(raw_keys(aws)) == 3
    assert quarantine.month(aws, f"{datetime.now(UTC):%Y-%m}") == []


def test_an_oversized_entry_is_refused_before_anything_of_it_is_stored(http, aws: Settings) -> None:
    # when an officer posts a body over the size limit
    status, body = enter(http, bearer(aws, Role.dept_officer, "JJDD"), description="长" * (1024 * 1024))
    # then 413, and nothing of it is archived, quarantined or queued
    assert (status, body["error"]["code"]) == (413, "payload_too_large")
    assert raw_keys(aws) == [] and messages(aws, aws.intake_queue) == []
    assert quarantine.month(aws, f"{datetime.now(UTC):%Y-%m}") == []
