"""A full run of the local stack logs no personal data: names, phones, ID numbers, email addresses, through
every public channel (JSON API, web form, SMS, email)."""

import signal
import smtplib
import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
import requests

from tests.support import Stack, running_stack, staff_token

PERSON = {
    "name": "欧阳明珠",
    "phone": "13987654321",
    "email": "mingzhu.ouyang@example.cn",
    "id_number": "11010519491231002X",
}
ENTERPRISE = {"name": "司马青", "organization": "靖宇县青松木业有限公司", "credit_code": "91350100M000100Y43"}
# Also parts of them, as a careless log line might cut or mask them.
SMS_PHONE = "13811112222"
MAIL_SENDER = ("诸葛云", "zhuge.yun@example.cn")
SECRETS = [
    *PERSON.values(),
    *ENTERPRISE.values(),
    "987654321",
    "M000100Y43",
    "mingzhu",
    SMS_PHONE,
    "11112222",
    *MAIL_SENDER,
    "zhuge",
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack") / "run.log", "--fire-schedules-now") as running:
        yield running


def test_a_full_run_logs_no_personal_data(stack: Stack) -> None:
    # given complaints with personal and enterprise identities, one of them invalid
    session = requests.Session()
    accepted = []
    for complainant in (PERSON, ENTERPRISE):
        response = session.post(
            f"{stack.url}/intake/complaints",
            json={"description": "交警在路口查车罚款两百元，不开罚款收据。", "complainant": complainant},
            timeout=5,
        )
        assert response.status_code == 201, response.text
        accepted.append(response.json())
    rejected = session.post(
        f"{stack.url}/intake/complaints",
        json={"description": "有问题", "complainant": {**PERSON, "id_number": "110105194912310021"}},
        timeout=5,
    )
    assert rejected.status_code == 422
    # and the same identities through the web form, an SMS push and a mail
    form = {"description": "城管没收我的三轮车", "who": "person", "name": PERSON["name"], "phone": PERSON["phone"]}
    assert session.post(f"{stack.url}/intake/", data=form, timeout=5).status_code == 201
    push = [{"phone_number": SMS_PHONE, "content": "交警乱罚款", "send_time": "2026-11-27 10:00:00", "sequence_id": 1}]
    assert session.post(f"{stack.url}/intake/sms/aliyun?token=local-sms-token", json=push, timeout=5).status_code == 200
    mail = EmailMessage()
    mail["From"] = f"{MAIL_SENDER[0]} <{MAIL_SENDER[1]}>"
    mail["To"] = "tousu@hotspot.localhost"
    mail["Subject"] = "税务所吃拿卡要"
    mail.set_content("税务所的人暗示我们请客送礼。", charset="gbk")
    with smtplib.SMTP("127.0.0.1", stack.smtp_port, timeout=5) as smtp:
        smtp.send_message(mail)
    # when they are routed, looked up (also with a wrong code) and counted in a report
    deadline = time.monotonic() + 20
    for receipt in accepted:
        url = f"{stack.url}/intake/complaints/{receipt['tracking_no']}"
        while session.get(url, params={"code": receipt["verification_code"]}, timeout=5).json()["status"] != "routed":
            assert time.monotonic() < deadline, "not routed in time"
            time.sleep(0.2)
        assert session.get(url, params={"code": "000000"}, timeout=5).status_code in (404, 200)
    # (the mail is filed and the SMS reply sent by queue consumers: wait until both have run)
    while not all(
        f"{handler}: 1 records, 0 failed" in stack.log() for handler in ("receive_mail", "send_notifications")
    ):
        assert time.monotonic() < deadline, "mail or SMS reply not handled in time"
        time.sleep(0.2)
    token = staff_token(stack, "county_admin")
    assert (
        session.post(f"{stack.url}/reports", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code
        == 201
    )
    stack.process.send_signal(signal.SIGINT)
    stack.process.wait(timeout=10)
    # then the whole log mentions the tracking numbers but none of the personal data
    log = stack.log()
    assert all(receipt["tracking_no"] in log for receipt in accepted)
    leaked = [secret for secret in [*SECRETS, token] if secret in log]
    assert leaked == []
