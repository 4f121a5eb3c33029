"""The SMS senders against loopback stand-ins of Aliyun Dysms and Tencent Cloud SMS.

Each stand-in checks the request's signature as the provider documents it, with code of its own (not the sender's),
itself checked against the worked example each provider publishes, and answers with the provider's JSON.
"""

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest

from shared.core import notices
from shared.core.aws import client
from shared.core.messages import Envelope
from shared.core.settings import Settings, environment_settings, get_settings
from shared.core.sms_text import Sms
from shared.routing import notifications
from shared.routing.sms import AliyunSmsSender, SmsError, SnsSmsSender, TencentSmsSender, sms_sender

SECRET_NAME = "hotspot-sms"
ALIYUN = {"access_key_id": "LTAI-test-id", "access_key_secret": "aliyun-test-secret"}
TENCENT = {"secret_id": "AKID-test-id", "secret_key": "tencent-test-key"}
DUE_SOON = Sms(kind="acceptance_due_soon", values={"tracking_no": "ZF261127123456", "due": "11月27日17:00"})


# --- the providers' signatures, as documented -------------------------------------------------------------------


def aliyun_expected_signature(secret: str, method: str, params: dict[str, str]) -> str:
    """Alibaba Cloud RPC signature 1.0: Base64(HMAC-SHA1(secret + "&", method & %2F & encode(sorted query)))."""

    def encode(text: str) -> str:
        # RFC 3986 percent-encoding of the UTF-8 bytes; only unreserved characters stay as they are.
        return "".join(
            chr(byte) if chr(byte).isascii() and (chr(byte).isalnum() or chr(byte) in "-_.~") else f"%{byte:02X}"
            for byte in text.encode()
        )

    query = "&".join(f"{encode(name)}={encode(value)}" for name, value in sorted(params.items()))
    string_to_sign = method + "&" + encode("/") + "&" + encode(query)
    return base64.b64encode(hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()


def tencent_expected_signature(
    secret_key: str, headers: dict[str, str], signed: list[str], payload: bytes, timestamp: int, service: str
) -> str:
    """TC3-HMAC-SHA256 over a POST to "/" without a query string, the signed headers taken as they came."""
    # Header names and values lower-cased and trimmed, one "name:value\n" each, in the order SignedHeaders lists.
    canonical_headers = "".join(f"{name}:{headers[name].strip().lower()}\n" for name in signed)
    canonical = f"POST\n/\n\n{canonical_headers}\n{';'.join(signed)}\n{hashlib.sha256(payload).hexdigest()}"
    day = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
    string_to_sign = (
        f"TC3-HMAC-SHA256\n{timestamp}\n{day}/{service}/tc3_request\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    )

    def mac(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode(), hashlib.sha256).digest()

    signing_key = mac(mac(mac(("TC3" + secret_key).encode(), day), service), "tc3_request")
    return hmac.new(signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def test_the_stand_ins_reproduce_the_providers_published_examples() -> None:
    # given the worked example of Aliyun's SMS signature documentation (GET, testId / testSecret)
    aliyun_params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    # and the worked example of Tencent Cloud's signature v3 documentation (CVM DescribeInstances, 2019-02-25)
    tencent_payload = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    tencent_headers = {"content-type": "application/json; charset=utf-8", "host": "cvm.tencentcloudapi.com"}
    # when the stand-ins' own signing code computes them
    aliyun = aliyun_expected_signature("testSecret", "GET", aliyun_params)
    tencent = tencent_expected_signature(
        "Gu5t9xGARNpq86cd98joQYCN3*******",
        tencent_headers,
        ["content-type", "host"],
        tencent_payload,
        1551113065,
        "cvm",
    )
    # then both give the published signatures
    assert aliyun == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert tencent == "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"


# --- loopback stand-ins ------------------------------------------------------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class StandIn:
    """A provider's SendSms endpoint on 127.0.0.1: checks each request, then answers `answer` (status, JSON)."""

    check: Callable[[Received], tuple[int, dict[str, Any]] | None]
    answer: tuple[int, dict[str, Any]]
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def respond(self, request: Received) -> tuple[int, dict[str, Any]]:
        self.received.append(request)
        return self.check(request) or self.answer


def serve(stand_in: StandIn) -> Iterator[StandIn]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, answer = stand_in.respond(Received(headers, body))
            data = json.dumps(answer, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()


def aliyun_check(request: Received) -> tuple[int, dict[str, Any]] | None:
    """What Dysms checks before sending: the form's signature with the key's secret, fresh time, unused nonce."""
    params = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
    signature = params.pop("Signature", "")
    refusal = {"RequestId": "stand-in", "HostId": "dysmsapi.aliyuncs.com"}
    if params.get("AccessKeyId") != ALIYUN["access_key_id"]:
        return 404, refusal | {"Code": "InvalidAccessKeyId.NotFound", "Message": "Specified access key is not found."}
    if signature != aliyun_expected_signature(ALIYUN["access_key_secret"], "POST", params):
        return 400, refusal | {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched."}
    sent_at = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    if abs((datetime.now(UTC) - sent_at).total_seconds()) > 900:
        return 400, refusal | {"Code": "InvalidTimeStamp.Expired", "Message": "Specified time stamp is expired."}
    return None


def tencent_check(request: Received) -> tuple[int, dict[str, Any]] | None:
    """What API 3.0 checks: the TC3 Authorization over the signed headers and body, and a fresh timestamp."""
    credential, signed_headers, signature = (
        part.split("=", 1)[1] for part in request.headers["authorization"].removeprefix("TC3-HMAC-SHA256 ").split(", ")
    )
    secret_id, day, service, terminator = credential.split("/")
    timestamp = int(request.headers["x-tc-timestamp"])

    def error(code: str) -> tuple[int, dict[str, Any]]:
        return 200, {"Response": {"Error": {"Code": code, "Message": "stand-in"}, "RequestId": "stand-in"}}

    if secret_id != TENCENT["secret_id"]:
        return error("AuthFailure.SecretIdNotFound")
    if abs(time.time() - timestamp) > 300:
        return error("AuthFailure.SignatureExpire")
    expected = tencent_expected_signature(
        TENCENT["secret_key"], request.headers, signed_headers.split(";"), request.body, timestamp, "sms"
    )
    if (day, service, terminator) != (time.strftime("%Y-%m-%d", time.gmtime(timestamp)), "sms", "tc3_request"):
        return error("AuthFailure.InvalidAuthorization")
    if signature != expected:
        return error("AuthFailure.SignatureFailure")
    return None


ALIYUN_OK = (
    200,
    {
        "Message": "OK",
        "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990",
        "Code": "OK",
        "BizId": "900619746936498440^0",
    },
)
TENCENT_OK = (
    200,
    {
        "Response": {
            "SendStatusSet": [
                {
                    "SerialNo": "5000:1045710669157053657849499619",
                    "PhoneNumber": "+8613912345678",
                    "Fee": 1,
                    "SessionContext": "",
                    "Code": "Ok",
                    "Message": "send success",
                    "IsoCode": "CN",
                }
            ],
            "RequestId": "a0aabda6-cf91-4f3e-a81f-9198114a2279",
        }
    },
)


@pytest.fixture
def aliyun() -> Iterator[StandIn]:
    yield from serve(StandIn(aliyun_check, ALIYUN_OK))


@pytest.fixture
def tencent() -> Iterator[StandIn]:
    yield from serve(StandIn(tencent_check, TENCENT_OK))


def configured(settings: Settings, provider: str, stand_in: StandIn, secret: dict[str, str]) -> Settings:
    """Settings for a provider whose endpoint is the stand-in and whose credentials are in Secrets Manager."""
    client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=json.dumps(secret))
    return settings.model_copy(
        update={"sms_provider": provider, "sms_endpoint": stand_in.url, "sms_secret": SECRET_NAME}
    )


# --- Aliyun ------------------------------------------------------------------------------------------------------


def test_aliyun_sends_the_approved_template_with_its_parameters(aws: Settings, aliyun: StandIn) -> None:
    # given the Aliyun sender, its credentials in Secrets Manager
    sender = AliyunSmsSender(configured(aws, "aliyun", aliyun, ALIYUN))
    # when a deadline reminder goes to a mainland mobile
    message_id = sender.send("+8613912345678", DUE_SOON)
    # then Dysms took it (signature checked) and its BizId is the message id
    assert message_id == "900619746936498440^0"
    params = dict(parse_qsl(aliyun.received[0].body.decode()))
    # and it asked for SendSms of the reminder's template, with our variables, to the number without +86
    assert {name: params[name] for name in ("Action", "Version", "Format", "SignatureMethod", "SignatureVersion")} == {
        "Action": "SendSms",
        "Version": "2017-05-25",
        "Format": "JSON",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
    }
    assert (params["PhoneNumbers"], params["SignName"], params["TemplateCode"]) == (
        "13912345678",
        "靖宇县法制办",
        "SMS_000000001",
    )
    assert json.loads(params["TemplateParam"]) == {"tracking_no": "ZF261127123456", "due": "11月27日17:00"}


def test_aliyun_error_answer_raises_with_its_code(aws: Settings, aliyun: StandIn) -> None:
    # given Dysms refusing the message (a number's daily limit reached), with HTTP 200 as it does
    aliyun.answer = (
        200,
        {"Message": "触发天级流控Permits:10", "RequestId": "r-1", "Code": "isv.BUSINESS_LIMIT_CONTROL"},
    )
    sender = AliyunSmsSender(configured(aws, "aliyun", aliyun, ALIYUN))
    # when a message is sent / then the sender raises with Aliyun's code
    with pytest.raises(SmsError) as raised:
        sender.send("+8613912345678", DUE_SOON)
    assert raised.value.code == "isv.BUSINESS_LIMIT_CONTROL"
    # and the error names neither the number nor the text (it reaches the logs)
    assert "13912345678" not in str(raised.value) and "ZF261127123456" not in str(raised.value)


# --- Tencent -----------------------------------------------------------------------------------------------------


def test_tencent_sends_the_approved_template_with_its_parameters(aws: Settings, tencent: StandIn) -> None:
    # given the Tencent sender, its credentials in Secrets Manager
    sender = TencentSmsSender(configured(aws, "tencent", tencent, TENCENT))
    # when a deadline reminder goes to a mainland mobile
    message_id = sender.send("+8613912345678", DUE_SOON)
    # then the API took it (signature checked) and the serial number is the message id
    assert message_id == "5000:1045710669157053657849499619"
    request = tencent.received[0]
    # and it asked for SendSms of version 2021-01-11 in the configured region
    assert (request.headers["x-tc-action"], request.headers["x-tc-version"], request.headers["x-tc-region"]) == (
        "SendSms",
        "2021-01-11",
        "ap-guangzhou",
    )
    # with the reminder's template, our values in template order, to the number in +86 form
    assert json.loads(request.body) == {
        "PhoneNumberSet": ["+8613912345678"],
        "SmsSdkAppId": "1400000000",
        "SignName": "靖宇县法制办",
        "TemplateId": "1000001",
        "TemplateParamSet": ["ZF261127123456", "11月27日17:00"],
    }


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (
            {"Response": {"Error": {"Code": "FailedOperation.TemplateIncorrectOrUnapproved", "Message": "x"}}},
            "FailedOperation.TemplateIncorrectOrUnapproved",
        ),
        (
            {
                "Response": {
                    "SendStatusSet": [
                        {"SerialNo": "", "PhoneNumber": "+8613912345678", "Code": "LimitExceeded.PhoneNumberDailyLimit"}
                    ],
                    "RequestId": "r-2",
                }
            },
            "LimitExceeded.PhoneNumberDailyLimit",
        ),
    ],
    ids=["request-error", "number-status"],
)
def test_tencent_error_answers_raise_with_their_code(aws: Settings, tencent: StandIn, answer: dict, code: str) -> None:
    # given the API refusing the request, or refusing the number within a successful request
    tencent.answer = (200, answer)
    sender = TencentSmsSender(configured(aws, "tencent", tencent, TENCENT))
    # when a message is sent / then the sender raises with Tencent's code
    with pytest.raises(SmsError) as raised:
        sender.send("+8613912345678", DUE_SOON)
    assert raised.value.code == code


# --- both --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "secret", "refusal"),
    [
        ("aliyun", ALIYUN | {"access_key_secret": "not-the-secret"}, "SignatureDoesNotMatch"),
        ("tencent", TENCENT | {"secret_key": "not-the-key"}, "AuthFailure.SignatureFailure"),
    ],
)
def test_a_wrong_secret_fails_the_providers_signature_check(
    aws: Settings, aliyun: StandIn, tencent: StandIn, provider: str, secret: dict, refusal: str
) -> None:
    # given a sender whose secret is not the one the provider knows
    stand_in = aliyun if provider == "aliyun" else tencent
    sender = sms_sender(configured(aws, provider, stand_in, secret))
    # when it sends / then the provider's signature check refuses it, and the sender raises
    with pytest.raises(SmsError) as raised:
        sender.send("+8613912345678", DUE_SOON)
    assert raised.value.code == refusal and len(stand_in.received) == 1


@pytest.mark.parametrize(("provider", "secret"), [("aliyun", ALIYUN), ("tencent", TENCENT)])
def test_a_rotated_provider_key_is_used_by_the_next_sender_without_a_deploy(
    aws: Settings, aliyun: StandIn, tencent: StandIn, provider: str, secret: dict
) -> None:
    # given the provider's key rotated in its console, the secret still holding the old one
    stand_in = aliyun if provider == "aliyun" else tencent
    old = {name: f"old-{value}" for name, value in secret.items()}
    settings = configured(aws, provider, stand_in, old)
    with pytest.raises(SmsError):
        sms_sender(settings).send("+8613912345678", DUE_SOON)
    # when the runbook's step puts the new key in the secret (`aws secretsmanager put-secret-value`)
    client("secretsmanager").put_secret_value(SecretId=SECRET_NAME, SecretString=json.dumps(secret))
    # then the next batch's sender (made per batch, reading the secret afresh) sends with it
    assert sms_sender(settings).send("+8613912345678", DUE_SOON)
    assert len(stand_in.received) == 2


def test_every_send_is_counted_sent_or_failed_per_provider(
    aws: Settings, aliyun: StandIn, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given the Aliyun sender on Lambda, Dysms taking one message and then refusing one
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "hotspot-dev-routing-SendNotifications")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "hotspot-dev")
    sender = sms_sender(configured(aws, "aliyun", aliyun, ALIYUN))
    sender.send("+8613912345678", DUE_SOON)
    aliyun.answer = (200, {"Message": "x", "RequestId": "r", "Code": "isv.BUSINESS_LIMIT_CONTROL"})
    with pytest.raises(SmsError):
        sender.send("+8613912345678", DUE_SOON)
    # then the log holds one SmsSent and one SmsFailed of the provider, what the failure-rate alarm divides
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    counted = [(name, line["provider"]) for line in lines for name in ("SmsSent", "SmsFailed") if name in line]
    assert counted == [("SmsSent", "aliyun"), ("SmsFailed", "aliyun")]


def test_a_failed_send_is_retried_by_the_consumer_and_then_sent_once(aws: Settings, tencent: StandIn) -> None:
    # given a notice to a complainant whose case was accepted, and Tencent failing at first
    settings = configured(aws, "tencent", tencent, TENCENT)
    notice = notices.SmsNotice(
        kind="accepted",
        phone="+8613912345678",
        values={"tracking_no": "ZF261127123456", "department": "县交警大队", "due": "01月26日"},
        tracking_no="ZF261127123456",
    )
    message = notices.sms_notice_message("notice:ZF261127123456:accepted", notice)
    tencent.answer = (200, {"Response": {"Error": {"Code": "InternalError.Timeout", "Message": "x"}, "RequestId": "r"}})
    sender = sms_sender(settings)
    # when the consumer gets the message / then it fails, so that the queue delivers it again
    with pytest.raises(SmsError):
        notifications.send_notification(settings, message, sender)
    # when Tencent recovers and the message comes again, twice
    tencent.answer = TENCENT_OK
    sent = [notifications.send_notification(settings, Envelope.model_validate_json(message.model_dump_json()), sender)]
    sent.append(notifications.send_notification(settings, message, sender))
    # then it was sent once more and only once, as the acceptance template with its values
    assert sent == [1, 0] and len(tencent.received) == 2
    assert json.loads(tencent.received[1].body)["TemplateId"] == "1000010"
    assert json.loads(tencent.received[1].body)["TemplateParamSet"] == ["ZF261127123456", "县交警大队", "01月26日"]


@pytest.mark.parametrize(
    ("provider", "sender_type"),
    [("sns", SnsSmsSender), ("aliyun", AliyunSmsSender), ("tencent", TencentSmsSender)],
)
def test_the_configured_provider_sends(monkeypatch, provider: str, sender_type: type) -> None:
    # given SMS_PROVIDER set in the environment
    monkeypatch.setenv("SMS_PROVIDER", provider)
    environment_settings.cache_clear()
    try:
        # when the sender is chosen from the settings / then it is that provider's, counted under its name
        sender = sms_sender(get_settings())
        assert isinstance(sender.sender, sender_type) and sender.provider == provider
    finally:
        environment_settings.cache_clear()


def test_an_unknown_provider_is_refused() -> None:
    # given a provider name no sender has / when a sender is chosen / then it is refused, not defaulted
    with pytest.raises(ValueError, match="unknown SMS provider"):
        sms_sender(Settings(sms_provider="twilio"))
