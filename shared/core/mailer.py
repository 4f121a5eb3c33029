"""Mail out. One interface, the sender chosen by configuration (DESIGN.md, section 2).

SES on global AWS and in the local stack (moto records what it sends); SMTP submission to the county's own
mailbox (e.g. 163.com or a government mail server) in AWS's China regions, which have no SES.
"""

import smtplib
import ssl
from email.message import EmailMessage
from typing import Protocol

from shared.core import secrets
from shared.core.aws import client
from shared.core.settings import Settings

SMTP_TIMEOUT_SECONDS = 10


class MailSender(Protocol):
    def send(self, message: EmailMessage) -> str:
        """Send one message to its To address, from its From address; the id it was sent under."""
        ...


class SesMailSender:
    def __init__(self, region: str = "") -> None:
        self._region = region

    def send(self, message: EmailMessage) -> str:
        # Recipients come from the To header, as SMTP's send_message takes them.
        response = client("ses", self._region).send_raw_email(
            Source=str(message["From"]), RawMessage={"Data": message.as_bytes()}
        )
        return str(response["MessageId"])


class SmtpMailSender:
    """SMTP submission with TLS (implicit on 465, STARTTLS otherwise), credentials from Secrets Manager."""

    def __init__(self, secret_name: str, context: ssl.SSLContext | None = None) -> None:
        self._secret_name = secret_name
        self._context = context or ssl.create_default_context()

    def send(self, message: EmailMessage) -> str:
        """The id is the message's Message-ID: SMTP submission gives none of its own."""
        config = secrets.get_json(self._secret_name)
        host, port = str(config["host"]), int(config.get("port", 465))
        implicit_tls = config.get("security", "ssl" if port == 465 else "starttls") == "ssl"
        smtp: smtplib.SMTP = (
            smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT_SECONDS, context=self._context)
            if implicit_tls
            else smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS)
        )
        with smtp:
            if not implicit_tls:
                smtp.starttls(context=self._context)
            smtp.login(str(config["username"]), str(config["password"]))
            smtp.send_message(message)
        return str(message["Message-ID"] or "")


def mail_sender(settings: Settings) -> MailSender:
    if settings.mail_sender == "ses":
        return SesMailSender(settings.mail_ses_region)
    if settings.mail_sender == "smtp":
        return SmtpMailSender(settings.mail_smtp_secret)
    raise ValueError(f"unknown mail sender {settings.mail_sender!r}")
