"""The citizen web page in a real browser: Debian's headless chromium and chromedriver against `hotspot run`.

Run once with JavaScript (uploads through fetch) and once without (the plain forms: a file posted straight to
S3, which redirects back to the page). The browser and its driver come from Debian's packages (chromium,
chromium-driver; `.ci/run` installs them); Selenium is given both paths, so it never downloads either.
"""

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from tests.support import Stack, running_stack

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DESCRIPTION = "县交警大队的执法人员在东街路口查车，罚款两百元不开罚款收据，也没有出示执法证。"
WAIT_SECONDS = 15


def png(path: Path) -> Path:
    """A real 2x2 red PNG, made here."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    )
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack") / "hotspot-run.log") as running:
        yield running


def browser(profile: Path, javascript: bool) -> WebDriver:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--window-size=390,844",  # a small phone
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))


@pytest.fixture(params=[True, False], ids=["javascript", "no-javascript"])
def page(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[WebDriver, bool]]:
    driver = browser(tmp_path / "profile", request.param)
    try:
        yield driver, request.param
    finally:
        driver.quit()


def wait_for(driver: WebDriver, css: str):
    return WebDriverWait(driver, WAIT_SECONDS).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def attach(driver: WebDriver, javascript: bool, file: Path) -> None:
    if javascript:
        # the picker is shown by the script; the file goes to S3 by fetch and comes back as a hidden input
        driver.find_element(By.ID, "file-input").send_keys(str(file))
    else:
        # the plain upload form posts to S3, which redirects back to the page with the file's key
        Select(driver.find_element(By.ID, "upload-type")).select_by_value("image/png")
        driver.find_element(By.ID, "upload-file").send_keys(str(file))
        driver.find_element(By.CSS_SELECTOR, "form.upload button").click()
    wait_for(driver, "#attachment-list li")
    WebDriverWait(driver, WAIT_SECONDS).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#complaint-form input[name=attachment]")
    )


def test_a_complaint_with_a_photo_gets_numbers_that_the_status_page_finds(
    stack: Stack, page: tuple[WebDriver, bool], tmp_path: Path
) -> None:
    driver, javascript = page
    # given the intake page on a small phone, with a photo attached
    driver.get(f"{stack.url}/intake/")
    assert "行政执法投诉举报" in driver.find_element(By.TAG_NAME, "h1").text
    attach(driver, javascript, png(tmp_path / "现场.png"))
    assert "已上传" in driver.find_element(By.ID, "attachment-list").text
    key = driver.find_element(By.CSS_SELECTOR, "#complaint-form input[name=attachment]").get_attribute("value")
    assert key and key.startswith("uploads/quarantine/")
    # when the complaint is filled in as a person and submitted
    driver.find_element(By.ID, "description").send_keys(DESCRIPTION)
    driver.find_element(By.CSS_SELECTOR, "input[name=who][value=person]").click()
    driver.find_element(By.ID, "name").send_keys("李明")
    driver.find_element(By.ID, "phone").send_keys("13912345678")
    driver.find_element(By.CSS_SELECTOR, "#complaint-form button[type=submit]").click()
    # then the answer shows the tracking number and the verification code
    number = wait_for(driver, "#tracking-no").text
    code = driver.find_element(By.ID, "verification-code").text
    assert number.startswith("ZF") and len(code) == 6
    driver.save_screenshot(str(tmp_path / "receipt.png"))
    # and the status page, filled in by hand, finds it and shows its progress in Chinese
    driver.get(f"{stack.url}/intake/status")
    driver.find_element(By.ID, "no").send_keys(number)
    driver.find_element(By.ID, "code").send_keys(code)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    progress = wait_for(driver, "#status-name").text
    assert progress in ("已登记，正在分办", "已转交承办部门，等待受理")
    assert number in driver.find_element(By.ID, "progress-heading").text


def test_a_bad_form_comes_back_with_the_error_beside_the_field_and_markup_inert(
    stack: Stack, page: tuple[WebDriver, bool]
) -> None:
    driver, _ = page
    # given the page, with markup in the description and a wrong phone number
    driver.get(f"{stack.url}/intake/")
    script = "<script>window.injected = 1</script><img src=x onerror='window.injected = 2'>"
    driver.find_element(By.ID, "description").send_keys(DESCRIPTION + script)
    driver.find_element(By.CSS_SELECTOR, "input[name=who][value=person]").click()
    driver.find_element(By.ID, "phone").send_keys("12345")
    # when it is submitted
    driver.find_element(By.CSS_SELECTOR, "#complaint-form button[type=submit]").click()
    # then the phone field has its error beside it, and what was typed is still there, as text
    error = wait_for(driver, "#error-phone")
    assert "电话号码格式不正确" in error.text
    assert driver.find_element(By.ID, "phone").get_attribute("value") == "12345"
    assert driver.find_element(By.ID, "description").get_attribute("value") == DESCRIPTION + script
    assert driver.find_element(By.ID, "phone").get_attribute("aria-describedby").startswith("error-phone")
    # and nothing of it ran
    assert not driver.find_elements(By.CSS_SELECTOR, "main img[src=x]")
