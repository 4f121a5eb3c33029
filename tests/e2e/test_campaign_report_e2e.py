"""A small campaign through the real API of `hotspot run`, and every figure of the statistics table checked
against what the test did (issue 5: "an end-to-end test runs a small campaign ... and checks every figure").

Complaints come in by the web API and by operator entry (two of them received weeks ago, so that their
acceptance is late and the reminders run escalates them), are routed by the queue consumer, and are worked by
staff with tokens of the right roles: accepted, not accepted, transferred and arbitrated, merged, extended,
investigated, decided with findings and measures, replied to, rectified and closed, marked typical and one
published. The county legal office enters a lost lawsuit and an accountability record. The test keeps its own
ledger of all that, computes each department's row from it by the definitions of shared/reporting/report_document.py
(not with shared/reporting/stats.py), and compares with the JSON and the XLSX of the county report of the year.
"""

import io
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic, sleep
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from shared.reporting.report_document import COUNT_FIELDS, SATISFACTION_FIELDS
from tests.support import ROOT, Stack, running_stack, staff_token

COUNTY_TIME = ZoneInfo("Asia/Shanghai")
# Operator entries received this long ago are past their 15-day acceptance deadline when accepted.
LATE_DAYS = 40
COUNTERS_WAIT_SECONDS = 60
ENTERPRISE = {"organization": "靖宇县青松木业有限公司", "credit_code": "91220622MA0Y12345F"}
# Every count of a department row: the table's, in its order, then the call-back's (its own sheet).
FIGURES = (*COUNT_FIELDS, *SATISFACTION_FIELDS)
FINDINGS = {"substantiated": "substantiated", "partly": "partly_substantiated", "unsubstantiated": "unsubstantiated"}
MEASURES = {"correct": "corrected", "revoke": "revoked", "order_rectification": "rectification_ordered"}


@dataclass(frozen=True)
class Complaint:
    key: str
    channel: str  # web: POST /intake/complaints; otherwise operator entry, POST /cases
    text: str
    # Where the classifier sends it, and how it files it (asserted once routed).
    department: str
    category: str
    domain: str
    old: bool = False  # received LATE_DAYS ago
    complainant: dict[str, Any] | None = None
    kind: str = "complaint"  # question: a 咨询, recognised by routing (the sender does not say), counted apart


CAMPAIGN = (
    Complaint(
        "repeat_inspection",
        "web",
        "县市场监管局的执法人员一个月内到我们超市检查了三次，每次检查的内容都一样，也没有出示检查通知。",
        "SCJG",
        "inspection",
        "enterprise",
        complainant={"name": "赵经理", **ENTERPRISE},
    ),
    Complaint(
        "repeat_inspection_again",
        "web",
        "县市场监管局的人这个月第三次来我们超市检查，内容和前两次一样，也没有检查通知。",
        "SCJG",
        "inspection",
        "enterprise",
    ),
    Complaint(
        "school_food",
        "web",
        "学校周边的流动摊点卫生条件很差，希望县市场监督管理局加强日常执法，保障孩子们的饮食安全。",
        "SCJG",
        "livelihood",
        "livelihood",
    ),
    Complaint(
        "no_certificate",
        "web",
        "城管拉走我摊位货物的几个人都没有穿制服，我要看执法证件，他们说自己是临时协管员没有证。",
        "ZHZF",
        "credentials",
        "livelihood",
    ),
    Complaint(
        "fine_to_phone",
        "hotline",
        "交警在路口查车罚款两百元，不开罚款收据，让我直接把钱转到他个人手机上。",
        "JJDD",
        "penalty",
        "general",
    ),
    Complaint(
        "slow_permit",
        "web",
        "在政务大厅办理建筑工程施工许可，材料齐全，已经超过承诺时限十五个工作日了还没有办结。",
        "ZWFW",
        "licensing",
        "enterprise",
    ),
    Complaint(
        "road_fee",
        "letter",
        "交通局路政人员向我们货车收取'过路管理费'，说不出收费依据，也不给正式票据。",
        "JTYS",
        "fees",
        "enterprise",
    ),
    Complaint(
        "demolition",
        "visit",
        "自然资源局组织人员强行拆除我家的彩钢房，事先没有送达任何强制执行文书，屋里的东西全被砸坏了。",
        "ZRZY",
        "coercion",
        "livelihood",
        old=True,
    ),
    Complaint(
        "tax_refund",
        "hotline",
        "税务所的一个工作人员暗示我们不请客送礼，企业的退税申请就一直压着不办。",
        "SWJ",
        "abuse",
        "enterprise",
        old=True,
        complainant={"name": "钱会计", **ENTERPRISE},
    ),
    Complaint(
        "suggestion",
        "web",
        "建议县政府法制办公开各部门受理行政执法投诉的电话和邮箱，方便群众监督。",
        "FZB",
        "other",
        "livelihood",
    ),
    Complaint(
        "review_question",
        "web",
        "对行政执法部门作出的决定不服，应该向哪里申请行政复议，期限是多长时间？",
        "FZB",
        "other",
        "general",
        kind="question",
    ),
    Complaint(
        "points_question",
        "web",
        "请问县交警大队处理交通违法，被扣分后多久可以申请复议？",
        "JJDD",
        "other",
        "general",
        kind="question",
    ),
    Complaint(
        "buck_passing",
        "hotline",
        "我家门口的烧烤摊油烟扰民，打电话给环保局说归城管管，找城管又说归环保局管，两边推来推去半年了没人处理。",
        "FZB",
        "inaction",
        "livelihood",
    ),
    Complaint(
        "household_registration",
        "web",
        "派出所民警办理户口迁移时故意刁难，让我来回跑了六趟，每次都说还缺材料但不一次性告知。",
        "GAJ",
        "inaction",
        "livelihood",
    ),
    Complaint(
        "project_enforcement",
        "letter",
        "我们是招商引资落户的企业，县住建局对在建项目的执法要求前后不一，项目建设进度受到严重影响，企业发展信心受挫。",
        "ZJJ",
        "economy",
        "enterprise",
    ),
)


@dataclass
class Entry:
    """What happened to one complaint, as the test did it."""

    complaint: Complaint
    tracking_no: str
    department: str  # handling it now
    transferred_from: str | None = None
    accepted: bool = False
    accepted_late: bool = False
    escalated: bool = False
    not_accepted: bool = False
    merged: bool = False
    finding: str | None = None
    measures: tuple[str, ...] = ()
    accountable_persons: int | None = None
    replied_late: bool = False
    # Asked the call-back question at the first reply: a complainant who gave their name and contact.
    callback_asked: bool = False
    closed: bool = False
    typical: str | None = None
    answered: bool = False  # a question, answered within its answer deadline


@dataclass
class Ledger:
    period_key: str
    entries: dict[str, Entry] = field(default_factory=dict)
    # Records the county legal office entered, dated in the period: department -> count.
    lawsuits: dict[str, int] = field(default_factory=dict)
    accountability: dict[str, int] = field(default_factory=dict)
    published: list[tuple[str, str, str]] = field(default_factory=list)  # tracking no, kind, department


def expected_rows(ledger: Ledger) -> dict[str, dict[str, Any]]:
    """Each department's figures, by the definitions in shared/reporting/report_document.py, from the ledger alone."""
    rows: dict[str, dict[str, Any]] = {}

    def row(department: str) -> dict[str, Any]:
        return rows.setdefault(department, {**dict.fromkeys(FIGURES, 0), "by_category": {}, "by_channel": {}})

    for entry in ledger.entries.values():
        if entry.transferred_from:
            row(entry.transferred_from)["transferred"] += 1
        if entry.merged:
            continue  # a duplicate counts with the case it joined
        figures, complaint = row(entry.department), entry.complaint
        if complaint.kind == "question":  # only the question figures: no complaint figure counts a question
            figures["questions_received"] += 1
            figures["questions_answered"] += entry.answered
            figures["questions_answered_on_time"] += entry.answered
            continue
        counted = {
            "received": True,
            "enterprise_related": complaint.domain == "enterprise",
            "livelihood_related": complaint.domain == "livelihood",
            "accepted": entry.accepted,
            "accepted_on_time": entry.accepted and not entry.accepted_late,
            "not_accepted": entry.not_accepted,
            "closed": entry.closed,
            "closed_on_time": entry.closed and not entry.replied_late,
            "overdue": entry.accepted_late or entry.replied_late or entry.escalated,
            "typical_positive": entry.typical == "positive",
            "typical_negative": entry.typical == "negative",
            "escalations": entry.escalated,
            "callback_asked": entry.callback_asked,
        }
        if entry.finding:
            counted[FINDINGS[entry.finding]] = True
        counted.update({MEASURES[measure]: True for measure in entry.measures if measure in MEASURES})
        for name, on in counted.items():
            figures[name] += on
        if "hold_accountable" in entry.measures:
            figures["held_accountable"] += entry.accountable_persons or 1
        for breakdown, code in (("by_category", complaint.category), ("by_channel", complaint.channel)):
            figures[breakdown][code] = figures[breakdown].get(code, 0) + 1
    for department, count in ledger.lawsuits.items():
        row(department)["lawsuits_lost"] += count
    for department, count in ledger.accountability.items():
        row(department)["wrong_decision_accountability"] += count
    return rows


# --- talking to the stack -------------------------------------------------------------------------------------


class Api:
    def __init__(self, stack: Stack, tokens: dict[str, str]) -> None:
        self.stack, self.tokens, self.http = stack, tokens, requests.Session()

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def case(self, tracking_no: str) -> dict[str, Any]:
        response = self.http.get(
            f"{self.stack.url}/cases/{tracking_no}", headers=self.headers("county_admin"), timeout=10
        )
        assert response.status_code == 200, response.text
        case: dict[str, Any] = response.json()["case"]
        return case

    def act(self, who: str, entry: Entry, action: str, **fields: Any) -> dict[str, Any]:
        """One workflow action on the case's current version (escalations and merges move it on)."""
        version = self.case(entry.tracking_no)["version"]
        response = self.http.post(
            f"{self.stack.url}/cases/{entry.tracking_no}/actions/{action}",
            json={"version": version, **fields},
            headers=self.headers(who),
            timeout=10,
        )
        assert response.status_code == 200, f"{entry.complaint.key} {action}: {response.text}"
        case: dict[str, Any] = response.json()["case"]
        return case

    def post(self, who: str, path: str, body: dict[str, Any]) -> requests.Response:
        return self.http.post(f"{self.stack.url}{path}", json=body, headers=self.headers(who), timeout=30)


def _due_passed(case: dict[str, Any], deadline: str) -> bool:
    return datetime.fromisoformat(case[deadline]) < datetime.now(UTC)


def accept(api: Api, who: str, entry: Entry) -> None:
    entry.accepted_late = _due_passed(api.case(entry.tracking_no), "acceptance_due_at")
    api.act(who, entry, "accept")
    entry.accepted = True


def decide(api: Api, who: str, entry: Entry, finding: str, *measures: str, persons: int | None = None) -> None:
    api.act(who, entry, "start_investigation")
    body: dict[str, Any] = {"finding": finding, "measures": list(measures), "summary": "经调查核实，依法作出处理决定。"}
    if persons is not None:
        body["accountable_persons"] = persons
    api.act(who, entry, "decide", **body)
    entry.finding, entry.measures, entry.accountable_persons = finding, measures, persons


def reply(api: Api, who: str, entry: Entry) -> None:
    entry.replied_late = _due_passed(api.case(entry.tracking_no), "reply_due_at")
    api.act(who, entry, "reply", message="您反映的问题已调查处理完毕，现将结果答复如下。")
    entry.callback_asked = bool(entry.complaint.complainant)


def close(api: Api, who: str, entry: Entry, action: str = "close") -> None:
    api.act(who, entry, action)
    entry.closed = True


def _received_at(now: datetime) -> datetime:
    """LATE_DAYS ago, but within the county year of `now`, so that the year's report holds every case."""
    local = now.astimezone(COUNTY_TIME)
    return max(local - timedelta(days=LATE_DAYS), datetime(local.year, 1, 1, 0, 10, tzinfo=COUNTY_TIME))


def submit(api: Api, complaint: Complaint, now: datetime) -> str:
    body: dict[str, Any] = {"description": complaint.text}
    if complaint.complainant:
        body["complainant"] = complaint.complainant
    key = {"Idempotency-Key": str(uuid.uuid4())}
    if complaint.channel == "web":
        response = api.http.post(f"{api.stack.url}/intake/complaints", json=body, headers=key, timeout=10)
    else:
        body["channel"] = complaint.channel
        if complaint.old:
            body["received_at"] = _received_at(now).isoformat()
        headers = {**api.headers("county_admin"), **key}
        response = api.http.post(f"{api.stack.url}/cases", json=body, headers=headers, timeout=10)
    assert response.status_code == 201, f"{complaint.key}: {response.text}"
    tracking_no: str = response.json()["tracking_no"]
    return tracking_no


def wait_until_routed(api: Api, tracking_no: str) -> dict[str, Any]:
    deadline = monotonic() + 30
    while True:
        case = api.case(tracking_no)
        if case["status"] != "received":
            return case
        assert monotonic() < deadline, f"{tracking_no} not routed within 30 s"
        sleep(0.2)


def cli(stack: Stack, *arguments: str) -> subprocess.CompletedProcess[str]:
    moto_port = stack.moto_url.rsplit(":", 1)[1]
    command = [sys.executable, "-m", "infra.cli", *arguments, "--moto-port", moto_port]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)


def report(api: Api, who: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(who, "/reports", body)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def download(made: dict[str, Any], name: str) -> bytes:
    """A file of a report, through its presigned URL (moto's server on loopback)."""
    url = next(file["url"] for file in made["files"] if file["name"] == name)
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, response.text
    return response.content


# --- the campaign -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("campaign") / "hotspot-run.log") as running:
        yield running


@pytest.fixture(scope="module")
def api(stack: Stack) -> Api:
    who = {
        "county_admin": ("county_admin", None),
        "SCJG": ("dept_officer", "SCJG"),
        "SCJG_head": ("dept_head", "SCJG"),
        "JTYS": ("dept_officer", "JTYS"),
        "JJDD": ("dept_officer", "JJDD"),
        "ZRZY": ("dept_officer", "ZRZY"),
    }
    # Each token is a `hotspot token` process: start them together.
    with ThreadPoolExecutor(max_workers=len(who)) as pool:
        tokens = dict(zip(who, pool.map(lambda role: staff_token(stack, *role), who.values()), strict=True))
    return Api(stack, tokens)


@pytest.fixture(scope="module")
def ledger(api: Api) -> Ledger:
    """Run the campaign; the ledger of what was done."""
    now = datetime.now(UTC)
    ledger = Ledger(f"year:{now.astimezone(COUNTY_TIME).year}")
    submitted = [(complaint, submit(api, complaint, now)) for complaint in CAMPAIGN]
    # given every complaint routed where the classifier sends it
    for complaint, tracking_no in submitted:
        case = wait_until_routed(api, tracking_no)
        assert (case["status"], case["kind"], case["department"], case["category"], case["domain"]) == (
            "routed",
            complaint.kind,
            complaint.department,
            complaint.category,
            complaint.domain,
        ), complaint.key
        ledger.entries[complaint.key] = Entry(complaint, tracking_no, complaint.department)
    cases = ledger.entries

    # The reminders run escalates what is past its acceptance deadline (督办), here as of 10:00 today so that
    # the quiet hours never hold it back (the stack's own 15-minute schedule would escalate the same cases).
    run_at = datetime.combine(now.astimezone(COUNTY_TIME).date(), time(10), tzinfo=COUNTY_TIME)
    for entry in cases.values():
        if entry.complaint.kind == "complaint":
            entry.escalated = datetime.fromisoformat(api.case(entry.tracking_no)["acceptance_due_at"]) < run_at
    reminded = cli(api.stack, "remind", "--at", run_at.isoformat())
    assert reminded.returncode == 0, reminded.stderr
    # (Early in January the old complaints are received on New Year's day and may not be late yet.)
    new_year = _received_at(now) > now - timedelta(days=LATE_DAYS)
    assert new_year or (cases["demolition"].escalated and cases["tax_refund"].escalated)

    # A repeated inspection of a supermarket: substantiated, corrected, two officers held accountable, the
    # rectification verified by the department head; a negative typical case, published.
    inspection = cases["repeat_inspection"]
    accept(api, "SCJG", inspection)
    api.act("SCJG", cases["repeat_inspection_again"], "merge", into=inspection.tracking_no)
    cases["repeat_inspection_again"].merged = True
    decide(api, "SCJG", inspection, "substantiated", "correct", "hold_accountable", persons=2)
    reply(api, "SCJG", inspection)
    api.act("SCJG", inspection, "start_rectification")
    close(api, "SCJG_head", inspection, "verify_rectification")
    api.act("county_admin", inspection, "mark_typical", kind="negative")
    inspection.typical = "negative"
    version = api.case(inspection.tracking_no)["version"]
    for path in ("publication", "publication/approve", "publication/publish"):
        published = api.post("county_admin", f"/cases/{inspection.tracking_no}/{path}", {"version": version})
        assert published.status_code == 200, published.text
        version = published.json()["version"]
    ledger.published.append((inspection.tracking_no, "negative", "SCJG"))

    school = cases["school_food"]
    accept(api, "SCJG", school)
    decide(api, "SCJG", school, "substantiated", "correct", "revoke")
    reply(api, "SCJG", school)
    api.act("SCJG", school, "start_rectification")
    close(api, "SCJG_head", school, "verify_rectification")

    # Not substantiated, closed, a positive typical case (not published).
    certificate = cases["no_certificate"]
    accept(api, "county_admin", certificate)
    decide(api, "county_admin", certificate, "unsubstantiated")
    reply(api, "county_admin", certificate)
    close(api, "county_admin", certificate)
    api.act("county_admin", certificate, "mark_typical", kind="positive")
    certificate.typical = "positive"

    # An extension asked by the department and approved by the county legal office; partly substantiated,
    # the decision revoked, the rectification still running.
    fine = cases["fine_to_phone"]
    accept(api, "JJDD", fine)
    api.act("JJDD", fine, "request_extension", days=10, reason="需调取执法记录仪视频，时间较长")
    api.act("county_admin", fine, "approve_extension")
    decide(api, "JJDD", fine, "partly", "revoke")
    reply(api, "JJDD", fine)
    api.act("JJDD", fine, "start_rectification")

    permit = cases["slow_permit"]
    api.act("county_admin", permit, "not_accept", reason="已进入行政复议程序，不属于本次活动受理范围")
    permit.not_accepted = True

    # Handed back by the transport bureau, given to natural resources by the county legal office.
    fee = cases["road_fee"]
    api.act("JTYS", fee, "transfer", reason="路政执法已划转，非本部门职责")
    fee.transferred_from, fee.department = "JTYS", "FZB"
    api.act("county_admin", fee, "arbitrate", department="ZRZY", reason="由自然资源局承办")
    fee.department = "ZRZY"
    accept(api, "ZRZY", fee)
    api.act("ZRZY", fee, "start_investigation")

    # Received weeks ago: accepted late, rectification ordered and verified.
    demolition = cases["demolition"]
    accept(api, "ZRZY", demolition)
    decide(api, "ZRZY", demolition, "substantiated", "order_rectification")
    reply(api, "ZRZY", demolition)
    api.act("ZRZY", demolition, "start_rectification")
    close(api, "county_admin", demolition, "verify_rectification")

    accept(api, "county_admin", cases["tax_refund"])

    # Buck-passing goes to the county legal office, which names the department.
    buck = cases["buck_passing"]
    api.act("county_admin", buck, "arbitrate", department="ZHZF")
    buck.department = "ZHZF"
    accept(api, "county_admin", buck)

    household = cases["household_registration"]
    accept(api, "county_admin", household)
    decide(api, "county_admin", household, "substantiated", "hold_accountable")
    reply(api, "county_admin", household)
    close(api, "county_admin", household)

    project = cases["project_enforcement"]
    accept(api, "county_admin", project)
    decide(api, "county_admin", project, "partly")
    reply(api, "county_admin", project)
    close(api, "county_admin", project)
    # ("suggestion" stays with the county legal office, not yet accepted.)

    # The county legal office answers the question about review at once; the traffic police's is still open.
    question = cases["review_question"]
    api.act("county_admin", question, "answer", answer="可自知道该行政行为之日起六十日内向县人民政府申请行政复议。")
    question.answered = True

    # Records of the county legal office: dated today, and one in the year before (not in the period).
    today = now.astimezone(COUNTY_TIME).date()
    lawsuit = {"department": "ZRZY", "case_number": "（2026）吉0622行初12号", "summary": "强制拆除程序违法，判决败诉"}
    for judged, counted in ((today, True), (date(today.year - 1, 12, 31), False)):
        entered = api.post("county_admin", "/reports/records/lawsuits", {**lawsuit, "judgment_date": str(judged)})
        assert entered.status_code == 201, entered.text
        if counted:
            ledger.lawsuits["ZRZY"] = ledger.lawsuits.get("ZRZY", 0) + 1
    accountability = {
        "department": "SCJG",
        "persons": ["孙某", "李某"],
        "decided_on": str(today),
        "measure": "诫勉谈话",
        "summary": "重复检查企业，对执法人员诫勉谈话",
        "tracking_no": inspection.tracking_no,
    }
    entered = api.post("county_admin", "/reports/records/accountability", accountability)
    assert entered.status_code == 201, entered.text
    ledger.accountability["SCJG"] = 1
    return ledger


RATES = ("on_time_rate", "answer_rate", "satisfaction_rate")


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in row.items() if name not in ("department", "name", "remarks", *RATES)}


@pytest.fixture(scope="module")
def county_report(api: Api, ledger: Ledger) -> tuple[dict[str, Any], dict[str, Any]]:
    """Once the counters caught up with the campaign: the county report of the year in every format, and its
    JSON document."""
    expected = expected_rows(ledger)
    deadline = monotonic() + COUNTERS_WAIT_SECONDS
    while True:
        document = json.loads(
            download(report(api, "county_admin", {"period": ledger.period_key, "formats": ["json"]}), "statistics.json")
        )
        found = {row["department"]: _figures(row) for row in document["rows"] if any(_figures(row).values())}
        if found == expected:
            break
        assert monotonic() < deadline, (
            f"the counters did not reach the ledger within {COUNTERS_WAIT_SECONDS} s:\n"
            f"found    {json.dumps(found, ensure_ascii=False, sort_keys=True)}\n"
            f"expected {json.dumps(expected, ensure_ascii=False, sort_keys=True)}"
        )
        sleep(0.5)
    made = report(api, "county_admin", {"period": ledger.period_key, "scope": "county"})
    return made, json.loads(download(made, "statistics.json"))


# --- the checks ------------------------------------------------------------------------------------------------


def test_every_department_row_matches_the_ledger(ledger: Ledger, county_report: tuple[dict, dict]) -> None:
    # given the campaign run through the API and its county report of the year
    _, document = county_report
    expected = expected_rows(ledger)
    zero = {**dict.fromkeys(FIGURES, 0), "by_category": {}, "by_channel": {}}
    # when each department's row is read
    rows = {row["department"]: row for row in document["rows"]}
    # then every figure of every row is what the ledger says (zeros for departments without cases)
    assert document["period"]["key"] == ledger.period_key and document["scope"] == "county"
    assert set(expected) <= set(rows)
    for department, row in rows.items():
        assert _figures(row) == expected.get(department, zero), department
        closed, on_time = expected.get(department, zero)["closed"], expected.get(department, zero)["closed_on_time"]
        assert row["on_time_rate"] == (on_time / closed if closed else None), department
    # and the campaign exercised what the table counts: no figure is zero county-wide (but lateness, when
    # early in January no case of the year could be late yet)
    county = {name: sum(row[name] for row in expected.values()) for name in COUNT_FIELDS}
    late = any(entry.escalated for entry in ledger.entries.values())
    assert {name for name, value in county.items() if not value} == (set() if late else {"overdue", "escalations"})
    # and no acceptance or reply after the routing could be back-dated: closed cases were all closed on time
    assert county["closed_on_time"] == county["closed"]


def test_totals_and_breakdowns_are_the_sums_of_the_ledger(ledger: Ledger, county_report: tuple[dict, dict]) -> None:
    # given the county report
    _, document = county_report
    expected = expected_rows(ledger).values()
    live = [entry for entry in ledger.entries.values() if not entry.merged and entry.complaint.kind == "complaint"]
    questions = [complaint for complaint in CAMPAIGN if complaint.kind == "question"]
    # when its totals are read
    totals = document["totals"]
    # then each count is the sum over the departments, and the received complaints are all but the merged duplicate
    # and the questions, which are counted apart
    assert {name: totals[name] for name in FIGURES} == {name: sum(row[name] for row in expected) for name in FIGURES}
    assert totals["received"] == len(live) == len(CAMPAIGN) - 1 - len(questions)
    assert totals["questions_received"] == len(questions) == 2
    # and the categories and channels break the received cases down as they came in, every code listed
    categories = {code: 0 for code in document["categories"]}
    channels = {code: 0 for code in document["channels"]}
    for entry in live:
        categories[entry.complaint.category] += 1
        channels[entry.complaint.channel] += 1
    assert totals["by_category"] == categories
    assert totals["by_channel"] == channels
    assert totals["on_time_rate"] == totals["closed_on_time"] / totals["closed"]


def test_published_typical_cases_and_records_are_in_the_report(
    ledger: Ledger, county_report: tuple[dict, dict]
) -> None:
    # given the county report
    _, document = county_report
    # when its typical cases and the records' columns are read
    typical = [(case["tracking_no"], case["kind"], case["department"]) for case in document["typical_cases"]]
    rows = {row["department"]: row for row in document["rows"]}
    # then the one published case is listed under its tracking number
    assert typical == ledger.published
    # and the lawsuit of the year counts, the one judged the year before does not
    assert {code: row["lawsuits_lost"] for code, row in rows.items() if row["lawsuits_lost"]} == ledger.lawsuits
    assert {
        code: row["wrong_decision_accountability"] for code, row in rows.items() if row["wrong_decision_accountability"]
    } == ledger.accountability


def test_the_workbook_shows_the_figures_of_the_json(county_report: tuple[dict, dict]) -> None:
    # given the county report's workbook, downloaded through its presigned URL
    made, document = county_report
    assert {file["name"] for file in made["files"]} == {
        "statistics.xlsx",
        "statistics.csv",
        "statistics.json",
        "summary.pdf",
    }
    assert download(made, "summary.pdf").startswith(b"%PDF")
    workbook = load_workbook(io.BytesIO(download(made, "statistics.xlsx")))
    layout = json.loads((ROOT / "shared" / "data" / "report_table.json").read_text("utf-8"))
    columns = [column for group in layout["statistics"]["groups"] for column in group["columns"]]
    # when the statistics sheet is read (rows 3-4 headers, then a row per department, then the totals)
    sheet = workbook[layout["statistics"]["sheet"]]
    first, rows = 5, document["rows"]
    last = first + len(rows) - 1
    letters = {column["field"]: get_column_letter(3 + offset) for offset, column in enumerate(columns)}
    closed, on_time = letters["closed"], letters["closed_on_time"]
    # then each column is headed by its label and each department's row holds the JSON's figures
    for offset, column in enumerate(columns):
        letter = letters[column["field"]]
        label = sheet.cell(4, 3 + offset).value or sheet.cell(3, 3 + offset).value
        assert label == column["label"], letter
        for number, row in enumerate(rows, start=first):
            value = sheet.cell(number, 3 + offset).value
            if column["field"] == "on_time_rate":
                assert value == f'=IF({closed}{number}=0,"-",{on_time}{number}/{closed}{number})'
            elif column["field"] == "remarks":
                assert (value or "") == row["remarks"]
            else:
                assert value == row[column["field"]], f"{row['department']} {column['field']}"
        # and the totals row sums exactly the department rows
        totals = sheet.cell(last + 1, 3 + offset).value
        if column["field"] not in ("on_time_rate", "remarks"):
            assert totals == f"=SUM({letter}{first}:{letter}{last})", column["field"]
    assert [sheet.cell(number, 2).value for number in range(first, last + 2)] == [
        *(row["name"] for row in rows),
        layout["totals_label"],
    ]
    # and the category and channel sheets hold the breakdowns of the JSON
    for kind, counts in (("categories", "by_category"), ("channels", "by_channel")):
        breakdown = workbook[layout[kind]["sheet"]]
        for number, row in enumerate(rows, start=first):
            cells = [breakdown.cell(number, 3 + index).value for index in range(len(document[kind]))]
            assert cells == [row[counts].get(code, 0) for code in document[kind]], f"{kind} {row['department']}"
    # and the typical cases sheet lists the published case under its tracking number
    typical = workbook[layout["typical_cases"]["sheet"]]
    listed = [typical.cell(number, 2).value for number in range(first, first + len(document["typical_cases"]))]
    assert listed == [case["tracking_no"] for case in document["typical_cases"]]


def test_a_department_reads_its_own_table_and_not_the_county(
    api: Api, ledger: Ledger, county_report: tuple[dict, dict]
) -> None:
    # given an officer of the traffic police
    # when they ask for the table of their own department, and for the county's
    own = report(api, "JJDD", {"period": ledger.period_key, "formats": ["json"]})
    county = api.post("JJDD", "/reports", {"period": ledger.period_key, "scope": "county", "formats": ["json"]})
    # then their table has their row only, with the county report's figures
    document = json.loads(download(own, "statistics.json"))
    assert own["scope"] == document["scope"] == "JJDD"
    assert [_figures(row) for row in document["rows"]] == [expected_rows(ledger)["JJDD"]]
    # and the county's is refused
    assert county.status_code == 403 and county.json()["error"]["code"] == "forbidden_scope", county.text


def test_the_live_counters_agree_with_a_rebuild_from_the_cases(api: Api, county_report: tuple[dict, dict]) -> None:
    # given the counters that made the county report
    # when `hotspot rebuild-stats --check` recounts every case
    checked = cli(api.stack, "rebuild-stats", "--check")
    # then it finds no difference
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "differences 0" in checked.stdout
