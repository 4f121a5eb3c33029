"""SMS webhooks of the intake service against moto: Twilio (signed form), Aliyun SmsUp and Tencent reply callbacks.

Twilio signatures are made with the `twilio` package's RequestValidator, as Twilio makes them, over the public
URL the provider is configured with; the Chalice test client calls another host and path, as the gateway does.
"""

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from chalice.test import Client
from twilio.request_validator import RequestValidator

from shared.core import quarantine, queues, ratelimit
from shared.core.aws import client
from shared.core.dal.cases import CaseStore
from shared.core.messages import Envelope
from shared.core.models import Status
from shared.core.settings import Settings, environment_settings
from shared.core.sms_text import Sms, render
from shared.intake import complaints, sms_inbound
from shared.routing import notifications
from tests.support import load_service, receive_all, requests_made

PUBLIC_URL = "http://127.0.0.1:8000/intake/sms/twilio"  # the local default of public_base_url
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}
PHONE = "+8613912345678"


def twilio_params(
    sid: str = "SM0001", body: str = "交警在路口乱罚款，不开收据。", sender: str = PHONE
) -> dict[str, str]:
    return {
        "ToCountry": "US",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "FromCity": "",
        "SmsSid": sid,
        "MessageSid": sid,
        "AccountSid": "AC00000000000000000000000000000000",
        "From": sender,
        "To": "+15005550006",
        "Body": body,
        "NumSegments": "1",
        "ApiVersion": "2010-04-01",
    }


def post_twilio(http, params: dict[str, str], url: str = PUBLIC_URL, token: str = "local-twilio-token", body=None):
    signature = RequestValidator(token).compute_signature(url, params)
    raw = body if body is not None else urlencode(params).encode()
    return http.post("/sms/twilio", headers={**FORM, "X-Twilio-Signature": signature}, body=raw)


def aliyun_item(sequence_id: int = 1001, content: str = "县城管局的人收摊位费不给票据。", phone: str = "13912345678"):
    return {
        "phone_number": phone,
        "send_time": "2026-05-20 10:00:00",
        "content": content,
        "sign_name": "靖宇县法制办",
        "dest_code": "1234",
        "sequence_id": sequence_id,
    }


def tencent_body(text: str = "税务所的人暗示请客送礼。", time: int | None = None) -> dict:
    return {
        "extend": "",
        "mobile": "13912345678",
        "nationcode": "86",
        "sign": "靖宇县法制办",
        "text": text,
        "time": int(datetime.now(UTC).timestamp()) if time is None else time,
    }


def post_json(http, provider: str, body: object, token: str = "local-sms-token", headers: dict | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return http.post(f"/sms/{provider}?token={token}", headers=headers or JSON, body=raw)


def twiml_text(response) -> str:
    match = re.search(r"<Message>(.*)</Message>", response.body.decode())
    assert match, response.body
    return match.group(1)


def raw_objects(settings: Settings) -> list[str]:
    listed = client("s3").list_objects_v2(Bucket=settings.raw_bucket, Prefix="raw/sms/")
    return [item["Key"] for item in listed.get("Contents", [])]


def cases(settings: Settings) -> list:
    return list(CaseStore(settings).by_status(Status.received))


def replies_queued(settings: Settings) -> list[dict]:
    """The replies requested: on the notify queue, and (a new complaint's) carried by its routing message, which
    routing passes on to the notify queue (tests/integration/routing/test_routing_service.py)."""
    notify = [json.loads(m["Body"]) for m in receive_all(queues.queue_url(settings.notify_queue), client("sqs"))]
    intake = [json.loads(m["Body"]) for m in receive_all(queues.queue_url(settings.intake_queue), client("sqs"))]
    return notify + [message["data"]["notice"] for message in intake if "notice" in message["data"]]


def test_a_twilio_text_becomes_a_complaint_answered_in_twiml(http, aws: Settings) -> None:
    # given a text from a mainland mobile, signed by Twilio over the public URL
    # when Twilio posts it
    response = post_twilio(http, twilio_params())
    # then the answer is TwiML whose message carries the tracking number and the code, in one segment
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    text = twiml_text(response)
    tracking_no, code = re.search(r"编号(ZF\d{12})，查询码(\d{6})", text).groups()
    assert sms_inbound.segments(text) == 1
    # and the complaint is stored from the sms channel with the phone as contact, the raw form archived
    case = CaseStore(aws).get(tracking_no)
    assert case.channel == "sms" and case.description == "交警在路口乱罚款，不开收据。" and case.has_complainant
    person = client("dynamodb").get_item(
        TableName=aws.cases_table, Key={"pk": {"S": f"CASE#{tracking_no}"}, "sk": {"S": "COMPLAINANT"}}
    )["Item"]
    assert person["phone"]["S"] == "13912345678"
    archived = client("s3").get_object(Bucket=aws.raw_bucket, Key=case.raw_key)["Body"].read()
    assert raw_objects(aws) == [case.raw_key] and archived == urlencode(twilio_params()).encode()
    # and the code it carries opens the status page
    assert http.get(f"/complaints/{tracking_no}?code={code}").status_code == 200
    # and nothing is queued for sending: Twilio sends the TwiML reply itself
    assert replies_queued(aws) == []


def test_a_replayed_message_sid_creates_nothing_new(http, aws: Settings) -> None:
    # given a text already received
    first = post_twilio(http, twilio_params("SM-replay"))
    # when Twilio retries it
    again = post_twilio(http, twilio_params("SM-replay"))
    # then the same reply is given and there is still one complaint
    assert first.status_code == again.status_code == 200
    assert twiml_text(first) == twiml_text(again)
    assert len(cases(aws)) == 1


def test_follow_ups_within_ten_minutes_are_appended_with_an_audit_event(aws: Settings) -> None:
    # given a complaint by SMS
    start = datetime.now(UTC)

    def send(sid: str, body: str, minutes: float):
        form = urlencode(twilio_params(sid, body)).encode()
        signature = RequestValidator("local-twilio-token").compute_signature(PUBLIC_URL, twilio_params(sid, body))
        return sms_inbound.receive(
            aws, "twilio", form, FORM["Content-Type"], signature, None, start + timedelta(minutes=minutes)
        )

    first = send("SM-a", "交警乱罚款。", 0)
    tracking_no = re.search(r"ZF\d{12}", first.body).group()
    # when the same number texts again 9 minutes later, and again 11 minutes after the complaint
    follow_up = send("SM-b", "地点在东街路口。", 9)
    later = send("SM-c", "另外，城管收费不给票。", 11)
    # then the follow-up is added to the complaint, audited, and its reply names the complaint
    case = CaseStore(aws).get(tracking_no)
    assert case.description == "交警乱罚款。\n地点在东街路口。" and case.version == 2
    assert [event.action for event in CaseStore(aws).events(tracking_no)] == ["receive", "supplement"]
    assert tracking_no in follow_up.body and "补充" in follow_up.body
    # and the text after the window opens a complaint of its own
    assert re.search(r"ZF\d{12}", later.body).group() != tracking_no
    assert len(cases(aws)) == 2


def test_a_text_after_a_newer_web_complaint_of_the_number_is_a_complaint_of_its_own(http, aws: Settings) -> None:
    # given a complaint by SMS, then one by the web form's API from the same phone a moment later
    first = re.search(r"ZF\d{12}", twiml_text(post_twilio(http, twilio_params("SM-w1")))).group()
    web = {"description": "城管收费不给票。", "complainant": {"phone": "13912345678"}}
    assert http.post("/complaints", headers=JSON, body=json.dumps(web)).status_code == 201
    # when the number texts again within the follow-up window
    answer = twiml_text(post_twilio(http, twilio_params("SM-w2", "地点在东街路口。")))
    # then the text follows up on no case (the number's newest case is not an SMS): it is a complaint of its own
    assert first not in answer and re.search(r"ZF\d{12}", answer)
    assert CaseStore(aws).get(first).version == 1
    assert len(cases(aws)) == 3


def test_a_query_text_returns_the_status_and_creates_nothing(http, aws: Settings) -> None:
    # given a complaint by SMS and its receipt
    receipt = twiml_text(post_twilio(http, twilio_params("SM-q1")))
    tracking_no, code = re.search(r"编号(ZF\d{12})，查询码(\d{6})", receipt).groups()
    # when the complainant texts 查询 with the number and code, and once with a wrong code
    status = twiml_text(post_twilio(http, twilio_params("SM-q2", f"查询 {tracking_no} {code}")))
    wrong = "000000" if code != "000000" else "111111"
    not_found = twiml_text(post_twilio(http, twilio_params("SM-q3", f"查询 {tracking_no} {wrong}")))
    # then the status is told, a wrong code is told apart, and no complaint was added
    assert tracking_no in status and "已登记" in status
    assert "未找到" in not_found and tracking_no not in not_found
    assert len(cases(aws)) == 1


def test_a_configured_public_url_is_what_signatures_cover(aws: Settings, monkeypatch) -> None:
    # given a deployment whose public URL differs from what the function sees
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://tousu.example.gov.cn/intake")
    environment_settings.cache_clear()
    try:
        with Client(load_service("intake").app) as test_client:
            # when Twilio signs over that URL, and a forger over the URL the function sees
            good = post_twilio(
                test_client.http, twilio_params("SM-url"), "https://tousu.example.gov.cn/intake/sms/twilio"
            )
            bad = post_twilio(test_client.http, twilio_params("SM-url2"), PUBLIC_URL)
    finally:
        environment_settings.cache_clear()
    # then only the first is taken
    assert (good.status_code, bad.status_code) == (200, 403)


def test_aliyun_push_is_acknowledged_and_replies_are_queued_once(http, aws: Settings) -> None:
    # given an SmsUp push of two texts from two numbers
    push = [aliyun_item(2001), aliyun_item(2002, "乡政府罚款没有依据。", "13812345678")]
    # when it is posted twice (a provider retry)
    first = post_json(http, "aliyun", push)
    again = post_json(http, "aliyun", push)
    # then Aliyun gets its acknowledgement both times and two complaints exist
    assert first.status_code == again.status_code == 200
    assert json.loads(first.body) == {"code": 0, "msg": "接收成功"}
    assert len(cases(aws)) == 2
    # and a reply per text was requested, with the same message id the second time
    requested = replies_queued(aws)
    assert len(requested) == 4 and len({message["id"] for message in requested}) == 2
    reply = requested[0]
    assert reply["type"] == "notification.requested" and reply["data"]["kind"] == "sms_receipt"
    assert reply["data"]["phone"] == "+8613912345678"
    assert reply["data"]["tracking_no"] == reply["data"]["values"]["tracking_no"]
    # when the notification consumer gets all four messages
    sent: list[tuple[str, str]] = []

    class Sender:
        def send(self, phone: str, message: Sms) -> str:
            sent.append((phone, render(message)))
            return f"sns-{len(sent)}"

    for message in requested:
        notifications.send_notification(aws, Envelope.model_validate(message), Sender())
    # then each complainant gets exactly one SMS, with the tracking number
    assert sorted(phone for phone, _ in sent) == ["+8613812345678", "+8613912345678"]


def test_tencent_reply_callback_is_acknowledged_in_its_format(http, aws: Settings) -> None:
    # given a Tencent reply callback
    body = tencent_body()
    # when it is posted, then posted again
    first = post_json(http, "tencent", body)
    again = post_json(http, "tencent", body)
    # then Tencent's acknowledgement comes back, and one complaint exists with one reply requested
    assert first.status_code == again.status_code == 200
    assert json.loads(first.body) == {"result": 0, "errmsg": "OK"}
    assert len(cases(aws)) == 1
    assert len({message["id"] for message in replies_queued(aws)}) == 1


def test_part_of_an_aliyun_push_that_is_unusable_is_quarantined_and_the_rest_taken(http, aws: Settings) -> None:
    # given a push with one good text and one empty one
    response = post_json(http, "aliyun", [aliyun_item(3001), aliyun_item(3002, "  ")])
    # then the push is acknowledged, the good text is a complaint and the empty one is on the quarantine list
    assert response.status_code == 200 and json.loads(response.body)["code"] == 0
    assert len(cases(aws)) == 1
    entries = quarantine.month(aws, datetime.now(UTC).strftime("%Y-%m"))
    assert [(entry.code, [field.field for field in entry.fields]) for entry in entries] == [
        ("validation_failed", ["1.content"])
    ]


SIGNED = "signed"  # marker: sign the (possibly bad) form with Twilio's validator


@pytest.mark.parametrize(
    ("provider", "body", "headers", "token", "status", "code"),
    [
        ("aliyun", [aliyun_item()], JSON, "wrong-token", 403, "invalid_token"),
        ("tencent", tencent_body(), JSON, "", 403, "invalid_token"),
        ("aliyun", b'[{"phone_number": "139', JSON, "local-sms-token", 400, "malformed_json"),
        ("aliyun", {"phone_number": "13912345678"}, JSON, "local-sms-token", 400, "body_not_array"),
        ("aliyun", [], JSON, "local-sms-token", 400, "body_not_array"),
        ("tencent", [tencent_body()], JSON, "local-sms-token", 400, "body_not_object"),
        (
            "aliyun",
            [{"phone_number": "13912345678", "sequence_id": 1}],
            JSON,
            "local-sms-token",
            422,
            "validation_failed",
        ),
        ("tencent", {**tencent_body(), "text": ""}, JSON, "local-sms-token", 422, "validation_failed"),
        (
            "tencent",
            {**tencent_body(), "text": "\u200b\u200c\ufeff"},
            JSON,
            "local-sms-token",
            422,
            "validation_failed",
        ),
        ("tencent", {**tencent_body(), "text": "长" * 1601}, JSON, "local-sms-token", 422, "validation_failed"),
        ("tencent", {**tencent_body(), "mobile": "abc"}, JSON, "local-sms-token", 422, "validation_failed"),
        ("tencent", tencent_body(), {"Content-Type": "text/plain"}, "local-sms-token", 415, "unsupported_media_type"),
        ("tencent", b"x" * (1024 * 1024 + 1), JSON, "local-sms-token", 413, "payload_too_large"),
        ("wechat", {"text": "投诉"}, JSON, "local-sms-token", 404, "unknown_provider"),
        ("tencent", tencent_body(time=1779242400), JSON, "local-sms-token", 403, "stale_callback"),
    ],
)
def test_bad_provider_pushes_get_a_4xx_in_the_provider_format_and_only_genuine_ones_are_kept(
    http, aws: Settings, provider, body, headers, token, status, code
) -> None:
    # given a push that is not genuine or cannot be read
    # when it is posted
    response = post_json(http, provider, body, token, headers)
    answer = json.loads(response.body)
    # then the answer is the right 4xx, in the provider's shape with our machine code and Chinese message
    assert response.status_code == status
    assert answer["error"]["code"] == code
    assert any("\u4e00" <= char <= "\u9fff" for char in answer["error"]["message"])
    if provider == "aliyun":
        assert answer["code"] == status
    if provider == "tencent":
        assert answer["result"] == status and answer["errmsg"]
    entries = quarantine.month(aws, datetime.now(UTC).strftime("%Y-%m"))
    if code in UNSTORED:
        # and a push that fails the cheap checks (not genuine, too large, no such provider) is not stored at all
        assert raw_objects(aws) == [] and entries == []
    else:
        # and a genuine one that cannot be read is archived under the reference given back and quarantined
        assert any(key.endswith(answer["error"]["raw_ref"]) for key in raw_objects(aws))
        assert [entry.code for entry in entries] == [code]
    assert cases(aws) == [] and replies_queued(aws) == []


# What fails the checks made before anything is stored.
UNSTORED = {"invalid_token", "invalid_signature", "payload_too_large", "unknown_provider", "stale_callback"}


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("tampered body", 403, "invalid_signature"),
        ("wrong url", 403, "invalid_signature"),
        ("wrong token", 403, "invalid_signature"),
        ("missing signature", 403, "invalid_signature"),
        # a body Twilio's signature cannot cover is not Twilio's
        ("malformed form", 403, "invalid_signature"),
        ("json instead of form", 403, "invalid_signature"),
        ("missing body field", 422, "validation_failed"),
        ("empty text", 422, "validation_failed"),
        ("same sid, other text", 422, "idempotency_key_reused"),
    ],
)
def test_bad_twilio_requests_get_a_4xx_and_only_signed_ones_are_kept(
    http, aws: Settings, case: str, status: int, code: str
) -> None:
    # given a Twilio request spoiled in one way
    params = twilio_params("SM-bad")
    if case == "tampered body":
        response = post_twilio(http, params, body=urlencode({**params, "Body": "改过的内容"}).encode())
    elif case == "wrong url":
        response = post_twilio(http, params, url="http://localhost/sms/twilio")
    elif case == "wrong token":
        response = post_twilio(http, params, token="not-the-token")
    elif case == "missing signature":
        response = http.post("/sms/twilio", headers=FORM, body=urlencode(params).encode())
    elif case == "malformed form":
        response = post_twilio(http, params, body=b"MessageSid=SM-bad&Body=%E4%B9%B1&noequals")
    elif case == "json instead of form":
        response = http.post("/sms/twilio", headers=JSON, body=json.dumps(params).encode())
    elif case == "missing body field":
        response = post_twilio(http, {name: value for name, value in params.items() if name != "Body"})
    elif case == "empty text":
        response = post_twilio(http, {**params, "Body": "   "})
    else:
        assert post_twilio(http, params).status_code == 200
        response = post_twilio(http, {**params, "Body": "换了内容"})
    # when it is answered / then with the right 4xx, never a 5xx; a signed payload archived and quarantined, an
    # unsigned one not stored at all
    answer = json.loads(response.body)
    assert response.status_code == status
    assert answer["error"]["code"] == code
    entries = quarantine.month(aws, datetime.now(UTC).strftime("%Y-%m"))
    if code in UNSTORED:
        assert entries == [] and len(raw_objects(aws)) == (1 if case == "same sid, other text" else 0)
    else:
        assert any(key.endswith(answer["error"]["raw_ref"]) for key in raw_objects(aws))
        assert [entry.code for entry in entries] == [code]
    expected_cases = 1 if case == "same sid, other text" else 0
    assert len(cases(aws)) == expected_cases


def test_floods_from_one_number_or_one_address_are_not_stored(aws: Settings) -> None:
    settings = aws.model_copy(update={"sms_texts_per_number_per_hour": 2, "sms_pushes_per_ip_per_hour": 5})
    now = datetime.now(UTC)

    def push(number: int, ip: str, token: str = "local-sms-token") -> int:
        body = json.dumps([aliyun_item(2000 + number, f"第{number}条投诉：乱收费")], ensure_ascii=False).encode()
        return sms_inbound.receive(
            settings, "aliyun", body, "application/json", token=token, now=now, client_ip=ip
        ).status

    # given three texts from one number through the provider's gateway
    statuses = [push(n, "198.51.100.1") for n in range(3)]
    # then all are acknowledged, but only the first two are taken (the second as a follow-up) and answered
    assert statuses == [200, 200, 200]
    [case] = cases(settings)
    assert "第1条投诉" in case.description and "第2条投诉" not in case.description
    assert len(replies_queued(settings)) == 2
    # when an address floods the webhook with bad tokens
    flood = [push(10 + n, "203.0.113.9", token="guess") for n in range(6)]
    # then it is refused, first for the token and then for its rate, and nothing of it is stored
    assert flood == [403] * 5 + [429]
    assert len(raw_objects(settings)) == 3 and quarantine.month(settings, f"{now:%Y-%m}") == []


def test_a_message_replayed_after_its_answer_is_forgotten_is_not_acted_on_again(aws: Settings) -> None:
    # given a Twilio text taken as a complaint
    params = twilio_params("SM-replayed")
    body = urlencode(params).encode()
    signature = sms_inbound.twilio_signature(aws.twilio_auth_token, PUBLIC_URL, {k: [v] for k, v in params.items()})
    first = sms_inbound.receive(aws, "twilio", body, FORM["Content-Type"], signature)
    assert first.status == 200 and len(cases(aws)) == 1
    # when the same signed request comes again two days later, after the 24-hour memory of answers has expired
    later = datetime.now(UTC) + timedelta(days=2)
    client("dynamodb").delete_item(TableName=aws.idempotency_table, Key={"key": {"S": "sms:twilio:SM-replayed"}})
    again = sms_inbound.receive(aws, "twilio", body, FORM["Content-Type"], signature, now=later)
    # then it is acknowledged with no reply, and nothing new is filed
    assert again.status == 200 and "<Message>" not in again.body
    assert len(cases(aws)) == 1


def test_a_new_complaint_by_text_keeps_both_limits_of_its_number(aws: Settings) -> None:
    # given a number allowed one text an hour, and another allowed one complaint an hour, each with a complaint
    hour = datetime.now(UTC).replace(minute=1, second=0, microsecond=0)
    texts = aws.model_copy(update={"sms_texts_per_number_per_hour": 1})
    complaints = aws.model_copy(update={"submissions_per_phone_per_hour": 1})

    def push(settings: Settings, number: int, phone: str, minutes: int) -> int:
        body = json.dumps([aliyun_item(3000 + number, f"第{number}条投诉：乱收费", phone)], ensure_ascii=False).encode()
        at = hour + timedelta(minutes=minutes)
        return sms_inbound.receive(settings, "aliyun", body, "application/json", token="local-sms-token", now=at).status

    assert push(texts, 1, "13900000011", 0) == push(complaints, 2, "13900000012", 0) == 200
    # when each texts a new complaint after the follow-up window, within the same hour
    over_texts = push(texts, 3, "13900000011", 12)
    over_complaints = push(complaints, 4, "13900000012", 12)
    # then the first is acknowledged but not taken, the second refused (429) and quarantined: two complaints in all
    assert (over_texts, over_complaints) == (200, 429)
    assert sorted(case.description for case in cases(aws)) == ["第1条投诉：乱收费", "第2条投诉：乱收费"]
    assert len(replies_queued(aws)) == 2
    assert len(quarantine.month(aws, f"{hour:%Y-%m}")) == 1


def test_a_web_complaint_and_a_text_from_one_number_count_against_its_one_complaint_limit(aws: Settings) -> None:
    # given a number allowed one complaint an hour, which has filed one through the JSON API
    settings = aws.model_copy(update={"submissions_per_phone_per_hour": 1})
    now = datetime.now(UTC).replace(minute=1, second=0, microsecond=0)
    web = json.dumps({"description": "乱收费", "complainant": {"phone": "13900000031"}}).encode()
    assert complaints.submit_complaint(settings, web, "application/json", None, now=now).status == 201
    # when the number texts a complaint within the same hour
    body = json.dumps([aliyun_item(5001, "又一次乱收费", "13900000031")], ensure_ascii=False).encode()
    answer = sms_inbound.receive(settings, "aliyun", body, "application/json", token="local-sms-token", now=now)
    # then the text is refused for the number's complaint limit, and only the web complaint is filed
    assert answer.status == 429
    assert [case.channel for case in cases(aws)] == ["web"]
    # and the number's limits are one counter item for the hour, holding both counts
    key, _ = ratelimit.number_key(settings, "+86 139 0000 0031", now)
    item = client("dynamodb").get_item(TableName=aws.idempotency_table, Key={"key": {"S": key}})["Item"]
    assert (item["complaints"]["N"], item["texts"]["N"]) == ("1", "1")


def test_a_new_complaint_by_text_costs_the_requests_of_the_json_post(http, aws: Settings) -> None:
    # when a text from a new number arrives by Aliyun, every AWS request counted
    with requests_made("dynamodb", "s3", "sqs") as made:
        answer = http.post("/sms/aliyun?token=local-sms-token", headers=JSON, body=json.dumps([aliyun_item(4001)]))
    # then it is filed as the JSON POST is: one archive, one transaction and one enqueue, which carries the reply
    assert answer.status_code == 200 and len(cases(aws)) == 1
    assert sorted(operation for operation, _ in made) == [
        "dynamodb.TransactWriteItems",
        "s3.PutObject",
        "sqs.SendMessage",
    ]
    [reply] = replies_queued(aws)
    assert reply["id"] == "sms-reply:aliyun:4001" and reply["data"]["kind"] == "sms_receipt"
    # and its transaction holds the case, its event, complainant and newest-case items, the answer kept for a
    # retry, the message id's first-seen record, the number's one counter item and the address's counter
    assert [len(params["TransactItems"]) for operation, params in made if "Transact" in operation] == [8]


def test_a_texted_complaint_whose_routing_message_fails_is_answered_on_the_provider_retry(
    http, aws: Settings, monkeypatch
) -> None:
    # given an intake queue that cannot be reached
    def unreachable(queue, message):
        if queue == aws.intake_queue:
            raise ConnectionError("queue down")
        return queues_send(queue, message)

    queues_send = queues.send
    monkeypatch.setattr(queues, "send", unreachable)
    # when a new complaint is texted through Aliyun
    with pytest.raises(ConnectionError):
        sms_inbound.receive(
            aws, "aliyun", json.dumps([aliyun_item(6001)]).encode(), "application/json", token="local-sms-token"
        )
    # then it is stored (the sweeper routes it) but not acknowledged, since its reply rode in the lost message
    assert len(cases(aws)) == 1 and replies_queued(aws) == []
    # when Aliyun retries the push
    again = post_json(http, "aliyun", [aliyun_item(6001)])
    # then it is acknowledged, nothing new is filed, and the reply is asked for under the text's id
    assert again.status_code == 200 and len(cases(aws)) == 1
    assert [reply["id"] for reply in replies_queued(aws)] == ["sms-reply:aliyun:6001"]
