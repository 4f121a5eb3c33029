"""The intake service against moto: POST and GET /complaints through the Chalice app."""

import json
from datetime import UTC, datetime

import pytest

from shared.core import quarantine, queues
from shared.core.aws import client
from shared.core.dal.cases import CaseStore
from shared.core.errors import ApiError
from shared.core.models import Status
from shared.core.settings import Settings, environment_settings
from shared.intake import complaints
from tests.support import raw_keys, receive_all, requests_made

JSON = {"Content-Type": "application/json"}
COMPLAINT = {
    "description": "县市场监管局的执法人员一个月内到我们店里检查了四次，每次都没有出示检查通知书。",
    "respondent": "县市场监管局",
    "location": "靖宇镇东街",
    "complainant": {
        "name": "王红",
        "phone": "13912345678",
        "organization": "靖宇县红星超市",
        "credit_code": "91350100M000100Y43",
    },
}


def post(http, body: object, headers: dict | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    response = http.post("/complaints", headers={**JSON, **(headers or {})}, body=raw)
    return response.status_code, json.loads(response.body)


def test_complaint_is_archived_stored_queued_and_answered(http, aws: Settings) -> None:
    # given a complaint with a named complainant
    # when it is posted
    status, body = post(http, COMPLAINT)
    # then the complainant gets a tracking number and a verification code
    assert status == 201
    assert body["tracking_no"].startswith("ZF") and len(body["tracking_no"]) == 14
    assert len(body["verification_code"]) == 6 and body["verification_code"].isdigit()
    # and the raw body is archived, the case stored unrouted, and a message queued for routing
    assert len(raw_keys(aws)) == 1
    case = CaseStore(aws).get(body["tracking_no"])
    assert case is not None and case.status == Status.received and case.has_complainant
    assert case.description == COMPLAINT["description"]
    messages = receive_all(queues.queue_url(aws.intake_queue), client("sqs"))
    envelope = json.loads(messages[0]["Body"])
    assert [envelope["type"], envelope["data"]] == ["complaint.received", {"tracking_no": body["tracking_no"]}]
    assert {"id", "occurred_at", "version", "correlation_id"} <= envelope.keys()


def test_personal_data_is_kept_apart_from_the_case(http, aws: Settings) -> None:
    # given a stored complaint with a phone number
    _, body = post(http, COMPLAINT)
    # when the case item itself is read
    item = client("dynamodb").get_item(
        TableName=aws.cases_table, Key={"pk": {"S": f"CASE#{body['tracking_no']}"}, "sk": {"S": "CASE"}}
    )["Item"]
    # then it holds no personal data; the complainant item does, indexed by a keyed hash only
    assert "13912345678" not in json.dumps(item) and "王红" not in json.dumps(item, ensure_ascii=False)
    person = client("dynamodb").get_item(
        TableName=aws.cases_table, Key={"pk": {"S": f"CASE#{body['tracking_no']}"}, "sk": {"S": "COMPLAINANT"}}
    )["Item"]
    assert person["phone"]["S"] == "13912345678"
    assert "13912345678" not in person["gsi4pk"]["S"]


def test_status_needs_the_right_code_and_shows_no_personal_data(http) -> None:
    # given a stored complaint
    _, receipt = post(http, COMPLAINT)
    number, code = receipt["tracking_no"], receipt["verification_code"]
    # when it is looked up with its code, by query or by header
    by_query = http.get(f"/complaints/{number}?code={code}")
    by_header = http.get(f"/complaints/{number}", headers={"X-Verification-Code": code})
    # then progress is shown, in Chinese, without personal data
    assert by_query.status_code == by_header.status_code == 200
    shown = json.loads(by_query.body)
    assert shown["status"] == "received" and shown["status_name"]
    assert shown["category"] is None and shown["department"] is None
    assert shown["received_at"].endswith("+08:00")
    assert "13912345678" not in by_query.body.decode() and "王红" not in by_query.body.decode()
    # and a wrong code looks exactly like an unknown number
    wrong = http.get(f"/complaints/{number}?code=000000" if code != "000000" else f"/complaints/{number}?code=111111")
    unknown = http.get(f"/complaints/ZF000000000000?code={code}")
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.body == unknown.body


def test_idempotency_key_replays_the_first_answer(http, aws: Settings) -> None:
    # given a complaint posted with an Idempotency-Key
    first = http.post("/complaints", headers={**JSON, "Idempotency-Key": "k-1"}, body=json.dumps(COMPLAINT))
    # when the same request is retried
    again = http.post("/complaints", headers={**JSON, "Idempotency-Key": "k-1"}, body=json.dumps(COMPLAINT))
    # then the answer is the same and only one case exists
    assert first.status_code == again.status_code == 201
    assert json.loads(first.body) == json.loads(again.body)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(list(CaseStore(aws).by_status(Status.received))) == 1
    # and the same key with a different complaint is refused
    other = http.post(
        "/complaints", headers={**JSON, "Idempotency-Key": "k-1"}, body=json.dumps({"description": "另一件事"})
    )
    assert other.status_code == 422 and json.loads(other.body)["error"]["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (b'{"description": "\xe6\x9c\x89', 400, "malformed_json", None),
        (b"[1, 2]", 400, "body_not_object", None),
        ({}, 422, "validation_failed", "description"),
        ({"description": "   "}, 422, "validation_failed", "description"),
        ({"description": 123}, 422, "validation_failed", "description"),
        ({"description": "有问题", "anonymous": "yes"}, 422, "validation_failed", "anonymous"),
        ({"description": "有问题", "complainant": {"phone": "12345"}}, 422, "validation_failed", "complainant.phone"),
        (
            {"description": "有问题", "complainant": {"id_number": "110105194912310021"}},
            422,
            "validation_failed",
            "complainant.id_number",
        ),
        ({"description": "有问题", "anonymous": True, "complainant": {"name": "张三"}}, 422, "validation_failed", None),
        ({"description": "有问题", "colour": "red"}, 422, "validation_failed", "colour"),
        (b"", 400, "malformed_json", None),
        (b"null", 400, "body_not_object", None),
        (b'{"description": "a", "description": ', 400, "malformed_json", None),
        ({"description": "长" * 5001}, 422, "validation_failed", "description"),
        ({"description": "罚款\x07不开票"}, 422, "validation_failed", "description"),
        ({"description": "\u200b\u200d\ufeff \u200b"}, 422, "validation_failed", "description"),
        ({"description": "有问题", "respondent": ["城管"]}, 422, "validation_failed", "respondent"),
        ({"description": "有问题", "complainant": "张三"}, 422, "validation_failed", "complainant"),
        (
            {"description": "有问题", "complainant": {"name": "<script>alert(1)</script>"}},
            422,
            "validation_failed",
            "complainant.name",
        ),
        (
            {"description": "有问题", "complainant": {"organization": '=HYPERLINK("http://x")'}},
            422,
            "validation_failed",
            "complainant.organization",
        ),
        (
            {"description": "有问题", "complainant": {"phone": "=1+13912345678"}},
            422,
            "validation_failed",
            "complainant.phone",
        ),
        (
            {"description": "有问题", "complainant": {"credit_code": "91350100M000100Y44"}},
            422,
            "validation_failed",
            "complainant.credit_code",
        ),
        (
            {"description": "有问题", "complainant": {"email": "not-an-address"}},
            422,
            "validation_failed",
            "complainant.email",
        ),
        (
            {"description": "有问题", "complainant": {"phone": "13912345678", "password": "x"}},
            422,
            "validation_failed",
            "complainant.password",
        ),
    ],
)
def test_bad_input_gets_a_clear_4xx_and_is_kept(http, aws: Settings, body, status, code, field) -> None:
    # given a bad request
    # when it is posted
    answer_status, answer = post(http, body)
    # then the answer names the problem in a machine code and in Chinese, with the field
    assert answer_status == status
    assert answer["error"]["code"] == code
    assert any("\u4e00" <= char <= "\u9fff" for char in answer["error"]["message"])
    if field:
        assert field in [item["field"] for item in answer["error"]["fields"]]
        assert all(item["message"] for item in answer["error"]["fields"])
    # and the raw input is archived under the reference given back
    assert any(key.endswith(answer["error"]["raw_ref"]) for key in raw_keys(aws))
    assert not list(CaseStore(aws).by_status(Status.received))


def test_other_content_types_are_refused_but_kept(http, aws: Settings) -> None:
    response = http.post("/complaints", headers={"Content-Type": "text/plain"}, body="我要投诉".encode())
    assert response.status_code == 415
    assert json.loads(response.body)["error"]["code"] == "unsupported_media_type"
    assert len(raw_keys(aws)) == 1


def test_a_failed_enqueue_still_answers_and_leaves_the_case_for_the_sweeper(http, aws, monkeypatch) -> None:
    # given a queue that cannot be reached
    def unreachable(*args, **kwargs):
        raise ConnectionError("queue down")

    monkeypatch.setattr(queues, "send", unreachable)
    # when a complaint is posted
    status, body = post(http, {"description": "交警乱罚款"})
    # then it is stored and answered; the sweeper (tested with routing) will queue it again
    assert status == 201
    assert CaseStore(aws).get(body["tracking_no"]).status == Status.received


def test_rejected_payloads_are_listed_in_quarantine_with_the_reason(http, aws: Settings) -> None:
    # given a payload that cannot become a complaint
    _, answer = post(http, {"description": ""})
    # when staff read this month's quarantine list
    entries = quarantine.month(aws, datetime.now(UTC).strftime("%Y-%m"))
    # then it is there, with the reason, the fields and the archived raw payload
    assert [(e.code, e.raw_key.endswith(answer["error"]["raw_ref"])) for e in entries] == [("validation_failed", True)]
    assert entries[0].fields[0].field == "description"


def test_guessing_codes_for_one_number_is_stopped(http) -> None:
    # given a stored complaint
    _, receipt = post(http, COMPLAINT)
    number = receipt["tracking_no"]
    wrong = "000000" if receipt["verification_code"] != "000000" else "111111"
    # when wrong codes are tried more often than allowed
    statuses = [http.get(f"/complaints/{number}?code={wrong}").status_code for _ in range(11)]
    # then the first ten get the plain 404 and the rest 429
    assert statuses == [404] * 10 + [429]


def test_submissions_per_client_are_limited_and_kept(http, aws: Settings, monkeypatch) -> None:
    # given a limit of two submissions an hour per client address
    monkeypatch.setenv("SUBMISSIONS_PER_IP_PER_HOUR", "2")
    environment_settings.cache_clear()
    try:
        # when a client submits three times
        statuses = [post(http, {"description": f"第{n}次投诉"})[0] for n in range(3)]
    finally:
        environment_settings.cache_clear()
    # then the third is refused with 429 before anything of it is stored: no raw object, no quarantine row
    assert statuses == [201, 201, 429]
    assert len(raw_keys(aws)) == 2
    assert quarantine.month(aws, datetime.now(UTC).strftime("%Y-%m")) == []


def test_a_complaint_costs_one_archive_one_transaction_and_one_enqueue(http, aws: Settings) -> None:
    # when a complaint with a named complainant is posted, every AWS request counted
    with requests_made("dynamodb", "s3", "sqs") as made:
        status, _ = post(http, COMPLAINT)
    # then the address's and the phone number's counters are written in the complaint's transaction, with the case,
    # its event, complainant and newest-case items: no request of their own
    assert status == 201
    assert sorted(operation for operation, _ in made) == [
        "dynamodb.TransactWriteItems",
        "s3.PutObject",
        "sqs.SendMessage",
    ]
    assert [len(params["TransactItems"]) for operation, params in made if "Transact" in operation] == [6]


@pytest.mark.parametrize("first", ["valid", "malformed"])
def test_a_sender_over_a_limit_is_refused_and_nothing_of_it_kept(aws: Settings, first) -> None:
    # given a limit of two submissions an hour per address and one complaint per phone number, and an address that
    # sent two submissions (filed, or quarantined as malformed: bad input counts too)
    settings = aws.model_copy(update={"submissions_per_ip_per_hour": 2, "submissions_per_phone_per_hour": 1})

    def submit(body: object, address: str) -> int:
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        try:
            return complaints.submit_complaint(settings, raw, "application/json", None, address).status
        except ApiError as error:
            assert error.code == "too_many_requests"
            return error.status

    body = {"description": "交警乱罚款"} if first == "valid" else b"{not json"
    statuses = [submit(body, "203.0.113.1") for _ in range(2)]
    # when it sends a third; and another address sends two complaints naming one phone number
    third = submit({"description": "第三次投诉"}, "203.0.113.1")
    by_phone = [submit(COMPLAINT, "198.51.100.7") for _ in range(2)]
    # then the third and the second naming the number are refused with 429, and nothing of them is kept
    assert statuses == ([201, 201] if first == "valid" else [400, 400])
    assert third == 429 and by_phone == [201, 429]
    assert len(raw_keys(aws)) == 3
    entries = quarantine.month(aws, datetime.now(UTC).strftime("%Y-%m"))
    assert len(entries) == (0 if first == "valid" else 2)


def test_an_oversized_body_is_refused_before_it_is_stored(http, aws: Settings) -> None:
    # when a body over the size limit is posted
    status, answer = post(http, {"description": "长" * (1024 * 1024)})
    # then it is a 413 with a Chinese message, and nothing of it is stored
    assert (status, answer["error"]["code"]) == (413, "payload_too_large")
    assert raw_keys(aws) == [] and quarantine.month(aws, datetime.now(UTC).strftime("%Y-%m")) == []


def test_an_overlong_idempotency_key_is_refused_and_kept(http, aws: Settings) -> None:
    status, answer = post(http, {"description": "交警乱罚款"}, {"Idempotency-Key": "k" * 201})
    assert status == 400 and answer["error"]["code"] == "invalid_idempotency_key"
    assert len(raw_keys(aws)) == 1


def test_markup_in_a_description_is_kept_as_written(http, aws: Settings) -> None:
    # given a description with HTML in it (people paste things; pages escape it when they show it)
    text = "城管说<b>不服就去告</b><script>alert(1)</script>"
    # when it is posted
    status, receipt = post(http, {"description": text})
    # then it is stored exactly as written, for staff to read
    assert status == 201
    assert CaseStore(aws).get(receipt["tracking_no"]).description == text
