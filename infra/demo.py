"""`hotspot demo`: fill the running local stack with a campaign that is running now.

Everything goes through the system's own doors: complaints through the public intake API, the local SMTP
listener and operator entry (with the time they came in), then the staff case API for the workflow, the
reporting API for records, materials and reports, and the schedules' own code for reminders and hotspot
detection. No item is written directly. The texts are the classifier's labelled reference set.

Idempotent: every complaint carries an Idempotency-Key (or, by mail, a Message-ID) derived from its number in
the plan, every workflow step is taken only from the state it starts from, and records, materials and
publications are looked up before they are added; a second run finds everything done and adds nothing.
"""

import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import requests

from shared.core import auth, queues, reference_data
from shared.core.auth import Role
from shared.core.campaign import load_campaign
from shared.core.classifier import reference_examples
from shared.core.settings import Settings
from shared.routing import workflow

STAFF_CHANNELS = ("hotline", "letter", "visit", "survey", "inspection", "media")
# The channels in turn: the public ones (web, mail, SMS), then those staff enter.
CHANNEL_CYCLE = ("web", "email", "sms", *STAFF_CHANNELS)
# The hotspot that rises in the last days: fines by the city administration, from one street.
RISING = ("城管队员在人民大街上见摊就罚，罚款两百元也不给罚款收据，这个星期已经是第{n}次了。", "ZHZF")
TIMEOUT = 30


@dataclass
class Summary:
    complaints: int = 0
    actions: int = 0
    records: int = 0
    materials: int = 0
    publications: int = 0


class Demo:
    def __init__(self, settings: Settings, gateway: str, smtp_port: int, now: datetime) -> None:
        self.settings = settings
        self.gateway = gateway.rstrip("/")
        self.smtp_port = smtp_port
        self.now = now
        self.summary = Summary()
        self.http = requests.Session()

    # ---- HTTP ----

    def token(self, role: Role, department: str | None = None) -> dict[str, str]:
        token = auth.issue_development_token(self.settings, role, department, name="演示数据")
        return {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> tuple[int, dict]:
        response = self.http.request(method, self.gateway + path, headers=headers, json=body, timeout=TIMEOUT)
        if response.status_code >= 500:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:200]}")
        return response.status_code, response.json()

    # ---- complaints ----

    def submit(self, number: int, text: str, channel: str, received_at: datetime, respondent: str | None) -> str | None:
        """One complaint in through its channel; its tracking number (the same on a second run), None by mail
        or SMS: routed later, it waits for the department."""
        key = {"Idempotency-Key": f"demo-campaign-{number}"}
        body: dict[str, Any] = {"description": text}
        if respondent:
            body["respondent"] = respondent
        if channel == "web":
            status, answer = self.call("POST", "/intake/complaints", key, body)
        elif channel == "email":
            self.mail(number, text)
            return None
        elif channel == "sms":
            self.sms(number, text)
            return None
        else:
            body.update(channel=channel, received_at=received_at.isoformat())
            status, answer = self.call("POST", "/cases", {**key, **self.token(Role.county_admin)}, body)
        if status not in (200, 201):
            raise RuntimeError(f"complaint {number}: {status} {answer}")
        return str(answer["tracking_no"])

    def mail(self, number: int, text: str) -> None:
        """A complaint by mail to the local SMTP listener; intake takes each Message-ID once."""
        mail = EmailMessage()
        mail["From"] = f"citizen{number}@demo.invalid"
        mail["To"] = self.settings.mail_address
        mail["Subject"] = "投诉"
        mail["Message-ID"] = f"<demo-{number}@demo.invalid>"
        mail.set_content(text)
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=TIMEOUT) as smtp:
            smtp.send_message(mail)

    def sms(self, number: int, text: str) -> None:
        """A text through the SMS provider's webhook (Aliyun's push); intake takes each sequence id once."""
        push = [
            {
                "phone_number": f"139{number:08d}",
                "content": text,
                "send_time": self.now.astimezone(reference_data.county_timezone()).strftime("%Y-%m-%d %H:%M:%S"),
                "sequence_id": number + 1,
            }
        ]
        path = f"/intake/sms/aliyun?token={self.settings.sms_webhook_token}"
        status, answer = self.call("POST", path, {}, push)
        if status != 200:
            raise RuntimeError(f"sms {number}: {status} {answer}")

    def wait(self, probe: Callable[[], Any], what: str, seconds: float = 60) -> Any:
        deadline = time.monotonic() + seconds
        while (found := probe()) is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what}: not there after {seconds:.0f} s")
            time.sleep(0.2)
        return found

    def case(self, tracking_no: str) -> dict:
        status, answer = self.call("GET", f"/cases/{tracking_no}", self.token(Role.county_admin))
        return answer["case"] if status == 200 else {}

    def routed(self, tracking_no: str) -> dict:
        return self.wait(
            lambda: found if (found := self.case(tracking_no)).get("status") not in (None, "received") else None,
            f"routing of {tracking_no}",
        )

    # ---- workflow ----

    def act(self, case: dict, action: str, **fields: Any) -> dict:
        """One action as the case's department head, or the county legal office for what only it may do."""
        county_only = action in ("arbitrate", "approve_extension", "flag_media", "mark_typical", "merge")
        role, department = (Role.county_admin, None) if county_only else (Role.dept_head, case["department"])
        if case["department"] == reference_data.supervisor().code:
            role, department = Role.county_admin, None
        body = {"version": case["version"], **fields}
        status, answer = self.call(
            "POST", f"/cases/{case['tracking_no']}/actions/{action}", self.token(role, department), body
        )
        if status != 200:
            raise RuntimeError(f"{action} on {case['tracking_no']}: {status} {answer}")
        self.summary.actions += 1
        return answer["case"]

    def work(self, number: int, case: dict, previous: dict | None) -> None:
        """Move a case along the plan for its number; each step only from the state it starts from."""
        plan = number % 20
        status = case["status"]
        if plan in (0, 1):
            return  # left waiting: the old ones become overdue and escalated
        if case.get("kind") == "question":  # routing recognised a question (咨询): answered, some published
            if status == "routed":
                case = self.act(
                    case,
                    "answer",
                    answer="感谢您的咨询。经了解，您所问的事项依据有关法律规定办理，详见答复部门的办事指南。",
                )
            if plan in (11, 12):
                self.publish(case)
            return
        if plan == 2 and status == "routed":
            self.act(case, "not_accept", reason="不属于行政执法问题，已告知投诉人向人民法院起诉。")
            return
        if plan == 3 and status == "routed" and case["department"] != reference_data.supervisor().code:
            case = self.act(case, "transfer", reason="不属于本部门职责，请县政府法制办协调。")
            status = case["status"]
        if plan == 3 and status == "transferred":
            case = self.act(case, "arbitrate", department="ZHZF", reason="经协调，由县综合执法局办理。")
            status = case["status"]
        if plan == 4 and previous is not None and status == "routed":
            self.act(case, "merge", into=previous["tracking_no"])
            return
        if status == "routed":
            case = self.act(case, "accept")
        if plan == 5 and case["status"] == "accepted" and case.get("extension") is None:
            case = self.act(case, "request_extension", days=15, reason="需要调取外地的证据材料。")
            case = self.act(case, "approve_extension")
        if plan == 6 and case.get("category_set_by") == "system:routing":
            case = self.act(case, "correct_category", category="abuse" if case["category"] != "abuse" else "inaction")
        if plan in (7, 8):
            return  # accepted and being worked on
        if case["status"] == "accepted":
            case = self.act(case, "start_investigation")
        if plan == 9:
            return
        if case["status"] == "investigating":
            finding = ("substantiated", "partly", "unsubstantiated")[number % 3]
            measures = {"substantiated": ["correct", "hold_accountable"], "partly": ["order_rectification"]}
            case = self.act(
                case, "decide", finding=finding, measures=measures.get(finding, []), summary="经调查核实，已依法处理。"
            )
        if case["status"] == "decided":
            case = self.act(case, "reply", message="您反映的问题已调查处理完毕，处理结果如上，感谢您的监督。")
        if case["status"] == "replied" and set(case.get("measures", [])) & workflow.table().followup_measures:
            case = self.act(case, "start_rectification")
        if case["status"] == "rectifying" and plan != 10:
            case = self.act(case, "verify_rectification")
        if case["status"] == "replied":
            case = self.act(case, "close")
        if plan in (11, 12) and case.get("typical") is None and case["status"] in ("closed", "rectifying"):
            case = self.act(case, "mark_typical", kind="negative" if plan == 11 else "positive")
        if plan == 12 and not case.get("media_followup"):
            case = self.act(case, "flag_media")
        if plan in (11, 12) and case.get("typical"):
            self.publish(case)

    def publish(self, case: dict) -> None:
        admin = self.token(Role.county_admin)
        path = f"/cases/{case['tracking_no']}/publication"
        status, answer = self.call("GET", path, admin)
        state = answer.get("publication", {}).get("state") if status == 200 else None
        version = self.case(case["tracking_no"])["version"]
        if state is None:
            status, answer = self.call("POST", path, admin, {"version": version})
            version, state = answer["version"], "draft"
        for step, before in (("approve", "draft"), ("publish", "approved")):
            if state == before:
                status, answer = self.call("POST", f"{path}/{step}", admin, {"version": version})
                if status != 200:
                    raise RuntimeError(f"publication {step}: {status} {answer}")
                version, state = answer["version"], answer["publication"]["state"]
                self.summary.publications += step == "publish"

    # ---- records, materials, reports ----

    def records(self) -> None:
        admin = self.token(Role.county_admin)
        today = self.now.date()
        wanted: dict[str, list[dict[str, Any]]] = {
            "lawsuits": [
                {
                    "department": "ZHZF",
                    "case_number": "（2026）吉0622行初12号",
                    "judgment_date": str(today - timedelta(20)),
                    "summary": "强制拆除未依法送达决定书，判决确认违法。",
                },
                {
                    "department": "SCJG",
                    "case_number": "（2026）吉0622行初15号",
                    "judgment_date": str(today - timedelta(9)),
                    "summary": "处罚依据不足，判决撤销处罚决定。",
                },
            ],
            "accountability": [
                {
                    "department": "JJDD",
                    "persons": ["某民警"],
                    "decided_on": str(today - timedelta(12)),
                    "measure": "诫勉谈话",
                    "summary": "罚款不开票据，收缴不分离。",
                },
                {
                    "department": "SWJ",
                    "persons": ["某专管员"],
                    "decided_on": str(today - timedelta(5)),
                    "measure": "警告处分",
                    "summary": "暗示企业请客送礼。",
                },
            ],
        }
        for kind, items in wanted.items():
            status, answer = self.call("GET", f"/reports/records/{kind}", admin)
            present = {item.get("summary") for item in answer.get("items", [])}
            for item in items:
                if item["summary"] not in present:
                    status, answer = self.call("POST", f"/reports/records/{kind}", admin, item)
                    if status != 201:
                        raise RuntimeError(f"record {kind}: {status} {answer}")
                    self.summary.records += 1

    def materials(self) -> None:
        """Most departments submit their plan; a few, late (after the due date, which is past), their summary."""
        for index, department in enumerate(("ZHZF", "SCJG", "JJDD", "STHJ", "SWJ", "ZJJ", "YJJ", "WJJ")):
            head = self.token(Role.dept_head, department)
            status, answer = self.call("GET", "/reports/materials", head)
            done = {item["material"] for item in answer.get("submissions", [])}
            for code in ("plan",) if index % 3 else ("plan", "summary"):
                if code in done:
                    continue
                content = f"{department} {code} 演示材料".encode()
                slot_body = {"filename": f"{code}.pdf", "content_type": "application/pdf", "size": len(content)}
                status, slot = self.call("POST", f"/reports/materials/{code}/uploads", head, slot_body)
                if status != 201:
                    raise RuntimeError(f"material slot {department} {code}: {status} {slot}")
                upload = requests.post(
                    slot["url"], data=slot["fields"], files={"file": (f"{code}.pdf", content)}, timeout=TIMEOUT
                )
                upload.raise_for_status()
                status, answer = self.call("POST", f"/reports/materials/{code}/submissions", head, {"key": slot["key"]})
                if status not in (200, 201):
                    raise RuntimeError(f"material {department} {code}: {status} {answer}")
                self.summary.materials += 1


def run(settings: Settings, gateway: str, smtp_port: int, size: int, now: datetime | None = None) -> Summary:
    """Fill the running stack with `size` complaints (and a rising hotspot), worked through the workflow."""
    demo = Demo(settings, gateway, smtp_port, now or datetime.now(UTC))
    campaign = load_campaign()
    start = datetime.combine(campaign.phases[0].start, datetime.min.time(), tzinfo=reference_data.county_timezone())
    # Times from the campaign's start to the start of today: the same on a second run the same day, so that the
    # Idempotency-Key of each complaint comes with the same body.
    end = datetime.combine(demo.now.astimezone(start.tzinfo).date(), datetime.min.time(), tzinfo=start.tzinfo)
    span = end - start
    examples = reference_examples("tuning") + reference_examples("heldout")
    plan = [examples[(index * 7) % len(examples)] for index in range(size)]
    previous: dict | None = None
    for number, example in enumerate(plan):
        received_at = start + span * number // size
        channel = CHANNEL_CYCLE[number % len(CHANNEL_CYCLE)]
        tracking_no = demo.submit(number, example.text, channel, received_at, example.respondent)
        demo.summary.complaints += 1
        if tracking_no is not None:
            case = demo.routed(tracking_no)
            demo.work(number, case, previous)
            previous = case
    text, _ = RISING
    rising = max(6, size // 40)
    for n in range(rising):
        received_at = end - timedelta(days=5) + timedelta(days=5) * n // rising
        demo.submit(size + n, text.format(n=n + 1), "hotline", received_at, None)
        demo.summary.complaints += 1
    demo.records()
    demo.materials()
    return demo.summary


def settle(settings: Settings, seconds: float = 120) -> None:
    """Wait until the running stack's consumers have taken every message (routing, counters, notices)."""
    names = (settings.intake_queue, settings.mail_queue, settings.events_queue, settings.notify_queue)
    deadline = time.monotonic() + seconds
    while True:
        waiting = queues.waiting(names)
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{waiting} messages still queued after {seconds:.0f} s")
        time.sleep(0.5)


def reports(settings: Settings, gateway: str) -> int:
    """The campaign's reports, county-wide, in every format, through the reporting API; the files made."""
    demo = Demo(settings, gateway, 0, datetime.now(UTC))
    status, answer = demo.call("POST", "/reports", demo.token(Role.county_admin), {"scope": "county"})
    if status != 201:
        raise RuntimeError(f"reports: {status} {answer}")
    return len(answer["files"])
