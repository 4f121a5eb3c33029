"""End to end against `hotspot run`: a mail sent with smtplib to the local SMTP listener becomes a complaint,
through S3, the raw bucket's event on the mail queue and the intake's mail handler, and is answered (SES in moto)."""

import smtplib
import time
from collections.abc import Iterator
from email.message import EmailMessage

import boto3
import pytest

from tests.support import Stack, running_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("mail-stack") / "hotspot-run.log") as running:
        yield running


def moto_client(service: str, stack: Stack, region: str = "cn-north-1"):
    return boto3.client(
        service,
        endpoint_url=stack.moto_url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_mail_sent_to_the_smtp_listener_becomes_an_answered_complaint(stack: Stack) -> None:
    # given a GBK-labelled mail from a named sender
    message = EmailMessage()
    message["From"] = "王喆 <wangzhe@163.com>"
    message["To"] = "tousu@hotspot.localhost"
    message["Subject"] = "李堃检查不出示证件"
    message.set_content("县城管局李堃执法不出示执法证，罚款两百元不开收据。", charset="gbk")
    # when any SMTP client sends it to the listener
    with smtplib.SMTP("127.0.0.1", stack.smtp_port, timeout=5) as smtp:
        smtp.send_message(message)
    # then a complaint on the email channel appears with the text, and SES (moto) sends one answer
    dynamodb, ses = moto_client("dynamodb", stack), moto_client("ses", stack, "us-east-1")
    deadline = time.monotonic() + 20
    while True:
        items = dynamodb.scan(
            TableName="hotspot-cases",
            FilterExpression="sk = :case AND channel = :email",
            ExpressionAttributeValues={":case": {"S": "CASE"}, ":email": {"S": "email"}},
        )["Items"]
        sent = ses.get_send_quota()["SentLast24Hours"]
        if items and sent:
            break
        assert time.monotonic() < deadline, "no complaint or no answer within 20 s"
        time.sleep(0.2)
    [item] = items
    assert item["description"]["S"] == "李堃检查不出示证件\n\n县城管局李堃执法不出示执法证，罚款两百元不开收据。"
    assert sent == 1
