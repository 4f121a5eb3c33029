"""`hotspot demo` against `hotspot run --campaign-now` (as `make run` starts it): every screen and report of a
newcomer's first look shows figures, and a second run adds nothing.

A smaller demo than the default (DEMO_SIZE complaints) keeps the test short; the plan covers every channel,
every workflow path, records, materials, publications and a rising hotspot at any size of at least 40. The
dashboard is also looked at in a real browser here (headless chromium, as tests/browser/), on the same stack
and demo.
"""

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
import requests
from openpyxl import load_workbook
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from shared.core import staff_pages
from tests.browser.test_intake_page_browser import browser, wait_for
from tests.browser.test_staff_console_browser import sign_in
from tests.support import ROOT, Stack, running_stack, staff_token

DEMO_SIZE = 60
FIGURES = ("received", "accepted", "not_accepted", "closed", "overdue", "substantiated", "corrected", "escalations")
RECORDS = ("lawsuits_lost", "wrong_decision_accountability", "typical_positive", "typical_negative")


def demo(stack: Stack) -> str:
    moto_port, smtp_port = stack.moto_url.rsplit(":", 1)[1], str(stack.smtp_port)
    command = [sys.executable, "-m", "infra.cli", "demo", "--size", str(DEMO_SIZE), "--gateway", stack.url]
    result = subprocess.run(
        [*command, "--moto-port", moto_port, "--smtp-port", smtp_port],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:] + stack.log()[-3000:]
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack") / "hotspot-run.log", "--campaign-now") as running:
        yield running


@pytest.fixture(scope="module")
def runs(stack: Stack) -> tuple[str, str]:
    return demo(stack), demo(stack)


def get(stack: Stack, path: str, role: str = "county_admin") -> requests.Response:
    """A staff route, with the token as bearer and as the console's session cookie (for pages)."""
    token = staff_token(stack, role)
    headers = {"Authorization": f"Bearer {token}", "Cookie": f"{staff_pages.SESSION_COOKIE}={token}"}
    response = requests.get(f"{stack.url}{path}", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response


def newest_report(stack: Stack) -> dict[str, bytes]:
    """The files of the newest county report of the campaign, by extension."""
    reports = get(stack, "/reports").json()["reports"]
    newest = next(r for r in reports if r["scope"] == "county" and r["period"].startswith("campaign:"))
    return {file["name"].rsplit(".", 1)[1]: requests.get(file["url"], timeout=10).content for file in newest["files"]}


def test_a_second_run_adds_nothing(stack: Stack, runs: tuple[str, str]) -> None:
    # given the demo run twice on the running stack
    first, second = runs
    # then the first run worked cases, entered records and materials and published cases; the second none
    assert re.search(r"workflow actions [1-9]", first) and re.search(r"published [1-9]", first), first
    assert re.search(r"records [1-9]", first) and re.search(r"materials [1-9]", first), first
    assert "workflow actions 0, records 0, materials 0, published 0" in second, second
    # and the county counts each complaint once: the demo's plan, its hotspot, nothing twice
    totals = json.loads(newest_report(stack)["json"])["totals"]
    assert DEMO_SIZE <= totals["received"] <= DEMO_SIZE + 10


def test_every_report_format_shows_figures_in_every_section(stack: Stack, runs: tuple[str, str]) -> None:
    # given the campaign's county report after the demo
    files = newest_report(stack)
    document = json.loads(files["json"])
    totals = document["totals"]
    # then the table's figures, categories and channels, the hotspots, typical cases, assessment and weekly trend
    # are all non-zero
    assert {name: totals[name] for name in FIGURES + RECORDS if not totals[name]} == {}
    assert {code for code, count in totals["by_category"].items() if count} == set(document["categories"])
    assert {code for code, count in totals["by_channel"].items() if count} == set(document["channels"])
    assert document["hotspots"] and document["typical_cases"]
    assert document["assessment"] and all(score["total"] > 0 for score in document["assessment"][:3])
    assert sum(week["received"] for week in document["weekly"]) and sum(week["closed"] for week in document["weekly"])
    # and the CSV, the workbook and the PDF carry the same total received
    assert str(totals["received"]) in files["csv"].decode("utf-8-sig")
    sheet = load_workbook(BytesIO(files["xlsx"])).worksheets[0]
    department = next(row for row in document["rows"] if row["received"])
    [named] = [
        [cell.value for cell in row] for row in sheet.iter_rows() if department["name"] in [c.value for c in row]
    ]
    assert department["received"] in named
    text = subprocess.run(["pdftotext", "-", "-"], input=files["pdf"], capture_output=True, check=True).stdout
    assert str(totals["received"]).encode() in text


def test_the_dashboard_and_hotspot_list_show_figures(stack: Stack, runs: tuple[str, str]) -> None:
    # given the demo campaign, which is running today
    # when the county legal office opens the dashboard and the hotspot list
    html = get(stack, "/reports/dashboard").text
    hotspots = get(stack, "/reports/hotspots").json()["items"]
    # then every section of the dashboard has a non-zero figure, and a hotspot is open
    for section in ("figures", "categories", "trend", "overdue", "hotspots"):
        found = re.search(rf'id="{section}".*?</section>', html, re.S)
        assert found, section
        values = re.findall(r"data-figure=\"?[a-z_-]+\"?[^>]*>\s*([0-9.]+)", found.group(0))
        assert any(float(value) for value in values), section
    assert any(item["status"] == "open" and item["count"] >= 5 for item in hotspots)


def test_the_dashboard_in_a_browser_after_the_demo(stack: Stack, runs: tuple[str, str], tmp_path: Path) -> None:
    # given the county legal office signed in on the console in headless chromium, on a laptop-sized window
    driver = browser(tmp_path / "profile", javascript=True)
    driver.set_window_size(1280, 900)
    try:
        sign_in(driver, stack, staff_token(stack, "county_admin"))
        # when it opens the dashboard from the console's navigation
        wait_for(driver, "#dashboard-link").click()
        wait_for(driver, "#overdue")
        driver.save_screenshot(str(tmp_path / "dashboard.png"))
        # then the period is the running campaign, and every section shows a non-zero figure
        selected = Select(driver.find_element(By.ID, "period")).first_selected_option.get_attribute("value")
        assert selected is not None and selected.startswith("campaign:")
        for section in ("figures", "hotspots", "categories", "trend", "overdue"):
            cells = driver.find_elements(By.CSS_SELECTOR, f"#{section} [data-figure]")
            values = [cell.text.lstrip("+") for cell in cells]
            assert any(value.isdigit() and int(value) > 0 for value in values), (section, values)
    finally:
        driver.quit()
