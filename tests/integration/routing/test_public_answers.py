"""Answered questions for the public (shared/routing/publication.py, reused): the county legal office drafts the
redacted public version, edits, approves and publishes it on /intake/answers and its feed; typical cases apart."""

import json

from shared.core.auth import Role
from shared.core.settings import Settings
from tests.integration.routing.test_publication import bearer, get, post
from tests.integration.routing.test_questions import route_all, submit

QUESTION = "我叫王红，电话13912345678。请问对交警大队的罚款决定不服，应该向哪里申请行政复议，期限是多长时间？"
ANSWER = "王红您好：可以自知道该行政行为之日起六十日内，向县人民政府申请行政复议。"
PERSONAL = ("王红", "13912345678")


def answered_question(settings: Settings, http, public) -> tuple[str, int]:
    """A question of a named asker, answered by the traffic police's officer; (number, version)."""
    submit(public, {"kind": "question", "description": QUESTION, "complainant": {"name": "王红", "phone": PERSONAL[1]}})
    [case] = route_all(settings)
    officer = bearer(settings, Role.dept_officer, "JJDD")
    status, answer = post(http, f"/{case.tracking_no}/actions/answer", officer, version=case.version, answer=ANSWER)
    assert status == 200, answer
    return case.tracking_no, answer["case"]["version"]


def test_an_answered_question_is_redacted_edited_approved_and_published_for_the_public_and_media(
    http, public, aws: Settings
) -> None:
    # given an answered question whose asker gave a name and a phone number in it
    number, version = answered_question(aws, http, public)
    fzb = bearer(aws, Role.county_admin)
    # when the county legal office drafts its public version
    status, drafted = post(http, f"/{number}/publication", fzb, version=version)
    # then the draft is the question and the answer without the asker's name and number
    assert status == 200, drafted
    record = drafted["publication"]
    assert (record["kind"], record["state"]) == ("answer", "draft")
    assert not any(value in json.dumps(record, ensure_ascii=False) for value in PERSONAL)
    assert "向县人民政府申请行政复议" in record["outcome"] and "行政复议" in record["summary"]
    # when it edits the title, approves and publishes it
    status, edited = post(http, f"/{number}/publication", fzb, version=drafted["version"], title="不服罚款怎样申请复议")
    assert status == 200, edited
    status, approved = post(http, f"/{number}/publication/approve", fzb, version=edited["version"])
    assert status == 200, approved
    status, published = post(http, f"/{number}/publication/publish", fzb, version=approved["version"])
    assert status == 200, published
    # then the feed media take has it: title, question, answer, department, date; no case number, no person
    feed = json.loads(public.get("/answers.json").body)["items"]
    assert [set(item) for item in feed] == [{"id", "title", "question", "answer", "department", "published_at"}]
    [item] = feed
    assert (item["title"], item["department"]) == ("不服罚款怎样申请复议", "县公安局交通警察大队")
    assert number not in json.dumps(feed) and not any(
        value in json.dumps(feed, ensure_ascii=False) for value in PERSONAL
    )
    # and the public page shows it, while the typical cases stay apart
    page = public.get("/answers").body.decode()
    assert "不服罚款怎样申请复议" in page and "向县人民政府申请行政复议" in page
    assert json.loads(public.get("/cases/published.json").body)["items"] == []
    # and every step is an audit event on the case
    actions = [event["action"] for event in get(http, f"/{number}", fzb)[1]["timeline"]]
    assert actions[-4:] == ["publication_draft", "publication_edit", "publication_approve", "publication_publish"]
    # when it is withdrawn, then the public list is empty again
    status, _ = post(http, f"/{number}/publication/unpublish", fzb, version=published["version"])
    assert status == 200
    assert json.loads(public.get("/answers.json").body)["items"] == []
    assert 'id="no-answers"' in public.get("/answers").body.decode()


def test_a_question_not_yet_answered_cannot_be_published(http, public, aws: Settings) -> None:
    # given a question awaiting its answer
    submit(public, {"kind": "question", "description": QUESTION, "anonymous": True})
    [case] = route_all(aws)
    # when the county legal office drafts its public version, then it is refused: answer it first
    status, refused = post(
        http, f"/{case.tracking_no}/publication", bearer(aws, Role.county_admin), version=case.version
    )
    assert (status, refused["error"]["fields"][0]["code"]) == (409, "not_answered")


def test_only_the_county_legal_office_publishes_answers(http, public, aws: Settings) -> None:
    # given an answered question, when the answering department's officer drafts a public version, then 403
    number, version = answered_question(aws, http, public)
    status, _ = post(http, f"/{number}/publication", bearer(aws, Role.dept_officer, "JJDD"), version=version)
    assert status == 403
