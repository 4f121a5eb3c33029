"""SMS out. One interface, the provider chosen by configuration (DESIGN.md, section 2).

SNS is the sender on global AWS and in the local stack; Aliyun and Tencent senders join it for the
China regions, which have no SNS SMS.
"""

from typing import Protocol

from shared.aws import client
from shared.settings import Settings


class SmsSender(Protocol):
    def send(self, phone: str, text: str) -> str:
        """Send one message; return the provider's message id."""
        ...


class SnsSmsSender:
    def send(self, phone: str, text: str) -> str:
        response = client("sns").publish(
            PhoneNumber=phone,
            Message=text,
            MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
        )
        return str(response["MessageId"])


def sms_sender(settings: Settings) -> SmsSender:
    if settings.sms_provider == "sns":
        return SnsSmsSender()
    raise ValueError(f"unknown SMS provider {settings.sms_provider!r}")
