"""A full run of the local stack logs no personal data: names, phones, ID numbers, email addresses."""

import signal
import time
from collections.abc import Iterator

import pytest
import requests

from tests.support import Stack, running_stack

PERSON = {
    "name": "欧阳明珠",
    "phone": "13987654321",
    "email": "mingzhu.ouyang@example.cn",
    "id_number": "11010519491231002X",
}
ENTERPRISE = {"name": "司马青", "organization": "靖宇县青松木业有限公司", "credit_code": "91350100M000100Y43"}
# Also parts of them, as a careless log line might cut or mask them.
SECRETS = [*PERSON.values(), *ENTERPRISE.values(), "987654321", "M000100Y43", "mingzhu"]


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
    # when they are routed, looked up (also with a wrong code) and counted in a report
    deadline = time.monotonic() + 20
    for receipt in accepted:
        url = f"{stack.url}/intake/complaints/{receipt['tracking_no']}"
        while session.get(url, params={"code": receipt["verification_code"]}, timeout=5).json()["status"] != "routed":
            assert time.monotonic() < deadline, "not routed in time"
            time.sleep(0.2)
        assert session.get(url, params={"code": "000000"}, timeout=5).status_code in (404, 200)
    assert session.post(f"{stack.url}/reports", timeout=10).status_code == 201
    stack.process.send_signal(signal.SIGINT)
    stack.process.wait(timeout=10)
    # then the whole log mentions the tracking numbers but none of the personal data
    log = stack.log()
    assert all(receipt["tracking_no"] in log for receipt in accepted)
    leaked = [secret for secret in SECRETS if secret in log]
    assert leaked == []
