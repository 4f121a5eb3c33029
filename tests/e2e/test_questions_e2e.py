"""Questions (咨询) end to end over HTTP against `hotspot run`: a question by SMS and one by JSON, neither saying
what it is, filed and routed as questions by the running stack's queues; answered by the department's officer; the
notice sent to the asker (recorded on the case); the answer on the status page; published by the county legal
office on the public answers page and its feed."""

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.support import Stack, running_stack, staff_token

SMS_QUESTION = "对行政执法部门作出的决定不服，应该向哪里申请行政复议，期限是多长时间？"
JSON_QUESTION = "请问县交警大队处理交通违法，被扣分后多久可以申请复议？"
ANSWER = "可以自知道该行政行为之日起六十日内，向县人民政府申请行政复议。"
WAIT_SECONDS = 30


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack") / "hotspot-run.log") as running:
        yield running


def until(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while not (value := condition()):
        assert time.monotonic() < deadline, f"not within {WAIT_SECONDS} s: {what}"
        time.sleep(0.2)
    return value


def staff(stack: Stack, token: str, method: str, path: str, body: dict | None = None) -> dict:
    response = requests.request(
        method, f"{stack.url}/cases{path}", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.ok, response.text
    answer: dict = response.json()
    return answer


def test_a_question_by_sms_is_filed_routed_answered_and_the_asker_told(stack: Stack) -> None:
    # given a text to the campaign's SMS number that asks where and how long to apply for review
    push = [
        {
            "phone_number": "13912345678",
            "send_time": "2026-05-20 10:00:00",
            "content": SMS_QUESTION,
            "sign_name": "靖宇县法制办",
            "dest_code": "1234",
            "sequence_id": 9001,
        }
    ]
    # when the provider pushes it to the running stack
    pushed = requests.post(f"{stack.url}/intake/sms/aliyun", params={"token": "local-sms-token"}, json=push, timeout=5)
    assert pushed.status_code == 200, pushed.text
    # then the stack routes it as a question to the county legal office, under the answer deadline
    fzb = staff_token(stack, "county_admin")

    def queued() -> list[dict]:
        items = staff(stack, fzb, "GET", "/?department=FZB&status=routed&channel=sms")["items"]
        return [item for item in items if item["kind"] == "question"]

    [item] = until(queued, "the SMS question routed")
    assert item["due_kind"] == "answer"
    # when the county legal office answers it
    number = item["tracking_no"]
    staff(stack, fzb, "POST", f"/{number}/actions/answer", {"version": item["version"], "answer": ANSWER})

    # then the asker's SMS that it is answered is sent and recorded on the case
    def told() -> bool:
        notices = staff(stack, fzb, "GET", f"/{number}")["notices"]
        return any(n["kind"] == "answered" and n["channel"] == "sms" and n.get("state") == "sent" for n in notices)

    until(told, "the answer's SMS sent")


def test_a_question_by_json_is_answered_shown_on_the_status_page_and_published(stack: Stack) -> None:
    # given a question about the traffic police submitted as JSON without saying it is one
    receipt = requests.post(f"{stack.url}/intake/complaints", json={"description": JSON_QUESTION}, timeout=5).json()

    def status() -> dict:
        params = {"code": receipt["verification_code"]}
        answer: dict = requests.get(
            f"{stack.url}/intake/complaints/{receipt['tracking_no']}", params=params, timeout=5
        ).json()
        return answer

    # when the stack routes it
    shown = until(lambda: (found := status())["status"] == "routed" and found, "the question routed")
    # then it is a question of the traffic police
    assert (shown["kind"], shown["department"]["code"], shown["due_kind"]) == ("question", "JJDD", "answer")
    # when the traffic police's officer answers it
    number = receipt["tracking_no"]
    officer = staff_token(stack, "dept_officer", "JJDD")
    version = staff(stack, officer, "GET", f"/{number}")["case"]["version"]
    staff(stack, officer, "POST", f"/{number}/actions/answer", {"version": version, "answer": ANSWER})
    # then the status page shows the answer
    answered = status()
    assert (answered["status_name"], answered["answer"]) == ("已答复", ANSWER) and answered["answered_at"]
    # when the county legal office drafts, approves and publishes it
    fzb = staff_token(stack, "county_admin")
    version = staff(stack, fzb, "GET", f"/{number}")["case"]["version"]
    for step in ("", "/approve", "/publish"):
        version = staff(stack, fzb, "POST", f"/{number}/publication{step}", {"version": version})["version"]
    # then the feed the media take and the public page show the question and the answer
    feed = requests.get(f"{stack.url}/intake/answers.json", timeout=5).json()["items"]
    assert [(item["question"], item["answer"], item["department"]) for item in feed] == [
        (JSON_QUESTION, ANSWER, "县公安局交通警察大队")
    ]
    page = requests.get(f"{stack.url}/intake/answers", timeout=5).text
    assert JSON_QUESTION in page and ANSWER in page and number not in page
