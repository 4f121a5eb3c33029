"""The staff console in a real browser: headless chromium against `hotspot run`, a case from routed to closed.

A complaint is filed through the public JSON API and routed by the running stack; the routed department's
officer logs in with a development token from `hotspot token` and takes the case through every step on the
console, on a tablet-sized window. The complainant's SMS are read back from the case (the notices the
notification sender records on it). Then the county legal office marks a closed case typical, drafts, approves
and publishes it on the console, and the public page of typical cases shows it.
"""

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select

from tests.browser.test_intake_page_browser import browser, wait_for
from tests.support import Stack, running_stack, staff_token

DESCRIPTION = "县交警大队的执法人员在东街路口查车，罚款两百元不开罚款收据，也没有出示执法证。"
WAIT_SECONDS = 20


def call(stack: Stack, method: str, path: str, token: str | None = None, body: dict | None = None) -> dict:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
    request = urllib.request.Request(f"{stack.url}{path}", data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict = json.loads(response.read())
        return answer


def until(condition, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {WAIT_SECONDS} s: {what}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack") / "hotspot-run.log") as running:
        yield running


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[WebDriver]:
    chromium = browser(tmp_path / "profile", javascript=True)
    chromium.set_window_size(1024, 768)  # a tablet in landscape
    try:
        yield chromium
    finally:
        chromium.quit()


def sign_in(driver: WebDriver, stack: Stack, token: str) -> None:
    """Log in on the console with a development token (the login page's second way in)."""
    driver.get(f"{stack.url}/cases/console/login")
    driver.find_element(By.CSS_SELECTOR, "#login-form details summary").click()
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()


def take(driver: WebDriver, action: str, texts: dict[str, str] | None = None, choices: dict[str, str] | None = None):
    """Open the action's form (a details element), fill it in and post it; wait for the case page again."""
    form = driver.find_element(By.ID, f"action-{action}")
    details = form.find_element(By.XPATH, "..")
    if details.get_attribute("open") is None:
        details.find_element(By.TAG_NAME, "summary").click()
    for name, value in (texts or {}).items():
        form.find_element(By.NAME, name).send_keys(value)
    for name, value in (choices or {}).items():
        Select(form.find_element(By.NAME, name)).select_by_value(value)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    until(lambda: driver.find_elements(By.CSS_SELECTOR, f"#timeline li[data-action={action}]"), f"{action} shown")


def test_an_officer_takes_a_routed_case_to_closed_on_the_console(
    stack: Stack, driver: WebDriver, tmp_path: Path
) -> None:
    # given a complaint filed through the public API by a person who wants SMS, routed by the running stack
    complaint = {
        "description": DESCRIPTION,
        "complainant": {"name": "李明", "phone": "13912345678", "notify_by": ["sms"]},
    }
    number = call(stack, "POST", "/intake/complaints", body=complaint)["tracking_no"]
    fzb = staff_token(stack, "county_admin")
    case = until(
        lambda: (found := call(stack, "GET", f"/cases/{number}", fzb)["case"])["status"] == "routed" and found,
        "the complaint routed",
    )
    token = staff_token(stack, "dept_officer", case["department"])
    # when the routed department's officer logs in on the console with a development token
    sign_in(driver, stack, token)
    # then the queue lists the case; it opens from there
    link = wait_for(driver, f'#queue tr[data-tracking-no="{number}"] a')
    assert "开发人员" in driver.find_element(By.ID, "me").text
    link.click()
    assert wait_for(driver, "#tracking-no").text == number
    assert "受理期限" in driver.find_element(By.ID, "deadlines").text
    # when the officer accepts, investigates, decides with no follow-up measure, replies and closes it
    take(driver, "accept")
    assert "办理答复期限" in driver.find_element(By.ID, "deadlines").text
    take(driver, "start_investigation")
    take(driver, "decide", {"summary": "经查属实，已对当事执法人员追责。"}, {"finding": "substantiated"})
    take(driver, "reply", {"message": "经调查，您反映的问题属实，已责成整改并追究相关人员责任。"})
    take(driver, "close")
    driver.save_screenshot(str(tmp_path / "closed.png"))
    # then the case is closed and each step is on the timeline, in order, with what was decided
    assert driver.find_element(By.ID, "status").text == "已办结"
    steps = [item.get_attribute("data-action") for item in driver.find_elements(By.CSS_SELECTOR, "#timeline li")]
    assert steps[-5:] == ["accept", "start_investigation", "decide", "reply", "close"]
    timeline = driver.find_element(By.ID, "timeline").text
    assert "属实" in timeline and "已责成整改" in timeline
    # and what a closed case still allows is offered: a review request within the window, not another close
    assert driver.find_elements(By.ID, "action-reopen_for_review") and not driver.find_elements(By.ID, "action-close")

    # and the complainant's SMS of the acceptance and of the reply are recorded on the case as sent
    def sent() -> set[str]:
        notices = call(stack, "GET", f"/cases/{number}", fzb).get("notices", [])
        return {n["kind"] for n in notices if n.get("channel") == "sms" and n.get("state") == "sent"}

    assert until(lambda: {"accepted", "reply"} <= sent(), "the acceptance and reply SMS recorded")
    driver.refresh()
    shown = driver.find_element(By.ID, "notices").text
    assert "已受理 · 短信 · 已发送" in shown and "答复结果 · 短信 · 已发送" in shown


def closed_case(stack: Stack, fzb: str) -> str:
    """A complaint filed, routed by the running stack and taken to closed by its officer through the API."""
    number = call(stack, "POST", "/intake/complaints", body={"description": DESCRIPTION})["tracking_no"]
    case = until(
        lambda: (found := call(stack, "GET", f"/cases/{number}", fzb)["case"])["status"] == "routed" and found,
        "the complaint routed",
    )
    officer = staff_token(stack, "dept_officer", case["department"])
    steps = [
        ("accept", {}),
        ("start_investigation", {}),
        ("decide", {"finding": "substantiated", "summary": "经查属实，已责令退还罚款。"}),
        ("reply", {"message": "经查属实，已责令退还罚款并对执法人员批评教育。"}),
        ("close", {}),
    ]
    version = case["version"]
    for action, fields in steps:
        version = call(stack, "POST", f"/cases/{number}/actions/{action}", officer, {"version": version, **fields})[
            "case"
        ]["version"]
    return str(number)


def test_the_county_office_publishes_a_closed_case_as_typical_from_the_console(stack: Stack, driver: WebDriver) -> None:
    # given a closed case, and the county legal office signed in to the console
    fzb = staff_token(stack, "county_admin")
    number = closed_case(stack, fzb)
    sign_in(driver, stack, fzb)
    wait_for(driver, "#queue")
    driver.get(f"{stack.url}/cases/console/{number}")
    # when it marks the case a positive typical case, generates the redacted draft, approves and publishes it
    take(driver, "mark_typical", choices={"kind": "positive"})
    driver.find_element(By.CSS_SELECTOR, "#publication_draft button[type=submit]").click()
    for step in ("publication_approve", "publication_publish"):
        wait_for(driver, f"#{step} button[type=submit]").click()  # offered once the step before it is done
    assert wait_for(driver, '#publication-state[data-state="published"]').text == "已公开"
    # then each step is on the timeline
    steps = [item.get_attribute("data-action") for item in driver.find_elements(By.CSS_SELECTOR, "#timeline li")]
    assert steps[-4:] == ["mark_typical", "publication_draft", "publication_approve", "publication_publish"]
    # and the public page lists the case with its text and outcome, without the tracking number
    driver.get(f"{stack.url}/intake/cases/published")
    page = wait_for(driver, "main").text
    assert "正面典型" in page and DESCRIPTION in page and "已责令退还罚款" in page and number not in page


def test_the_county_office_follows_a_dashboard_bar_to_the_queue(
    stack: Stack, driver: WebDriver, tmp_path: Path
) -> None:
    # given a complaint filed and routed by the running stack, whose reporting service counts it
    number = call(stack, "POST", "/intake/complaints", body={"description": DESCRIPTION})["tracking_no"]
    fzb = staff_token(stack, "county_admin")
    case = until(
        lambda: (found := call(stack, "GET", f"/cases/{number}", fzb)["case"])["status"] == "routed" and found,
        "the complaint routed",
    )
    # when the county legal office opens the dashboard from the console's navigation
    sign_in(driver, stack, fzb)
    wait_for(driver, "#dashboard-link").click()
    row = f'#categories tr[data-code="{case["category"]}"]'

    def counted() -> bool:
        driver.refresh()
        return int(wait_for(driver, f"{row} [data-figure=value]").text) >= 1

    # then the bar of the case's category counts it, in figures a screen reader and a printout get as text
    until(counted, "the complaint counted on the dashboard")
    driver.save_screenshot(str(tmp_path / "dashboard.png"))
    # when the bar's link is followed
    driver.find_element(By.CSS_SELECTOR, f"{row} a").click()
    # then the queue is filtered by that category and lists the case
    wait_for(driver, f'#queue tr[data-tracking-no="{number}"]')
    assert (
        Select(driver.find_element(By.ID, "f-category")).first_selected_option.get_attribute("value")
        == case["category"]
    )
