"""Questions (咨询) in a real browser: headless chromium against `hotspot run`.

A person chooses 我要咨询 on the intake page (with and without JavaScript) and gets a question's receipt; the
running stack routes it to the department named; that department's officer answers it on the console; the status
page shows the answer. Then the county legal office publishes the answered question from the console, and the
public answers page shows it.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.test_intake_page_browser import browser, wait_for
from tests.browser.test_staff_console_browser import call, sign_in, take, until
from tests.support import Stack, running_stack, staff_token

QUESTION = "请问县交警大队处理交通违法，被扣分后多久可以申请行政复议？"
ANSWER = "可以自知道该行政行为之日起六十日内，向县人民政府申请行政复议。"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack") / "hotspot-run.log") as running:
        yield running


@pytest.fixture(params=[True, False], ids=["javascript", "no-javascript"])
def phone(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WebDriver]:
    driver = browser(tmp_path / "profile", request.param)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def tablet(tmp_path: Path) -> Iterator[WebDriver]:
    driver = browser(tmp_path / "tablet", javascript=True)
    driver.set_window_size(1024, 768)
    try:
        yield driver
    finally:
        driver.quit()


def routed(stack: Stack, number: str, token: str) -> dict:
    return until(
        lambda: (found := call(stack, "GET", f"/cases/{number}", token)["case"])["status"] == "routed" and found,
        "the question routed",
    )


def test_a_person_chooses_to_ask_and_the_status_page_shows_the_answer(
    stack: Stack, phone: WebDriver, tablet: WebDriver, tmp_path: Path
) -> None:
    # given the intake page on a small phone, offering 我要投诉 and 我要咨询
    phone.get(f"{stack.url}/intake/")
    choices = {item.get_attribute("value"): item for item in phone.find_elements(By.CSS_SELECTOR, "input[name=kind]")}
    assert list(choices) == ["complaint", "question"]
    assert "我要咨询" in phone.find_element(By.ID, "kind").text
    # when the person chooses 我要咨询, writes the question and submits it
    choices["question"].click()
    phone.find_element(By.ID, "description").send_keys(QUESTION)
    phone.find_element(By.CSS_SELECTOR, "#complaint-form button[type=submit]").click()
    # then the receipt is a question's, with its number and code
    assert wait_for(phone, "#receipt-heading").text == "您的咨询已收到"
    number = phone.find_element(By.ID, "tracking-no").text
    code = phone.find_element(By.ID, "verification-code").text
    # and the running stack routes it as a question to the traffic police under the answer deadline
    fzb = staff_token(stack, "county_admin")
    case = routed(stack, number, fzb)
    assert (case["kind"], case["department"], case["due_kind"]) == ("question", "JJDD", "answer")
    # when the traffic police's officer answers it on the console
    sign_in(tablet, stack, staff_token(stack, "dept_officer", "JJDD"))
    wait_for(tablet, "#queue")
    tablet.get(f"{stack.url}/cases/console/{number}")
    assert wait_for(tablet, "#kind").text.startswith("咨询")
    take(tablet, "answer", {"answer": ANSWER})
    assert tablet.find_element(By.ID, "answer").text == ANSWER
    # then the status page, filled in by hand, shows the question answered and the answer
    phone.get(f"{stack.url}/intake/status")
    phone.find_element(By.ID, "no").send_keys(number)
    phone.find_element(By.ID, "code").send_keys(code)
    phone.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    assert wait_for(phone, "#status-name").text == "已答复"
    assert phone.find_element(By.ID, "progress-heading").text == f"咨询 {number}"
    assert phone.find_element(By.ID, "answer").text == ANSWER
    phone.save_screenshot(str(tmp_path / "answered.png"))


def test_the_county_office_publishes_an_answer_and_the_answers_page_shows_it(stack: Stack, tablet: WebDriver) -> None:
    # given a question answered by the traffic police through the API
    number = call(stack, "POST", "/intake/complaints", body={"kind": "question", "description": QUESTION})[
        "tracking_no"
    ]
    fzb = staff_token(stack, "county_admin")
    case = routed(stack, number, fzb)
    officer = staff_token(stack, "dept_officer", "JJDD")
    call(stack, "POST", f"/cases/{number}/actions/answer", officer, {"version": case["version"], "answer": ANSWER})
    # when the county legal office generates the redacted draft on the console, approves and publishes it
    sign_in(tablet, stack, fzb)
    wait_for(tablet, "#queue")
    tablet.get(f"{stack.url}/cases/console/{number}")
    assert wait_for(tablet, "#publication-heading").text == "咨询答复公开"
    tablet.find_element(By.CSS_SELECTOR, "#publication_draft button[type=submit]").click()
    for step in ("publication_approve", "publication_publish"):
        wait_for(tablet, f"#{step} button[type=submit]").click()
    assert wait_for(tablet, '#publication-state[data-state="published"]').text == "已公开"
    # then the public answers page shows the question, the answer and the department, without the number
    tablet.get(f"{stack.url}/intake/answers")
    page = wait_for(tablet, "main").text
    assert QUESTION in page and ANSWER in page and "县公安局交通警察大队" in page and number not in page
    # and its feed for the media has the same answer
    feed = call(stack, "GET", "/intake/answers.json")["items"]
    assert any(item["answer"] == ANSWER and item["question"] == QUESTION for item in feed)
