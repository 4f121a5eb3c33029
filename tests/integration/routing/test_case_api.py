"""The staff case API of the routing service against moto: workflow actions, queues, roles and races."""

import base64
import json
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from bench.environment import cases_table, put_straight
from bench.report_generation import synthetic_cases
from shared.core import auth, queues
from shared.core.auth import Principal, Role
from shared.core.aws import client
from shared.core.dal.cases import CaseStore, case_item, due_shard
from shared.core.errors import ApiError
from shared.core.messages import Envelope
from shared.core.models import DueKind, Status
from shared.core.settings import Settings
from shared.intake.complaints import submit_complaint
from shared.routing import cases_api, router
from shared.routing.deadlines import deadline_after
from tests.support import receive_all

TRAFFIC = "交警在路口查车罚款两百元，不开罚款收据，让我直接把钱转到他个人手机上。"
NO_BODY = "有人执法时态度很差，还骂人，请领导管一管。"
COMPLAINANT = {"name": "王红", "phone": "13912345678"}


def routed(settings: Settings, text: str = TRAFFIC) -> str:
    """A complaint received through intake and routed; its tracking number."""
    body = json.dumps({"description": text, "complainant": COMPLAINANT}).encode()
    answer = submit_complaint(settings, body, "application/json", None)
    message = receive_all(queues.queue_url(settings.intake_queue), client("sqs"))[-1]["Body"]
    router.route_complaint(settings, Envelope.model_validate_json(message))
    return str(answer.body["tracking_no"])


def bearer(settings: Settings, role: Role, department: str | None = None, name: str = "开发人员") -> dict:
    return {"Authorization": "Bearer " + auth.issue_development_token(settings, role, department, name=name)}


def act(http, headers: dict, number: str, action: str, version: int, **fields) -> tuple[int, dict]:
    response = http.post(
        f"/{number}/actions/{action}",
        headers={**headers, "Content-Type": "application/json"},
        body=json.dumps({"version": version, **fields}, ensure_ascii=False),
    )
    return response.status_code, json.loads(response.body)


def get(http, path: str, headers: dict) -> tuple[int, dict]:
    response = http.get(path, headers=headers)
    return response.status_code, json.loads(response.body)


def in_due_index(settings: Settings, number: str, due_at: datetime) -> bool:
    return number in [c.tracking_no for c in CaseStore(settings).due_in(due_shard(due_at), due_at + timedelta(1))]


def test_a_case_goes_from_routed_to_closed_with_deadlines_set_at_each_step(http, aws: Settings) -> None:
    # given a case routed to the traffic police, and their officer, their head and the county legal office
    number = routed(aws)
    officer = bearer(aws, Role.dept_officer, "JJDD")
    head = bearer(aws, Role.dept_head, "JJDD")
    fzb = bearer(aws, Role.county_admin)
    status, shown = get(http, f"/{number}", officer)
    assert status == 200 and "accept" in shown["allowed_actions"]
    acceptance_due = datetime.fromisoformat(shown["case"]["due_at"])
    assert shown["case"]["due_kind"] == "acceptance" and in_due_index(aws, number, acceptance_due)
    # when the officer accepts it
    status, body = act(http, officer, number, "accept", shown["case"]["version"])
    # then the reply deadline runs 60 days from acceptance, in the due index instead of the acceptance one
    assert status == 200
    case = body["case"]
    accepted_at, reply_due = datetime.fromisoformat(case["accepted_at"]), datetime.fromisoformat(case["due_at"])
    assert (case["status"], case["due_kind"]) == ("accepted", "reply")
    assert reply_due == deadline_after(accepted_at, "reply").due_at
    assert in_due_index(aws, number, reply_due) and not in_due_index(aws, number, acceptance_due)
    # when it is investigated and a 30-day extension is asked for and approved by the county legal office
    version = case["version"]
    assert act(http, officer, number, "start_investigation", version)[0] == 200
    assert act(http, head, number, "request_extension", version + 1, days=30, reason="需要调取监控录像")[0] == 200
    status, body = act(http, fzb, number, "approve_extension", version + 2)
    # then the reply deadline moves by 30 days from the old one, once
    assert status == 200
    extended = datetime.fromisoformat(body["case"]["due_at"])
    assert extended == deadline_after(reply_due, "extension", 30).due_at and extended - reply_due >= timedelta(30)
    assert in_due_index(aws, number, extended)
    status, refused = act(http, head, number, "request_extension", version + 3, days=5, reason="再次延期")
    assert (status, refused["error"]["code"]) == (409, "invalid_transition")
    # when it is decided, replied and closed
    decision = {"finding": "partly", "measures": ["hold_accountable"], "summary": "未开具罚款收据属实，已追责"}
    assert act(http, officer, number, "decide", version + 3, **decision)[0] == 200
    status, body = act(http, officer, number, "reply", version + 4, message="经查，部分属实，已对相关民警追责。")
    assert status == 200 and body["case"]["due_at"] is None and body["case"]["review_request_due_at"]
    status, body = act(http, officer, number, "close", version + 5)
    # then the case is closed, out of the due index, in the department's closed queue
    assert status == 200 and body["case"]["status"] == "closed"
    assert not in_due_index(aws, number, extended)
    status, listed = get(http, "/?status=closed", officer)
    assert [item["tracking_no"] for item in listed["items"]] == [number]
    # and the timeline shows every step, by whom
    status, shown = get(http, f"/{number}", officer)
    assert [event["action"] for event in shown["timeline"]] == [
        "receive",
        "route",
        "accept",
        "start_investigation",
        "request_extension",
        "approve_extension",
        "decide",
        "reply",
        "close",
    ]
    assert shown["timeline"][5]["actor"] == "dev-county_admin"
    assert [d["kind"] for d in shown["deadlines"]] == ["acceptance", "reply", "review_request"]


def test_two_officers_acting_on_the_same_case_at_once_one_wins(aws: Settings, monkeypatch) -> None:
    # given a routed case, and two officers of its department who both read it at the same version
    number = routed(aws)
    officers = [
        Principal(subject=f"officer-{n}", name=name, role=Role.dept_officer, department="JJDD")
        for n, name in enumerate(["张三", "李四"])
    ]
    both_read = threading.Barrier(2, timeout=10)
    write = CaseStore.transition_together

    def after_both_read(self, changes, extra=None):
        both_read.wait()  # neither writes before both have read and checked version 2
        return write(self, changes, extra)

    monkeypatch.setattr(CaseStore, "transition_together", after_both_read)
    outcomes: list[object] = []

    def accept(principal: Principal) -> None:
        try:
            outcomes.append(cases_api.act(aws, principal, number, "accept", json.dumps({"version": 2}).encode()))
        except ApiError as error:
            outcomes.append((error.status, error.code))

    # when both accept it at once, on two threads
    threads = [threading.Thread(target=accept, args=(officer,)) for officer in officers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then one wins and the other gets 409, and the audit log shows one acceptance
    assert sorted(str(type(o).__name__) for o in outcomes) == ["dict", "tuple"]
    assert (409, "version_conflict") in outcomes
    events = CaseStore(aws).events(number)
    assert [e.action for e in events] == ["receive", "route", "accept"]
    assert CaseStore(aws).get(number).version == 3


def test_a_second_request_with_the_same_version_is_a_conflict(http, aws: Settings) -> None:
    # given a routed case accepted by one officer
    number = routed(aws)
    assert act(http, bearer(aws, Role.dept_officer, "JJDD", "张三"), number, "accept", 2)[0] == 200
    # when another officer sends a request made at the version both had seen
    status, body = act(http, bearer(aws, Role.dept_officer, "JJDD", "李四"), number, "not_accept", 2, reason="重复")
    # then it is refused and nothing changed
    assert (status, body["error"]["code"]) == (409, "version_conflict")
    assert CaseStore(aws).get(number).status == Status.accepted


def _forged(settings: Settings) -> str:
    """A valid token whose claims were edited: the signature no longer matches."""
    header, payload, signature = auth.issue_development_token(settings, Role.dept_officer, "JJDD").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["custom:role"] = "county_admin"
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{edited}.{signature}"


def test_each_role_gets_exactly_what_it_should_on_every_case_route(http, aws: Settings) -> None:
    # given a case of the traffic police and callers of every kind
    callers = {
        "county_admin": bearer(aws, Role.county_admin),
        "dept_head": bearer(aws, Role.dept_head, "JJDD"),
        "dept_officer": bearer(aws, Role.dept_officer, "JJDD"),
        "other_department": bearer(aws, Role.dept_officer, "SCJG"),
        "auditor": bearer(aws, Role.auditor),
        "media": bearer(aws, Role.media),
        "no_token": {},
        "expired": {
            "Authorization": "Bearer "
            + auth.issue_development_token(
                aws, Role.county_admin, ttl_seconds=60, now=datetime.now(UTC) - timedelta(hours=2)
            )
        },
        "forged": {"Authorization": f"Bearer {_forged(aws)}"},
    }
    expected = {  # list, list of JJDD, detail, accept
        "county_admin": (200, 200, 200, 200),
        "dept_head": (200, 200, 200, 200),
        "dept_officer": (200, 200, 200, 200),
        "other_department": (200, 403, 404, 404),  # its cases unknown to them, as missing ones
        "auditor": (200, 200, 200, 403),
        "media": (403, 403, 403, 403),
        "no_token": (401, 401, 401, 401),
        "expired": (401, 401, 401, 401),
        "forged": (401, 401, 401, 401),
    }
    number = routed(aws)
    for name, headers in callers.items():
        # when each calls each route (a fresh routed case for the action)
        fresh = routed(aws)
        got = (
            get(http, "/", headers)[0],
            get(http, "/?department=JJDD", headers)[0],
            get(http, f"/{number}", headers)[0],
            act(http, headers, fresh, "accept", 2)[0],
        )
        # then the answers are exactly the expected ones
        assert got == expected[name], name
    # and a department sees only its own queue, the county-wide roles everything
    own = get(http, "/", callers["other_department"])[1]["items"]
    assert own == []
    assert number in [item["tracking_no"] for item in get(http, "/", callers["auditor"])[1]["items"]]


def test_the_complainant_is_masked_for_everyone_and_revealed_only_on_request(http, aws: Settings) -> None:
    # given a case with a named complainant
    number = routed(aws)
    # when the county legal office, the department and an auditor open it
    fzb = get(http, f"/{number}", bearer(aws, Role.county_admin))[1]
    department = get(http, f"/{number}", bearer(aws, Role.dept_officer, "JJDD"))[1]["complainant"]
    auditor = get(http, f"/{number}", bearer(aws, Role.auditor))[1]["complainant"]
    # then all see name and phone masked (the full ones come from an audited reveal, tests/integration/
    # test_confidentiality.py), and only the county legal office is told it may reveal them
    assert (fzb["complainant"]["name"], fzb["complainant"]["phone"]) == ("王*", "139****5678")
    assert (department["name"], department["phone"]) == ("王*", "139****5678") == (auditor["name"], auditor["phone"])
    assert fzb["complainant_revealable"] is True


def test_queues_page_through_the_index_with_an_opaque_cursor_never_a_scan(http, aws: Settings, monkeypatch) -> None:
    # given five routed cases of one department and a client that refuses scans
    numbers = {routed(aws) for _ in range(5)}
    monkeypatch.setattr(client("dynamodb"), "scan", lambda **kwargs: pytest.fail("scan on a request path"))
    officer = bearer(aws, Role.dept_officer, "JJDD")
    # when the routed queue is read two at a time
    pages, cursor = [], None
    while True:
        status, page = get(http, "/?status=routed&limit=2" + (f"&cursor={cursor}" if cursor else ""), officer)
        assert status == 200
        pages.append([item["tracking_no"] for item in page["items"]])
        cursor = page["cursor"]
        if not cursor:
            break
    # then every case comes once, in due order, in pages of at most two
    listed = [number for page in pages for number in page]
    assert sorted(listed) == sorted(numbers) and all(len(page) <= 2 for page in pages) and len(pages) >= 3
    dues = [CaseStore(aws).get(number).due_at for number in listed]
    assert dues == sorted(dues)
    # and a cursor edited by hand or used with other filters is refused
    first = get(http, "/?status=routed&limit=2", officer)[1]["cursor"]
    assert get(http, f"/?status=closed&limit=2&cursor={first}", officer)[0] == 400
    assert get(http, f"/?status=routed&limit=2&cursor={first[:-4]}AAAA", officer)[0] == 400


def test_a_queue_of_several_statuses_is_paged_in_status_order_its_later_statuses_read_together(
    http, aws: Settings, monkeypatch
) -> None:
    # given a department's cases in three statuses: two routed, two accepted, one investigating
    numbers = [routed(aws) for _ in range(5)]
    officer = bearer(aws, Role.dept_officer, "JJDD")
    for number in numbers[2:]:
        assert act(http, officer, number, "accept", 2)[0] == 200
    assert act(http, officer, numbers[4], "start_investigation", 3)[0] == 200
    # and the threads that read the index
    threads: list[str] = []
    page = CaseStore.page

    def recorded(self: CaseStore, *args, **kwargs):
        threads.append(threading.current_thread().name)
        return page(self, *args, **kwargs)

    monkeypatch.setattr(CaseStore, "page", recorded)
    # when the department's whole queue is read three at a time
    pages, cursor = [], None
    while True:
        status, body = get(http, "/?limit=3" + (f"&cursor={cursor}" if cursor else ""), officer)
        assert status == 200
        pages.append([(item["tracking_no"], item["status"]) for item in body["items"]])
        cursor = body["cursor"]
        if not cursor:
            break
    # then every case comes once, by status in the workflow's order, in pages of three until the last
    listed = [item for page in pages for item in page]
    assert sorted(number for number, _ in listed) == sorted(numbers)
    order = [status.value for status in Status]
    assert [status for _, status in listed] == sorted((status for _, status in listed), key=order.index)
    assert [len(page) for page in pages[:-1]] == [3] * (len(pages) - 1)
    # and each page read the partition it starts in on its own, and the following ones in waves sent together
    on_their_own = [name for name in threads if not name.startswith("read")]
    assert len(on_their_own) == len(pages) < len(threads)


def test_filters_narrow_the_queue(http, aws: Settings) -> None:
    # given a traffic case and a market supervision case
    traffic = routed(aws)
    routed(aws, "市场监管局的人检查了我们店四次，每次都没有通知书。")
    fzb = bearer(aws, Role.county_admin)
    due = CaseStore(aws).get(traffic).due_at
    # when the county office filters county-wide by category, department, channel, due time and number
    by_category = get(http, "/?status=routed&category=penalty", fzb)[1]["items"]
    by_department = get(http, "/?department=JJDD", fzb)[1]["items"]
    due_later = get(http, f"/?due_before={quote((due + timedelta(seconds=1)).isoformat())}", fzb)[1]["items"]
    due_earlier = get(http, f"/?department=JJDD&due_before={quote(due.isoformat())}", fzb)[1]["items"]
    by_number = get(http, f"/?tracking_no={traffic}", fzb)[1]["items"]
    # then each finds exactly what it should
    assert [i["tracking_no"] for i in by_category] == [traffic] == [i["tracking_no"] for i in by_department]
    assert len(due_later) == 2 and due_earlier == []
    assert [i["tracking_no"] for i in by_number] == [traffic]
    assert get(http, "/?channel=web&status=routed", fzb)[1]["items"][0]["channel"] == "web"
    assert get(http, "/?status=nonsense", fzb)[0] == 422


def test_the_triage_queue_holds_unroutable_and_transferred_cases_until_arbitrated(http, aws: Settings) -> None:
    # given a complaint naming no body, and a traffic case its department says is not theirs
    unroutable = routed(aws, NO_BODY)
    transferred = routed(aws)
    officer = bearer(aws, Role.dept_officer, "JJDD")
    fzb = bearer(aws, Role.county_admin)
    status, body = act(http, officer, transferred, "transfer", 2, reason="属于公安局治安大队职责")
    assert status == 200 and (body["case"]["department"], body["case"]["transferred_from"]) == ("FZB", "JJDD")
    # when the county legal office opens its triage queue
    status, triage = get(http, "/?view=triage", fzb)
    # then both are there, and a department cannot open it
    assert sorted(item["tracking_no"] for item in triage["items"]) == sorted([unroutable, transferred])
    assert get(http, "/?view=triage", officer)[0] == 403
    # when the office arbitrates the transferred case to the police
    status, body = act(http, fzb, transferred, "arbitrate", 3, department="GAJ", reason="治安案件")
    # then it is routed to them with a new acceptance deadline, and leaves the triage queue
    assert status == 200 and (body["case"]["status"], body["case"]["department"]) == ("routed", "GAJ")
    assert body["case"]["due_kind"] == DueKind.acceptance
    assert [item["tracking_no"] for item in get(http, "/?view=triage", fzb)[1]["items"]] == [unroutable]
    police = get(http, "/?status=routed", bearer(aws, Role.dept_head, "GAJ"))[1]["items"]
    assert [item["tracking_no"] for item in police] == [transferred]


def test_merging_a_duplicate_links_both_cases(http, aws: Settings) -> None:
    # given two routed complaints about the same thing
    duplicate, primary = routed(aws), routed(aws)
    officer = bearer(aws, Role.dept_officer, "JJDD")
    # when the second is accepted and the first merged into it
    assert act(http, officer, primary, "accept", 2)[0] == 200
    status, body = act(http, officer, duplicate, "merge", 2, into=primary)
    # then both are linked, each with an audit event of the merge, and the duplicate has no deadline left
    assert status == 200 and (body["case"]["status"], body["case"]["merged_into"]) == ("merged", primary)
    assert body["case"]["due_at"] is None
    store = CaseStore(aws)
    assert store.get(primary).merged_cases == [duplicate] and store.get(primary).version == 4
    assert store.events(primary)[-1].action == "merge" and store.events(primary)[-1].details["duplicate"] == duplicate
    assert store.events(duplicate)[-1].action == "merge"
    # and merging into a case that does not exist, or into itself, is refused on the field
    another = routed(aws)
    assert act(http, officer, another, "merge", 2, into="ZF000000000000")[0] == 422
    assert act(http, officer, another, "merge", 2, into=another)[0] == 422


def test_a_category_correction_is_audited_as_training_signal(http, aws: Settings) -> None:
    # given a case the classifier put under penalties
    number = routed(aws)
    # when the department corrects the category
    status, body = act(http, bearer(aws, Role.dept_head, "JJDD"), number, "correct_category", 2, category="fees")
    # then the case has the new category set by that person, and the audit event keeps the old one
    assert status == 200 and (body["case"]["category"], body["case"]["category_set_by"]) == (
        "fees",
        "dev-dept_head-JJDD",
    )
    event = CaseStore(aws).events(number)[-1]
    assert (event.action, event.details["from_category"], event.details["category"]) == (
        "correct_category",
        "penalty",
        "fees",
    )
    assert event.details["training_signal"] is True


def test_bad_requests_get_clear_answers(http, aws: Settings) -> None:
    # given a routed case and its officer
    number = routed(aws)
    officer = bearer(aws, Role.dept_officer, "JJDD")
    # when actions are sent that are unknown, malformed, in the wrong state, or about an unknown case
    unknown = act(http, officer, number, "approve_everything", 2)
    missing_reason = act(http, officer, number, "not_accept", 2)
    wrong_state = act(http, officer, number, "close", 2)
    no_version = http.post(
        f"/{number}/actions/accept", headers={**officer, "Content-Type": "application/json"}, body="{}"
    )
    no_case = act(http, officer, "ZF000000000000", "accept", 2)
    # then each gets its status and machine code
    assert (unknown[0], unknown[1]["error"]["code"]) == (404, "unknown_action")
    assert missing_reason[0] == 422 and missing_reason[1]["error"]["fields"][0]["field"] == "reason"
    assert (wrong_state[0], wrong_state[1]["error"]["code"]) == (409, "invalid_transition")
    assert no_version.status_code == 422
    assert no_case[0] == 404
    assert CaseStore(aws).get(number).version == 2


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 8, 50])
@pytest.mark.parametrize(
    ("viewer", "params"),
    [
        (Principal(subject="t", name="测试", role=Role.dept_officer, department="GAJ"), {}),
        (Principal(subject="t", name="测试", role=Role.county_admin), {}),
        # A filter leaves reads with fewer cases than asked for, and partitions to read on.
        (Principal(subject="t", name="测试", role=Role.county_admin), {"category": "penalty"}),
    ],
)
def test_paging_in_waves_lists_every_case_once_in_the_order_of_one_partition_after_the_other(
    aws: Settings, limit: int, viewer: Principal, params: dict
) -> None:
    # given the cases of a small county in every status, stored as the workflow leaves them
    table = cases_table(aws)
    for case in synthetic_cases(120, datetime(2026, 10, 20, tzinfo=UTC)):
        put_straight(table, case_item(case))
    # and what reading the viewer's partitions one after the other, each whole, finds
    store, index = CaseStore(aws), "gsi1" if viewer.department else "gsi2"
    statuses = [status for status in Status if not viewer.department or status != Status.received]
    partitions = [f"DEPT#{viewer.department}#{s}" if viewer.department else f"STATUS#{s}" for s in statuses]
    expected = [
        case.tracking_no
        for partition in partitions
        for case in store.page(index, partition, 1000, filters={"category": params["category"]} if params else None)[0]
    ]
    # when the list is paged through
    listed, cursor, pages = [], None, 0
    while True:
        page = cases_api.list_cases(
            aws, viewer, {**params, "limit": str(limit), **({"cursor": cursor} if cursor else {})}
        )
        listed += [item["tracking_no"] for item in page["items"]]
        pages += 1
        assert len(page["items"]) <= limit
        cursor = page["cursor"]
        if not cursor:
            break
    # then it lists the same cases in the same order, each once
    assert listed == expected and pages >= len(expected) / limit > 0


def test_a_case_is_read_first_then_its_complainant_timeline_and_notices_together(
    http, aws: Settings, monkeypatch
) -> None:
    # given a routed case with a complainant, and the threads its reads are made in
    number = routed(aws)
    threads: dict[str, str] = {}
    for name in ("get", "complainant", "events", "notices"):
        original = getattr(CaseStore, name)

        def recorded(self: CaseStore, *args, _name: str = name, _original=original, **kwargs):
            threads[_name] = threading.current_thread().name
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(CaseStore, name, recorded)
    # when the department opens it
    status, body = get(http, f"/{number}", bearer(aws, Role.dept_officer, "JJDD"))
    # then the case was read by the request itself (its scope is checked on it), and the rest sent together after
    assert status == 200 and body["complainant"]["name"] == "王*" and body["timeline"]
    assert not threads.pop("get").startswith("read")
    assert sorted(threads) == ["complainant", "events", "notices"]
    assert all(thread.startswith("read") for thread in threads.values())
