"""The staff console of the routing service against moto: session cookie, CSRF, forms, conflicts, scope, escaping."""

import re
from urllib.parse import urlencode

from shared.core import auth, reference_data, staff_pages
from shared.core.auth import Role
from shared.core.dal.cases import CaseStore
from shared.core.settings import Settings
from shared.routing import console, workflow
from tests.integration.routing.test_case_api import routed

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def cookie(settings: Settings, role: Role, department: str | None = None, name: str = "开发人员") -> dict:
    token = auth.issue_development_token(settings, role, department, name=name)
    return {"Cookie": f"{staff_pages.SESSION_COOKIE}={token}"}


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def offered(html: str) -> list[str]:
    return re.findall(r'id="action-([a-z_]+)"', html)


def post(http, path: str, headers: dict, fields: dict):
    return http.post(path, headers={**headers, **FORM}, body=urlencode(fields, doseq=True))


def test_login_with_a_development_token_sets_a_strict_http_only_cookie(http, aws: Settings) -> None:
    # given the login page, which sets its own CSRF cookie
    page = http.get("/console/login")
    assert page.status_code == 200 and "工作人员登录" in page.body.decode()
    nonce = csrf_of(page.body.decode())
    assert f"{console.LOGIN_COOKIE}={nonce}" in page.headers["Set-Cookie"]
    token = auth.issue_development_token(aws, Role.dept_officer, "JJDD")
    # when a development token is pasted, with the page's CSRF value and cookie
    answer = post(
        http, "/console/login", {"Cookie": f"{console.LOGIN_COOKIE}={nonce}"}, {"csrf": nonce, "token": token}
    )
    # then the session cookie holds the token, HttpOnly and SameSite=Strict, and the browser goes to the queue
    assert answer.status_code == 303 and answer.headers["Location"] == "/cases/console"
    set_cookie = answer.headers["Set-Cookie"]
    assert set_cookie.startswith(f"{staff_pages.SESSION_COOKIE}={token};")
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie and "Path=/;" in set_cookie
    assert "Secure" not in set_cookie  # plain HTTP on the local stack
    # and behind HTTPS the cookie is Secure
    secure = post(
        http,
        "/console/login",
        {"Cookie": f"{console.LOGIN_COOKIE}={nonce}", "X-Forwarded-Proto": "https"},
        {"csrf": nonce, "token": token},
    )
    assert "; Secure" in secure.headers["Set-Cookie"]


def test_login_without_the_csrf_cookie_or_with_a_bad_token_is_refused(http, aws: Settings) -> None:
    token = auth.issue_development_token(aws, Role.dept_officer, "JJDD")
    # when the login form comes without the matching cookie
    forged = post(http, "/console/login", {"Cookie": f"{console.LOGIN_COOKIE}=other"}, {"csrf": "abc", "token": token})
    # then no session is set
    assert forged.status_code == 403 and forged.headers["Set-Cookie"].startswith(f"{console.LOGIN_COOKIE}=")
    assert "页面已过期" in forged.body.decode()
    # and a forged token is refused with the login page again
    bad = post(http, "/console/login", {"Cookie": f"{console.LOGIN_COOKIE}=n1"}, {"csrf": "n1", "token": token + "x"})
    assert bad.status_code == 401 and "登录凭证无效" in bad.body.decode()


def test_missing_or_invalid_cookie_redirects_to_login(http, aws: Settings) -> None:
    for headers in ({}, {"Cookie": f"{staff_pages.SESSION_COOKIE}=not-a-token"}):
        # when a page is asked for without a valid session
        for path in ("/console", "/console/ZF20260101000000"):
            answer = http.get(path, headers=headers)
            # then the browser is sent to the login page and the cookie cleared
            assert answer.status_code == 303 and answer.headers["Location"] == "/cases/console/login"
            assert "Max-Age=0" in answer.headers["Set-Cookie"]


def test_queue_lists_the_department_cases_with_filters_and_a_strict_policy(http, aws: Settings) -> None:
    # given a case routed to the traffic police
    number = routed(aws)
    officer = cookie(aws, Role.dept_officer, "JJDD")
    # when their officer opens the queue, then filters by another status
    queue = http.get("/console", headers=officer)
    filtered = http.get("/console?status=closed", headers=officer)
    # then the case is listed with a link, and not under the other status
    assert queue.status_code == 200 and f'href="/cases/console/{number}"' in queue.body.decode()
    assert number not in filtered.body.decode()
    policy = queue.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy
    # and another department's officer does not see it; a filter for another department is refused
    other = cookie(aws, Role.dept_officer, "SCJG")
    assert number not in http.get("/console", headers=other).body.decode()
    assert http.get("/console?department=JJDD", headers=other).status_code == 403
    # and the county legal office has its triage view, where a routed department case is not listed
    triage = http.get("/console?view=triage", headers=cookie(aws, Role.county_admin)).body.decode()
    assert 'id="triage-link"' in triage and "待分办（无法分办和被退回的投诉）" in triage and number not in triage


def test_only_allowed_actions_are_offered_and_csrf_is_required(http, aws: Settings) -> None:
    # given a routed case and its department's officer
    number = routed(aws)
    officer = cookie(aws, Role.dept_officer, "JJDD")
    page = http.get(f"/console/{number}", headers=officer).body.decode()
    version = CaseStore(aws).get(number).version  # type: ignore[union-attr]
    # then the forms are exactly the actions the workflow allows the officer now
    assert offered(page) == ["accept", "not_accept", "transfer", "merge", "correct_category", "change_kind"]
    assert f'name="version" value="{version}"' in page
    # when the accept form is posted without, or with a wrong, CSRF token
    for fields in ({"version": version}, {"version": version, "csrf": "0" * 64}):
        refused = post(http, f"/console/{number}/accept", officer, fields)
        # then nothing happens
        assert refused.status_code == 403 and "页面已过期" in refused.body.decode()
    assert CaseStore(aws).get(number).status == "routed"  # type: ignore[union-attr]
    # when it is posted with the page's token
    done = post(http, f"/console/{number}/accept", officer, {"version": version, "csrf": csrf_of(page)})
    # then the case is accepted and the browser goes back to it
    assert done.status_code == 303 and done.headers["Location"] == f"/cases/console/{number}"
    after = http.get(f"/console/{number}", headers=officer).body.decode()
    assert "已受理" in after and "accept" not in offered(after) and "start_investigation" in offered(after)
    # and a county-wide auditor is offered nothing
    assert offered(http.get(f"/console/{number}", headers=cookie(aws, Role.auditor)).body.decode()) == []


def test_a_stale_version_shows_the_conflict_message_and_the_fresh_case(http, aws: Settings) -> None:
    # given a case two officers opened; the first accepts it
    number = routed(aws)
    officer = cookie(aws, Role.dept_officer, "JJDD")
    page = http.get(f"/console/{number}", headers=officer).body.decode()
    version = CaseStore(aws).get(number).version  # type: ignore[union-attr]
    assert (
        post(http, f"/console/{number}/accept", officer, {"version": version, "csrf": csrf_of(page)}).status_code == 303
    )
    # when the second posts not_accept with the version both saw
    stale = post(
        http, f"/console/{number}/not_accept", officer, {"version": version, "csrf": csrf_of(page), "reason": "重复"}
    )
    # then they get 409, the message, and the case as it is now, with the forms of its new state
    html = stale.body.decode()
    assert stale.status_code == 409 and "该投诉已被他人处理，请刷新" in html
    assert f'name="version" value="{version + 1}"' in html and "start_investigation" in offered(html)
    assert CaseStore(aws).get(number).status == "accepted"  # type: ignore[union-attr]


def test_a_decision_posts_list_fields_and_shows_on_the_timeline(http, aws: Settings) -> None:
    # given an accepted case under investigation
    number = routed(aws)
    officer = cookie(aws, Role.dept_officer, "JJDD")
    for action in ("accept", "start_investigation"):
        page = http.get(f"/console/{number}", headers=officer).body.decode()
        version = CaseStore(aws).get(number).version  # type: ignore[union-attr]
        assert (
            post(http, f"/console/{number}/{action}", officer, {"version": version, "csrf": csrf_of(page)}).status_code
            == 303
        )
    version = CaseStore(aws).get(number).version  # type: ignore[union-attr]
    # when a decision with two measures is posted, then one with a missing summary
    fields = {
        "version": version,
        "csrf": csrf_of(page),
        "finding": "partly",
        "measures": ["correct", "hold_accountable"],
    }
    invalid = post(http, f"/console/{number}/decide", officer, fields)
    done = post(http, f"/console/{number}/decide", officer, {**fields, "summary": "部分属实，责令纠正并追责。"})
    # then the first is refused on the page, the second stored and on the timeline with its labels
    assert invalid.status_code == 422 and 'id="error"' in invalid.body.decode()
    assert done.status_code == 303
    case = CaseStore(aws).get(number)
    assert case is not None and case.measures == ["correct", "hold_accountable"] and case.finding == "partly"
    timeline = http.get(f"/console/{number}", headers=officer).body.decode().split('id="timeline"')[1]
    assert "作出处理决定" in timeline and "部分属实" in timeline and "责令纠正、追究责任" in timeline


def test_another_departments_case_is_refused(http, aws: Settings) -> None:
    # given a case of the traffic police, and a market regulator's officer
    number = routed(aws)
    token = auth.issue_development_token(aws, Role.dept_officer, "SCJG")
    other = {"Cookie": f"{staff_pages.SESSION_COOKIE}={token}"}
    version = CaseStore(aws).get(number).version  # type: ignore[union-attr]
    # when they open it or post an action with a valid CSRF token of their own session
    shown = http.get(f"/console/{number}", headers=other)
    acted = post(http, f"/console/{number}/accept", other, {"version": version, "csrf": staff_pages.csrf_token(token)})
    # then both are answered as for a missing case and the case is unchanged
    assert shown.status_code == 404 and "未找到该案件" in shown.body.decode()
    assert "投诉内容" not in shown.body.decode()
    assert acted.status_code == 404
    assert CaseStore(aws).get(number).status == "routed"  # type: ignore[union-attr]


def test_output_is_escaped_and_the_complainant_masked(http, aws: Settings) -> None:
    # given a complaint with markup in it
    script = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    number = routed(aws, "交警在路口查车罚款两百元，不开收据。" + script)
    officer = cookie(aws, Role.dept_officer, "JJDD")
    # when its officer opens the queue and the case
    pages = [
        http.get("/console", headers=officer).body.decode(),
        http.get(f"/console/{number}", headers=officer).body.decode(),
    ]
    # then the markup is text, not markup
    for html in pages:
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # and the officer sees the complainant masked, as the API shows them
    assert "王*" in pages[1] and "139****5678" in pages[1] and "13912345678" not in pages[1]


def test_an_uncertain_category_shows_the_two_likeliest_with_their_confidence(http, aws: Settings) -> None:
    # given a case the classifier was sure of and one it was not (evidence of a fee and of a licence)
    sure = routed(aws)
    unsure = routed(aws, "办营业执照的时候市监局窗口要我们多交三百元的材料费，说不交就不给办。")
    low = console.texts().low_confidence
    case = CaseStore(aws).get(unsure)
    assert case is not None and case.category_confidence is not None and case.category_confidence < low
    (first, _), (second, second_confidence) = case.category_candidates
    # when their officers open them
    sure_page = http.get(f"/console/{sure}", headers=cookie(aws, Role.dept_officer, "JJDD")).body.decode()
    unsure_page = http.get(f"/console/{unsure}", headers=cookie(aws, Role.dept_officer, "SCJG")).body.decode()
    # then both show the automatic category's confidence, and only the uncertain one the two candidates
    assert "自动分类，把握" in sure_page and "category-candidates" not in sure_page
    candidates = re.search(r'id="category-candidates"[^>]*>(.*?)</span>', unsure_page, re.S)
    assert candidates is not None
    names = {c.code: c.name for c in reference_data.categories()}
    assert names[first] in candidates.group(
        1
    ) and f"{names[second]} {second_confidence * 100:.0f}%" in candidates.group(1)


def test_every_action_body_field_has_a_form_field() -> None:
    # given the body models of every workflow action: then console.json says how to show each field
    for action, model in workflow.BODIES.items():
        shown = {*console.texts().fields, *console.texts().action_fields.get(action, {})}
        assert set(model.model_fields) - {"version"} <= shown, action
