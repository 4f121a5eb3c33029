"""End to end against `hotspot run`: a mail sent with smtplib to the local SMTP listener becomes a complaint,
through S3, the raw bucket's event on the mail queue and the intake's mail handler, and is answered (SES in moto)."""

import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import boto3
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    ports = {"port": free_port(), "moto": free_port(), "smtp": free_port()}
    log_path = tmp_path_factory.mktemp("mail-stack") / "hotspot-run.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.cli", "run"]
            + [
                f"--{name}={ports[key]}"
                for name, key in (("port", "port"), ("moto-port", "moto"), ("smtp-port", "smtp"))
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log_path.read_text("utf-8", "replace")
            assert time.monotonic() < deadline, log_path.read_text("utf-8", "replace")
            try:
                requests.get(f"http://127.0.0.1:{ports['port']}/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield ports
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def moto_client(service: str, port: int, region: str = "cn-north-1"):
    return boto3.client(
        service,
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_mail_sent_to_the_smtp_listener_becomes_an_answered_complaint(stack: dict[str, int]) -> None:
    # given a GBK-labelled mail from a named sender
    message = EmailMessage()
    message["From"] = "王喆 <wangzhe@163.com>"
    message["To"] = "tousu@hotspot.localhost"
    message["Subject"] = "李堃检查不出示证件"
    message.set_content("县城管局李堃执法不出示执法证，罚款两百元不开收据。", charset="gbk")
    # when any SMTP client sends it to the listener
    with smtplib.SMTP("127.0.0.1", stack["smtp"], timeout=5) as smtp:
        smtp.send_message(message)
    # then a complaint on the email channel appears with the text, and SES (moto) sends one answer
    dynamodb, ses = moto_client("dynamodb", stack["moto"]), moto_client("ses", stack["moto"], "us-east-1")
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
