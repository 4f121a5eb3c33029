"""The call-back page and an opinion form in a real browser (headless chromium against `hotspot run`, on a small
phone, without JavaScript: both are plain forms).

A complaint with a mobile is filed through the public API, routed by the running stack and replied to by its
officer through the case API; the complainant opens the link of the call-back notice, gets a wrong code refused,
then rates the handling. The county legal office creates a survey; an enterprise opens one of its links, rates two
departments and describes a problem, and the same link is refused afterwards. On the console, the county legal
office creates a survey, reads an answer and files it as a complaint.
"""

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select

from tests.browser.test_intake_page_browser import browser, wait_for
from tests.browser.test_staff_console_browser import DESCRIPTION, call, sign_in, until
from tests.support import Stack, running_stack, staff_token


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack") / "hotspot-run.log") as running:
        yield running


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[WebDriver]:
    chromium = browser(tmp_path / "profile", javascript=False)
    try:
        yield chromium
    finally:
        chromium.quit()


def replied_case(stack: Stack) -> tuple[str, str, str]:
    """A complaint with a mobile, routed and replied to; its number, code and the county office's token."""
    complaint = {"description": DESCRIPTION, "complainant": {"name": "李明", "phone": "13912345678"}}
    receipt = call(stack, "POST", "/intake/complaints", body=complaint)
    number = receipt["tracking_no"]
    fzb = staff_token(stack, "county_admin")
    case = until(
        lambda: (found := call(stack, "GET", f"/cases/{number}", fzb)["case"])["status"] == "routed" and found,
        "the complaint routed",
    )
    officer = staff_token(stack, "dept_officer", case["department"])
    version = case["version"]
    for action, fields in [
        ("accept", {}),
        ("start_investigation", {}),
        ("decide", {"finding": "unsubstantiated", "summary": "经查，罚款有依据。"}),
        ("reply", {"message": "经查，罚款有法律依据，票据已补开。"}),
    ]:
        answer = call(stack, "POST", f"/cases/{number}/actions/{action}", officer, {"version": version, **fields})
        version = answer["case"]["version"]
    return number, receipt["verification_code"], fzb


def test_the_complainant_rates_the_handling_on_the_link_of_the_call_back(
    stack: Stack, driver: WebDriver, tmp_path: Path
) -> None:
    # given a replied complaint, whose call-back question was sent by SMS with the reply
    number, code, fzb = replied_case(stack)

    def asked() -> bool:
        notices = call(stack, "GET", f"/cases/{number}", fzb).get("notices", [])
        return any(n["kind"] == "callback" and n.get("state") == "sent" for n in notices)

    assert until(asked, "the call-back question sent")
    # when the complainant opens the page the notice links to and gives a wrong code
    driver.get(f"{stack.url}/intake/feedback?no={number}")
    assert driver.find_element(By.ID, "no").get_attribute("value") == number
    wrong = "000000" if code != "000000" else "111111"
    driver.find_element(By.ID, "code").send_keys(wrong)
    driver.find_element(By.ID, "rating-satisfied").click()
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    # then it is refused as the status page refuses it, and the choice is kept
    assert "未找到该投诉，请核对投诉编号和查询码" in wait_for(driver, "#error-feedback").text
    assert driver.find_element(By.ID, "rating-satisfied").is_selected()
    # when the right code is given with 不满意 and a comment
    driver.find_element(By.ID, "code").send_keys(code)
    driver.find_element(By.ID, "rating-dissatisfied").click()
    driver.find_element(By.ID, "comment").send_keys("罚款依据没有说明白。")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    # then the answer is confirmed, with how to ask for a review
    assert wait_for(driver, "#rating-name").text == "不满意"
    assert "申请复查" in driver.find_element(By.ID, "review-hint").text
    driver.save_screenshot(str(tmp_path / "feedback.png"))
    # and the case records it, as the complainant's answer on the web
    callback = call(stack, "GET", f"/cases/{number}", fzb)["case"]["callback"]
    assert (callback["rating"], callback["via"], callback["comment"]) == ("dissatisfied", "web", "罚款依据没有说明白。")


def test_an_enterprise_fills_in_an_opinion_form_once(stack: Stack, driver: WebDriver, tmp_path: Path) -> None:
    # given a survey of three links about the traffic police and market regulation
    fzb = staff_token(stack, "county_admin")
    survey = call(
        stack, "POST", "/reports/surveys", fzb, {"title": "企业座谈会", "links": 3, "departments": ["JJDD", "SCJG"]}
    )
    link = urlsplit(survey["urls"][0])
    # when an enterprise opens its link, rates two aspects, describes a problem and submits
    driver.get(f"{stack.url}{link.path}?{link.query}")
    assert "行政执法工作征求意见表" in driver.find_element(By.TAG_NAME, "h1").text
    assert "县公安局交通警察大队" in driver.find_element(By.ID, "dept-JJDD").text
    Select(driver.find_element(By.ID, "r-JJDD-inspections")).select_by_visible_text("不满意")
    Select(driver.find_element(By.ID, "r-SCJG-licensing")).select_by_visible_text("满意")
    driver.find_element(By.ID, "text").send_keys("交警大队一个月内三次到我公司检查，都没有出示检查通知书。")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    # then it is thanked
    assert "已收到您的意见" in wait_for(driver, "#thanks-heading").text
    driver.save_screenshot(str(tmp_path / "survey.png"))
    # and the same link is refused afterwards
    driver.get(f"{stack.url}{link.path}?{link.query}")
    assert "只能提交一次" in wait_for(driver, "#error-survey").text
    # and the county legal office reads the anonymous answer
    detail = call(stack, "GET", f"/reports/surveys/{survey['id']}", fzb)
    assert detail["answered"] == 1 and detail["issued"] == 3
    assert detail["answers"][0]["ratings"] == {
        "JJDD": {"inspections": "dissatisfied"},
        "SCJG": {"licensing": "satisfied"},
    }


def test_the_county_office_creates_a_survey_and_files_an_answer_on_the_console(
    stack: Stack, driver: WebDriver, tmp_path: Path
) -> None:
    # given the county legal office signed in to the console
    fzb = staff_token(stack, "county_admin")
    driver.set_window_size(1024, 768)
    sign_in(driver, stack, fzb)
    wait_for(driver, "#surveys-link").click()
    # when it creates a survey of five links on the survey page
    driver.find_element(By.ID, "title").send_keys("走访企业")
    links = driver.find_element(By.ID, "links")
    links.clear()
    links.send_keys("5")
    driver.find_element(By.CSS_SELECTOR, "#create-survey button[type=submit]").click()
    # then its page shows five issued and a link to the printable sheet
    assert wait_for(driver, "#survey-figures [data-figure=issued]").text == "5"
    assert "links.pdf" in driver.find_element(By.ID, "sheet-link").get_attribute("href")
    survey_url = driver.current_url
    survey_id = survey_url.rstrip("/").rsplit("/", 1)[-1]
    detail = call(stack, "GET", f"/reports/surveys/{survey_id}", fzb)
    assert detail["issued"] == 5 and detail["answered"] == 0
    # when an enterprise answers with a concrete problem on a link of a second survey (a survey's links are given
    # only when it is created: this one's by the API, which answers them)
    other = call(stack, "POST", "/reports/surveys", fzb, {"title": "走访企业（二）", "links": 1})
    answer = urlsplit(other["urls"][0])
    driver.get(f"{stack.url}{answer.path}?{answer.query}")
    Select(driver.find_element(By.ID, "r-SWJ-fees")).select_by_visible_text("不满意")
    driver.find_element(By.ID, "text").send_keys("税务分局办理退税时要求我们先交一笔“服务费”，没有收据。")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(driver, "#thanks-heading")
    # and the county office opens that survey on the console and files the answer as a complaint
    other_id = other["id"]
    driver.get(survey_url.replace(survey_id, other_id))
    assert "服务费" in wait_for(driver, "#answers").text
    driver.find_element(By.CSS_SELECTOR, "#file-1 button[type=submit]").click()
    # then the new complaint's case page opens, from the survey channel, naming the form it came from
    assert wait_for(driver, "#source-ref").text == f"survey:{other_id}/1"
    number = driver.find_element(By.ID, "tracking-no").text
    driver.save_screenshot(str(tmp_path / "filed.png"))
    # and the survey's page now links the answer to the complaint
    driver.get(survey_url.replace(survey_id, other_id))
    assert f"已登记为投诉 {number}" in wait_for(driver, "#answers").text
