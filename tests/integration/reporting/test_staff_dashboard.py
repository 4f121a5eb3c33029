"""The console's dashboard against moto: complaints routed and worked through the real functions, their events
counted by the reporting consumer and hotspots detected; the four panels' numbers and drill-down links, for the
county and for one department, refusals of the media and of a bad period, and a drill-down followed to the queue."""

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from chalice.test import Client

from shared.core import auth, staff_pages
from shared.core.auth import Principal, Role
from shared.core.dal.cases import CaseStore
from shared.core.dal.stats import StatsStore
from shared.core.settings import Settings
from shared.reporting import dashboard, hotspots
from tests.support import load_service
from tests.support_cases import RECEIVED, act, complaint, deliver, events

ADMIN = Principal(subject="fzb-1", name="法制办", role=Role.county_admin)
NOW = datetime(2026, 5, 28, 10, 0, tzinfo=RECEIVED.tzinfo)  # Thursday of week 22
SYNTHETIC_DAY = "2026-05-19"  # five penalties on a cluster day of no counted case: a department/category hotspot


class Scenario:
    def __init__(self, settings: Settings, numbers: list[str]) -> None:
        cases = {number: CaseStore(settings).get(number) for number in numbers}
        self.numbers = numbers
        self.department = {number: case.department for number, case in cases.items() if case}
        self.category = {number: case.category for number, case in cases.items() if case}


@pytest.fixture(scope="module")
def scenario(aws_module: Settings) -> Scenario:
    # given nine complaints received on 20 May (week 21) and one a week later (week 22), routed
    numbers = [complaint(aws_module, index) for index in range(9)]
    numbers.append(complaint(aws_module, 1, RECEIVED + timedelta(days=7)))
    # and worked: all accepted, the second one 20 days after receipt (late); the first one closed on time
    day = RECEIVED + timedelta(days=1)
    accepted_at = {numbers[1]: RECEIVED + timedelta(days=20), numbers[-1]: RECEIVED + timedelta(days=8)}
    for number in numbers:
        act(aws_module, number, "accept", accepted_at.get(number, day))
    act(aws_module, numbers[0], "start_investigation", day)
    act(aws_module, numbers[0], "decide", day, summary="经调查核实", finding="unsubstantiated", measures=[])
    act(aws_module, numbers[0], "reply", day + timedelta(days=2), message="经查不属实")
    act(aws_module, numbers[0], "close", day + timedelta(days=3))
    # and every event counted by the reporting service's consumer
    with Client(load_service("reporting").app) as reporting:
        assert deliver(reporting.lambda_, events(aws_module)) == []
    # and hotspots detected on 21 May: the three complaints about one traffic police squad, and five penalties
    StatsStore(aws_module).put_cluster(SYNTHETIC_DAY, "deptcat:JJDD#penalty", {f"ZFX{n}" for n in range(5)})
    hotspots.detect(aws_module, now=RECEIVED + timedelta(days=1))
    return Scenario(aws_module, numbers)


@pytest.fixture(scope="module")
def http(aws_module: Settings) -> Iterator:
    with Client(load_service("routing").app) as test_client:
        yield test_client.http


@pytest.fixture(scope="module")
def reports_http(aws_module: Settings) -> Iterator:
    """The reporting service, which serves the dashboard page under /reports."""
    with Client(load_service("reporting").app) as test_client:
        yield test_client.http


def session(settings: Settings, role: Role, department: str | None = None) -> dict:
    return {"Cookie": f"{staff_pages.SESSION_COOKIE}={auth.issue_development_token(settings, role, department)}"}


def test_the_county_office_sees_the_four_panels_of_the_campaign_from_the_counters(
    scenario: Scenario, aws_module: Settings
) -> None:
    # when the county legal office's dashboard of the campaign is built on 28 May
    board = dashboard.build(aws_module, ADMIN, None, NOW)
    # then the headline counts the ten complaints, the one closed on time and the one accepted late
    assert board.scope == "county" and board.period.key == "campaign:2026"
    assert (board.figures.received, board.figures.closed, board.figures.overdue) == (10, 1, 1)
    assert board.figures.on_time_rate == 1.0
    # and the categories are those of the cases, most first, each bar linking to the queue of its category
    expected = Counter(scenario.category.values())
    shown = {bar.code: bar.value for bar in board.categories if bar.value}
    assert shown == dict(expected)
    top = board.categories[0]
    assert top.value == max(expected.values()) and top.percent == 100 and top.link == f"?category={top.code}"
    # and the trend runs from the campaign's first week to this one: nine received in week 21, one in week 22
    assert [week.key for week in board.weeks] == ["week:2026-W19", "week:2026-W20", "week:2026-W21", "week:2026-W22"]
    assert [(week.received, week.closed) for week in board.weeks] == [(0, 0), (0, 0), (9, 1), (1, 0)]
    assert board.weeks[2].link == "?period=week%3A2026-W21"
    # and the overdue bars lead to the late case's department queue; every department with cases is listed
    late = scenario.department[scenario.numbers[1]]
    overdue = {bar.code: bar for bar in board.overdue}
    assert set(overdue) == set(scenario.department.values())
    assert (
        board.overdue[0].code == late and board.overdue[0].value == 1 and board.overdue[0].link == f"?department={late}"
    )
    assert sum(bar.received for bar in board.overdue) == 10
    # and the hotspots are ranked: the traffic police's eight penalties in the 7- and 30-day windows (linking to
    # their queue), then the squad (its cases listed)
    assert [item.kind for item in board.hotspots] == ["department_category", "department_category", "unit"]
    *penalties, squad = board.hotspots
    assert {(item.window_days, item.count, item.link) for item in penalties} == {
        (7, 8, "?department=JJDD&category=penalty"),
        (30, 8, "?department=JJDD&category=penalty"),
    }
    assert squad.link is None and set(squad.cases) == {scenario.numbers[i] for i in (0, 4, 8)} and squad.rise == 3


def test_a_department_sees_only_its_own_figures(scenario: Scenario, aws_module: Settings) -> None:
    # given the department of the late case, and its officer
    late = scenario.department[scenario.numbers[1]]
    officer = Principal(subject="o-1", name="承办人", role=Role.dept_officer, department=late)
    mine = [number for number, department in scenario.department.items() if department == late]
    # when the officer's dashboard of week 21 is built
    board = dashboard.build(aws_module, officer, "week:2026-W21", NOW)
    # then every figure is the department's: no county totals, no other department's bar
    in_week = [number for number in mine if number != scenario.numbers[-1]]
    assert board.scope == late and board.figures.received == len(in_week) < 9
    assert [bar.code for bar in board.overdue] == [late] and board.overdue[0].value == 1
    assert [(week.key, week.received) for week in board.weeks] == [("week:2026-W21", len(in_week))]
    # and category links keep to the department's queue; only the department's hotspots are ranked
    assert all(bar.link == f"?department={late}&category={bar.code}" for bar in board.categories)
    assert {hotspots_department(aws_module, item.hotspot_id) for item in board.hotspots} <= {late}


def hotspots_department(settings: Settings, hotspot_id: str) -> str | None:
    return hotspots.get_hotspot(settings, ADMIN, hotspot_id)["department"]


def test_the_page_shows_numbers_as_text_and_its_drill_down_leads_to_the_cases(
    scenario: Scenario, http, reports_http, aws_module: Settings
) -> None:
    # given the county legal office signed in to the console
    admin = session(aws_module, Role.county_admin)
    # when it opens the dashboard of week 21
    page = reports_http.get("/dashboard?period=week%3A2026-W21", headers=admin)
    html = page.body.decode()
    # then the page has the dashboard link in its navigation, the period chosen, and each figure as text
    assert page.status_code == 200 and 'id="dashboard-link"' in html
    assert '<option value="week:2026-W21" selected>' in html
    assert re.search(r'data-figure="received">9<', html)
    # and a category bar links to the queue filtered by its category
    category = Counter(scenario.category[n] for n in scenario.numbers[:9]).most_common(1)[0][0]
    link = f'href="/cases/console?category={category}"'
    assert link in html
    # when the link is followed
    listed, path = set(), f"/console?category={category}"
    while path:  # the queue's pages, as its next-page links give them
        queue = http.get(path, headers=admin).body.decode()
        listed |= set(re.findall(r'data-tracking-no="([^"]+)"', queue))
        following = re.search(r'href="/cases/console(\?[^"]+)" id="next-page"', queue)
        path = f"/console{unescape(following.group(1))}" if following else ""
    # then the queue lists exactly the cases of that category
    assert listed == {number for number, code in scenario.category.items() if code == category}
    # and the hotspot's tracking numbers link to the cases
    squad = scenario.numbers[4]
    assert f'href="/cases/console/{squad}"' in unescape(html)


def test_the_media_and_bad_periods_are_refused(scenario: Scenario, reports_http, aws_module: Settings) -> None:
    # when the media open the dashboard
    media = reports_http.get("/dashboard", headers=session(aws_module, Role.media))
    # then it is refused, and their navigation has no dashboard link
    assert media.status_code == 403 and 'id="dashboard-link"' not in media.body.decode()
    # when an auditor asks for a period that is not one
    auditor = session(aws_module, Role.auditor)
    bad = reports_http.get("/dashboard?period=week%3A2026-W60", headers=auditor)
    # then the answer is a 400 saying so, and a proper period is shown county-wide
    assert bad.status_code == 400 and "统计期间无效" in bad.body.decode()
    month = reports_http.get("/dashboard?period=month%3A2026-05", headers=auditor).body.decode()
    assert "统计看板 · 靖宇县" in month and re.search(r'data-figure="received">10<', month)
    # and once the campaign is over, the dashboard opens on the current month
    assert dashboard.build(aws_module, ADMIN, None, datetime(2026, 11, 2, tzinfo=UTC)).period.key == "month:2026-11"
