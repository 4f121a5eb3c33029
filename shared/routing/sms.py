"""SMS out. One interface, the provider chosen by configuration (DESIGN.md, section 2).

SNS sends our Chinese text (shared/core/sms_text.py), while the domestic providers, which AWS's China regions need
since SNS cannot text from there, send only templates approved in their consoles, each kind as its template code
and parameters.

- SNS: `Publish` to the phone number, transactional.
- Aliyun Dysms `SendSms` (RPC API, version 2017-05-25): a form POST whose parameters are signed with HMAC-SHA1
  (signature version 1.0) over `POST&%2F&` + the percent-encoded canonical query string, keyed with the
  AccessKey secret followed by `&`. Success is `{"Code": "OK", "BizId": ...}`; anything else is an error.
- Tencent Cloud SMS `SendSms` (API 3.0, version 2021-01-11): a JSON POST signed with TC3-HMAC-SHA256 (a canonical
  request over the content-type and host headers and the body's SHA-256, a key derived from the secret key, the
  UTC date, the service and `tc3_request`). Errors are `{"Response": {"Error": {...}}}`, and each number has its
  own status in `SendStatusSet` (`Code` "Ok" when sent).

Credentials come from a Secrets Manager secret (`sms_secret`), read at the first send. A provider error raises
`SmsError`, so that the notification consumer fails the message: retried, then dead-lettered. Every send is
counted, `SmsSent` or `SmsFailed` per provider (`CountedSmsSender`): the stage's alarm on the failure rate reads them.
"""

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote, urlencode, urlsplit

from pydantic import BaseModel

from shared.core import secrets
from shared.core.aws import client
from shared.core.observability import count
from shared.core.settings import Settings
from shared.core.sms_text import Sms, render, templates

ALIYUN_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
TENCENT_ENDPOINT = "https://sms.tencentcloudapi.com/"
TIMEOUT_SECONDS = 10


class SmsError(RuntimeError):
    """The provider refused or failed a message: its code (never the number or the text) for the logs."""

    def __init__(self, provider: str, code: str, request_id: str = "") -> None:
        super().__init__(f"{provider} SendSms failed: {code} (request {request_id or '-'})")
        self.code = code


class SmsSender(Protocol):
    def send(self, phone: str, sms: Sms) -> str:
        """Send one message to one number (E.164); return the provider's message id."""
        ...


class SnsSmsSender:
    def send(self, phone: str, sms: Sms) -> str:
        response = client("sns").publish(
            PhoneNumber=phone,
            Message=render(sms),
            MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
        )
        return str(response["MessageId"])


# --- Aliyun Dysms ------------------------------------------------------------------------------------------------


class AliyunCredentials(BaseModel):
    access_key_id: str
    access_key_secret: str


def aliyun_encode(value: str) -> str:
    """Aliyun's percent-encoding: RFC 3986, UTF-8, only A-Z a-z 0-9 - _ . ~ left as they are."""
    return quote(value, safe="~")


def aliyun_signature(secret: str, method: str, params: dict[str, str]) -> str:
    """Signature version 1.0 of an RPC request: HMAC-SHA1 over the method, '/' and the sorted parameters."""
    canonical = "&".join(f"{aliyun_encode(key)}={aliyun_encode(params[key])}" for key in sorted(params))
    to_sign = f"{method}&{aliyun_encode('/')}&{aliyun_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def aliyun_phone(phone: str) -> str:
    """Dysms takes mainland numbers as 11 digits, others with their country code and no '+'."""
    return phone.removeprefix("+86") if phone.startswith("+86") else phone.removeprefix("+")


class AliyunSmsSender:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._endpoint = settings.sms_endpoint or ALIYUN_ENDPOINT
        self._credentials: AliyunCredentials | None = None

    def send(self, phone: str, sms: Sms) -> str:
        credentials = self._credentials = self._credentials or AliyunCredentials.model_validate(
            secrets.get_json(self._settings.sms_secret)
        )
        template = templates().providers.aliyun.templates[sms.kind]
        params = {
            "AccessKeyId": credentials.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "Version": "2017-05-25",
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": str(uuid.uuid4()),
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "PhoneNumbers": aliyun_phone(phone),
            "SignName": templates().sign_name,
            "TemplateCode": template.code,
            "TemplateParam": json.dumps(
                {name: sms.values[placeholder] for name, placeholder in template.params.items()}, ensure_ascii=False
            ),
        }
        params["Signature"] = aliyun_signature(credentials.access_key_secret, "POST", params)
        answer = _post(
            self._endpoint,
            urlencode(params).encode(),
            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        if answer.get("Code") != "OK":
            raise SmsError("aliyun", str(answer.get("Code", "no code")), str(answer.get("RequestId", "")))
        return str(answer["BizId"])


# --- Tencent Cloud SMS -------------------------------------------------------------------------------------------


class TencentCredentials(BaseModel):
    secret_id: str
    secret_key: str


def tencent_authorization(
    secret_id: str, secret_key: str, service: str, host: str, content_type: str, payload: bytes, timestamp: int
) -> str:
    """The Authorization header of a TC3-HMAC-SHA256 signed POST with no query string."""
    day = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical_request = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{content_type.lower()}\nhost:{host.lower()}\n",
            "content-type;host",
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    scope = f"{day}/{service}/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    key = f"TC3{secret_key}".encode()
    for part in (day, service, "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"


def tencent_phone(phone: str) -> str:
    """E.164, as PhoneNumberSet documents it: a bare mainland mobile gets +86."""
    return phone if phone.startswith("+") else f"+86{phone}"


class TencentSmsSender:
    CONTENT_TYPE = "application/json; charset=utf-8"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._endpoint = settings.sms_endpoint or TENCENT_ENDPOINT
        self._credentials: TencentCredentials | None = None

    def send(self, phone: str, sms: Sms) -> str:
        credentials = self._credentials = self._credentials or TencentCredentials.model_validate(
            secrets.get_json(self._settings.sms_secret)
        )
        provider = templates().providers.tencent
        template = provider.templates[sms.kind]
        payload = json.dumps(
            {
                "PhoneNumberSet": [tencent_phone(phone)],
                "SmsSdkAppId": provider.sdk_app_id,
                "SignName": templates().sign_name,
                "TemplateId": template.code,
                "TemplateParamSet": [sms.values[placeholder] for placeholder in template.params],
            },
            ensure_ascii=False,
        ).encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": self.CONTENT_TYPE,
            "X-TC-Action": "SendSms",
            "X-TC-Version": "2021-01-11",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": provider.region,
            "Authorization": tencent_authorization(
                credentials.secret_id,
                credentials.secret_key,
                "sms",
                urlsplit(self._endpoint).netloc,
                self.CONTENT_TYPE,
                payload,
                timestamp,
            ),
        }
        response = _post(self._endpoint, payload, headers).get("Response", {})
        request_id = str(response.get("RequestId", ""))
        if "Error" in response:
            raise SmsError("tencent", str(response["Error"].get("Code", "no code")), request_id)
        statuses = response.get("SendStatusSet") or [{}]
        if statuses[0].get("Code") != "Ok":
            raise SmsError("tencent", str(statuses[0].get("Code", "no status")), request_id)
        return str(statuses[0]["SerialNo"])


def _post(url: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """POST and read the JSON answer; the providers answer errors in JSON too, under HTTP 4xx or 5xx."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        # The URL is the provider's https endpoint or SMS_ENDPOINT from configuration, never request input.
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # nosec B310
            raw = response.read()
    except urllib.error.HTTPError as error:
        raw = error.read()
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise SmsError(urlsplit(url).netloc, "unreadable answer")
    return answer


class CountedSmsSender:
    """A provider's sender whose every send is counted: `SmsSent`, or `SmsFailed` when it raises (the failure-rate
    alarm of infra/cdk/service_stack.py divides them)."""

    def __init__(self, provider: str, sender: SmsSender) -> None:
        self.provider = provider
        self.sender = sender

    def send(self, phone: str, sms: Sms) -> str:
        try:
            message_id = self.sender.send(phone, sms)
        except Exception:
            count("SmsFailed", provider=self.provider)
            raise
        count("SmsSent", provider=self.provider)
        return message_id


def _provider_sender(settings: Settings) -> SmsSender:
    if settings.sms_provider == "sns":
        return SnsSmsSender()
    if settings.sms_provider == "aliyun":
        return AliyunSmsSender(settings)
    if settings.sms_provider == "tencent":
        return TencentSmsSender(settings)
    raise ValueError(f"unknown SMS provider {settings.sms_provider!r}")


def sms_sender(settings: Settings) -> CountedSmsSender:
    return CountedSmsSender(settings.sms_provider, _provider_sender(settings))
