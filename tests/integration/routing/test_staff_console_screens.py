"""The staff console's screens beside the workflow, against moto: the intake quarantine, the publication of
typical cases, media follow-up notes and messages relayed to the complainant; each with its role refusals."""

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlparse

from shared.core import auth, filing, quarantine, queues, staff_pages
from shared.core.auth import Role
from shared.core.aws import client
from shared.core.dal.cases import CaseStore
from shared.core.dal.publications import PublicationStore
from shared.core.errors import ApiError, FieldError
from shared.core.models import Channel
from shared.core.settings import Settings
from tests.integration.routing.test_case_api import routed
from tests.integration.routing.test_publication import PERSONAL, typical_case
from tests.support import receive_all

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
PHONE = "13912345678"


def cookie(settings: Settings, role: Role, department: str | None = None) -> dict:
    token = auth.issue_development_token(settings, role, department, name="开发人员")
    return {"Cookie": f"{staff_pages.SESSION_COOKIE}={token}"}


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def post(http, path: str, headers: dict, fields: dict):
    return http.post(path, headers={**headers, **FORM}, body=urlencode(fields, doseq=True))


def version_of(settings: Settings, number: str) -> int:
    case = CaseStore(settings).get(number)
    assert case is not None
    return case.version


def api_action(http, settings: Settings, number: str, action: str, **fields) -> None:
    token = auth.issue_development_token(settings, Role.county_admin)
    body = json.dumps({"version": version_of(settings, number), **fields}, ensure_ascii=False)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    answer = http.post(f"/{number}/actions/{action}", headers=headers, body=body)
    assert answer.status_code == 200, answer.body


# --- the intake quarantine ------------------------------------------------------------------------------------


def quarantined(settings: Settings, at: datetime, channel: Channel = Channel.web) -> str:
    """A payload archived and rejected by intake at `at`; its raw key."""
    raw_key = filing.archive_raw(settings, channel, b'{"description": ""}', "text/html", at)
    field = FieldError(field="description", code="string_too_short", message="不能为空")
    filing.reject(settings, channel, raw_key, ApiError(422, "validation_failed", "提交的内容有误", [field]), at)
    return raw_key


def expires_in(query: dict[str, list[str]]) -> int:
    """Seconds a presigned URL lives: SigV4 says so, SigV2 (S3 in us-east-1) gives the end as epoch seconds."""
    if "X-Amz-Expires" in query:
        return int(query["X-Amz-Expires"][0])
    return round((int(query["Expires"][0]) - datetime.now(UTC).timestamp()) / 10) * 10


def test_the_quarantine_lists_a_county_month_with_short_raw_links_for_the_county_office(http, aws: Settings) -> None:
    # given payloads quarantined at the first and last hours of May in the county (UTC: April 30 and May 31)
    first = quarantined(aws, datetime(2026, 4, 30, 17, 0, tzinfo=UTC), Channel.sms)
    last = quarantined(aws, datetime(2026, 5, 31, 15, 30, tzinfo=UTC))
    june = quarantined(aws, datetime(2026, 5, 31, 16, 30, tzinfo=UTC))
    # when the county legal office opens May
    page = http.get("/console/quarantine?month=2026-05", headers=cookie(aws, Role.county_admin))
    html = page.body.decode()
    # then both May entries are listed in order, in county time, with channel, code and message; June's is not
    assert page.status_code == 200
    refs = re.findall(r'data-raw-ref="([^"]+)"', html)
    assert refs == [first.rsplit("/", 1)[-1], last.rsplit("/", 1)[-1]] and june.rsplit("/", 1)[-1] not in html
    assert "2026-05-01 01:00" in html and "2026-05-31 23:30" in html
    assert "短信" in html and "validation_failed" in html and "不能为空" in html
    # and each links to its raw payload for five minutes, shown as plain text whatever its sender declared
    links = re.findall(r'<a href="([^"]+)" rel="noreferrer" target="_blank">查看原文</a>', html)
    assert len(links) == 2
    query = parse_qs(urlparse(links[0].replace("&amp;", "&")).query)
    assert first in urlparse(links[0]).path and expires_in(query) == 300
    assert query["response-content-type"] == ["text/plain; charset=utf-8"]
    # and the page links to April; May's next month is June
    assert 'href="/cases/console/quarantine?month=2026-04"' in html
    assert 'href="/cases/console/quarantine?month=2026-06"' in html


def test_the_quarantine_is_paged(http, aws: Settings, monkeypatch) -> None:
    # given pages of three and seven entries quarantined across May in the county (both UTC shards)
    monkeypatch.setattr(quarantine, "PAGE_SIZE", 3)
    moments = [datetime(2026, 4, 30, 16, 30, tzinfo=UTC) + timedelta(days=4 * n) for n in range(7)]
    refs = [quarantined(aws, moment).rsplit("/", 1)[-1] for moment in moments]
    admin = cookie(aws, Role.county_admin)
    # when the county legal office follows the next-page links from the month's first page
    shown, url = [], "/console/quarantine?month=2026-05"
    while url:
        html = http.get(url, headers=admin).body.decode()
        page = re.findall(r'data-raw-ref="([^"]+)"', html)
        assert 0 < len(page) <= 3
        shown += page
        found = re.search(r'id="next-page" href="/cases(/console[^"]+)"', html)
        url = found.group(1).replace("&amp;", "&") if found else ""
    # then every entry was shown once, in order, three at most a page
    assert shown == refs


def test_the_auditor_reads_the_quarantine_without_raw_payloads_and_departments_are_refused(http, aws: Settings) -> None:
    # given a payload quarantined now
    quarantined(aws, datetime.now(UTC))
    # when the auditor opens this month (the default)
    html = http.get("/console/quarantine", headers=cookie(aws, Role.auditor)).body.decode()
    # then the entry is listed, without a link to the raw payload, and there is no later month to page to
    assert len(re.findall(r"data-raw-ref=", html)) == 1 and "查看原文" not in html and 'id="next-month"' not in html
    assert 'id="quarantine-link"' in html
    # and department staff and the media role are refused, a malformed month is answered plainly
    for role, department in ((Role.dept_officer, "JJDD"), (Role.dept_head, "JJDD"), (Role.media, None)):
        refused = http.get("/console/quarantine", headers=cookie(aws, role, department))
        assert refused.status_code == 403 and "data-raw-ref" not in refused.body.decode()
    bad = http.get("/console/quarantine?month=2026-13", headers=cookie(aws, Role.county_admin))
    assert bad.status_code == 400 and "年-月" in bad.body.decode()


# --- the publication of typical cases -------------------------------------------------------------------------


def publication_of(html: str) -> str:
    return html.split('id="publication"')[1].split("</section>")[0] if 'id="publication"' in html else ""


def test_the_county_office_drafts_edits_approves_publishes_and_withdraws_on_the_console(
    http, public, aws: Settings
) -> None:
    # given a negative typical case whose text names people, phones, a plate and an address
    number, _ = typical_case(aws, http)
    fzb = cookie(aws, Role.county_admin)
    page = http.get(f"/console/{number}", headers=fzb).body.decode()
    assert 'id="publication-none"' in page and 'id="publication_draft"' in page
    # when the county legal office generates the draft
    drafted = post(
        http, f"/console/{number}/publication_draft", fzb, {"csrf": csrf_of(page), "version": version_of(aws, number)}
    )
    # then the case shows it as a draft, with no personal data, and offers approval
    assert drafted.status_code == 303 and drafted.headers["Location"] == f"/cases/console/{number}#publication"
    page = http.get(f"/console/{number}", headers=fzb).body.decode()
    section = publication_of(page)
    assert 'data-state="draft"' in section and 'id="publication_approve"' in section
    assert 'id="publication_publish"' not in section and all(secret not in section for secret in PERSONAL)
    # when they edit the title and name a witness to remove
    fields = {
        "csrf": csrf_of(page),
        "version": version_of(aws, number),
        "title": "交警罚款不开票据案",
        "names": "赵六\n",
    }
    fields["summary"] = "赵六在场目睹执法人员罚款不开票据。"
    assert post(http, f"/console/{number}/publication_draft", fzb, fields).status_code == 303
    section = publication_of(http.get(f"/console/{number}", headers=fzb).body.decode())
    assert "交警罚款不开票据案" in section and "某某在场目睹" in section and "赵六" not in section.split("<form")[0]
    # when they approve and publish it, each with the version the page shows
    for form in ("publication_approve", "publication_publish"):
        page = http.get(f"/console/{number}", headers=fzb).body.decode()
        answer = post(
            http, f"/console/{number}/{form}", fzb, {"csrf": csrf_of(page), "version": version_of(aws, number)}
        )
        assert answer.status_code == 303
    # then it is public, and the console shows it published with the withdrawal offered, no edit form
    page = http.get(f"/console/{number}", headers=fzb).body.decode()
    section = publication_of(page)
    assert 'data-state="published"' in section and 'id="publication_unpublish"' in section
    assert 'id="publication_draft"' not in section
    assert "交警罚款不开票据案" in public.get("/cases/published").body.decode()
    # when a second tab posts the withdrawal with the version it saw before, after the first withdrew it
    stale = version_of(aws, number)
    assert (
        post(
            http, f"/console/{number}/publication_unpublish", fzb, {"csrf": csrf_of(page), "version": stale}
        ).status_code
        == 303
    )
    again = post(http, f"/console/{number}/publication_unpublish", fzb, {"csrf": csrf_of(page), "version": stale})
    # then it is told to refresh, on the case as it is now; the public page no longer lists the case
    assert again.status_code == 409 and "该投诉已被他人处理，请刷新" in again.body.decode()
    assert 'data-state="unpublished"' in publication_of(again.body.decode())
    assert "交警罚款不开票据案" not in public.get("/cases/published").body.decode()
    # and the timeline names each step
    timeline = again.body.decode().split('id="timeline"')[1]
    assert all(
        label in timeline for label in ("起草公开稿", "修改公开稿", "公开稿审核通过", "公开典型案例", "撤回公开")
    )


def test_publication_screens_are_read_only_for_the_auditor_and_absent_for_departments(http, aws: Settings) -> None:
    # given a typical case with a draft
    number, _ = typical_case(aws, http)
    fzb = cookie(aws, Role.county_admin)
    page = http.get(f"/console/{number}", headers=fzb).body.decode()
    post(http, f"/console/{number}/publication_draft", fzb, {"csrf": csrf_of(page), "version": version_of(aws, number)})
    # when the auditor and the department's officer open the case
    auditor = http.get(f"/console/{number}", headers=cookie(aws, Role.auditor)).body.decode()
    officer_cookie = cookie(aws, Role.dept_officer, "JJDD")
    officer = http.get(f"/console/{number}", headers=officer_cookie).body.decode()
    # then the auditor reads the record without any form; the officer does not see the section at all
    section = publication_of(auditor)
    assert 'data-state="draft"' in section and "<form" not in section
    assert publication_of(officer) == "" and 'id="publication-record"' not in officer
    # when the officer forces the approval with a valid CSRF token of their own session, or without one
    version = version_of(aws, number)
    forced = post(
        http, f"/console/{number}/publication_approve", officer_cookie, {"csrf": csrf_of(officer), "version": version}
    )
    no_csrf = post(http, f"/console/{number}/publication_approve", fzb, {"version": version})
    # then both are refused and nothing changed
    assert forced.status_code == 403 and "您的角色无权进行此操作" in forced.body.decode()
    assert no_csrf.status_code == 403 and "页面已过期" in no_csrf.body.decode()
    assert version_of(aws, number) == version


# --- media follow-up notes ------------------------------------------------------------------------------------


def test_media_notes_on_the_console_for_the_county_office_the_media_role_and_the_auditor(http, aws: Settings) -> None:
    # given a case flagged for media follow-up, and one not flagged
    number, other = routed(aws), routed(aws)
    api_action(http, aws, number, "flag_media", followup=True)
    fzb, media = cookie(aws, Role.county_admin), cookie(aws, Role.media)
    # when the county legal office follows the link from the case and adds a note
    case_page = http.get(f"/console/{number}", headers=fzb).body.decode()
    assert f'href="/cases/console/media?tracking_no={number}"' in case_page
    page = http.get(f"/console/media?tracking_no={number}", headers=fzb).body.decode()
    assert 'id="no-notes"' in page
    added = post(
        http, "/console/media", fzb, {"csrf": csrf_of(page), "tracking_no": number, "text": "请勿透露投诉人信息"}
    )
    assert added.status_code == 303 and added.headers["Location"] == f"/cases/console/media?tracking_no={number}"
    # and the media role, sent from the queue to its page, adds its own
    assert http.get("/console", headers=media).headers["Location"] == "/cases/console/media"
    page = http.get(f"/console/media?tracking_no={number}", headers=media).body.decode()
    fields = {"csrf": csrf_of(page), "tracking_no": number, "text": "已联系<b>大队</b>采访", "source": "县融媒体中心"}
    assert post(http, "/console/media", media, fields).status_code == 303
    # then the media role reads only its own note (escaped), with no link to the staff-only case
    notes = http.get(f"/console/media?tracking_no={number}", headers=media).body.decode()
    assert "已联系&lt;b&gt;大队&lt;/b&gt;采访" in notes and "县融媒体中心" in notes and "请勿透露" not in notes
    assert "案件详情" not in notes
    # and the county office and the auditor read both; the auditor has no form
    assert "请勿透露投诉人信息" in http.get(f"/console/media?tracking_no={number}", headers=fzb).body.decode()
    audited = http.get(f"/console/media?tracking_no={number}", headers=cookie(aws, Role.auditor)).body.decode()
    assert "请勿透露投诉人信息" in audited and "县融媒体中心" in audited and 'id="add-media-note"' not in audited
    # when the media role asks for a case that is not flagged, then it learns only that there is none
    unflagged = http.get(f"/console/media?tracking_no={other}", headers=media)
    assert unflagged.status_code == 404 and "未找到该案件" in unflagged.body.decode()
    # and department staff are refused; a note without the CSRF token or without text is not added
    refused = http.get(f"/console/media?tracking_no={number}", headers=cookie(aws, Role.dept_officer, "JJDD"))
    assert refused.status_code == 403
    assert post(http, "/console/media", media, {"tracking_no": number, "text": "x"}).status_code == 403
    empty = post(http, "/console/media", media, {"csrf": csrf_of(page), "tracking_no": number, "text": " "})
    assert empty.status_code == 422 and 'id="error"' in empty.body.decode()
    assert len(PublicationStore(aws).notes(number)) == 2


# --- messages relayed to the complainant ----------------------------------------------------------------------


def test_an_officer_who_may_not_see_the_contact_relays_a_message_from_the_case_page(http, aws: Settings) -> None:
    # given a complaint about the traffic police's staff, its complainant not agreeing to share the contact
    number = routed(aws)
    receive_all(queues.queue_url(aws.notify_queue), client("sqs"))  # the routing's own notices, if any
    officer = cookie(aws, Role.dept_officer, "JJDD")
    page = http.get(f"/console/{number}", headers=officer).body.decode()
    # then their officer is offered the relay form, not the reveal
    assert 'id="relay-message"' in page and 'id="reveal-complainant"' not in page
    # when the officer sends a message through it
    text = "请于周五前携票据到交警大队法制室说明情况"
    sent = post(http, f"/console/{number}/relay_message", officer, {"csrf": csrf_of(page), "text": text})
    # then it is queued for the stored contact, shown on the timeline, and the page never shows the number
    assert sent.status_code == 303 and sent.headers["Location"] == f"/cases/console/{number}"
    queued = [json.loads(m["Body"]) for m in receive_all(queues.queue_url(aws.notify_queue), client("sqs"))]
    assert [message["type"] for message in queued] == ["notification.requested"]
    after = http.get(f"/console/{number}", headers=officer).body.decode()
    timeline = after.split('id="timeline"')[1]
    assert "通过系统给投诉人留言" in timeline and text in timeline and PHONE not in after
    # when a message longer than one SMS is sent, then it is refused on the case page with the reason
    long = post(http, f"/console/{number}/relay_message", officer, {"csrf": csrf_of(page), "text": "长" * 200})
    assert long.status_code == 422 and "消息不能超过" in long.body.decode()


def test_roles_that_may_not_relay_get_no_form_and_are_refused(http, aws: Settings) -> None:
    # given a case of the traffic police
    number = routed(aws)
    auditor = cookie(aws, Role.auditor)
    page = http.get(f"/console/{number}", headers=auditor).body.decode()
    # then the auditor is offered no relay form
    assert 'id="relay-message"' not in page
    # when the auditor forces it, or another department's officer does with their own session's token
    forced = post(http, f"/console/{number}/relay_message", auditor, {"csrf": csrf_of(page), "text": "您好"})
    token = auth.issue_development_token(aws, Role.dept_officer, "SCJG")
    other = post(
        http,
        f"/console/{number}/relay_message",
        {"Cookie": f"{staff_pages.SESSION_COOKIE}={token}"},
        {"csrf": staff_pages.csrf_token(token), "text": "您好"},
    )
    # then both are refused (the other department as for a missing case), and nothing is recorded on the case
    assert forced.status_code == 403 and other.status_code == 404
    assert not [event for event in CaseStore(aws).events(number) if event.action == "relay_message"]
