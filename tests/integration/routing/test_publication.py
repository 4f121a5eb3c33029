"""Typical cases for the public and media notes (shared/routing/publication.py) through the routing and intake apps."""

import json

from shared.core import auth, queues
from shared.core.auth import Role
from shared.core.aws import client
from shared.core.messages import Envelope
from shared.core.settings import Settings
from shared.intake.complaints import submit_complaint
from shared.routing import router
from tests.support import receive_all

STORY = "交警李警官在人民路18号拦下我的车浙A12345罚款两百元，不开罚款收据，让我把钱转到他手机13800001111上。"
COMPLAINANT = {"name": "王红", "phone": "13912345678"}
PERSONAL = ("王红", "13912345678", "13800001111", "浙A12345", "18号", "李警官")


def bearer(settings: Settings, role: Role, department: str | None = None) -> dict:
    token = auth.issue_development_token(settings, role, department)
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def post(http, path: str, headers: dict, **fields) -> tuple[int, dict]:
    response = http.post(path, headers=headers, body=json.dumps(fields, ensure_ascii=False))
    return response.status_code, json.loads(response.body)


def get(http, path: str, headers: dict) -> tuple[int, dict]:
    response = http.get(path, headers=headers)
    return response.status_code, json.loads(response.body)


def replied_case(settings: Settings, http) -> tuple[str, int]:
    """A complaint routed to the traffic police, decided and replied to by their officer; (number, version)."""
    body = json.dumps({"description": STORY, "complainant": COMPLAINANT}, ensure_ascii=False).encode()
    number = str(submit_complaint(settings, body, "application/json", None).body["tracking_no"])
    message = receive_all(queues.queue_url(settings.intake_queue), client("sqs"))[-1]["Body"]
    router.route_complaint(settings, Envelope.model_validate_json(message))
    officer = bearer(settings, Role.dept_officer, "JJDD")
    version = get(http, f"/{number}", officer)[1]["case"]["version"]
    steps = [
        ("accept", {}),
        ("start_investigation", {}),
        ("decide", {"finding": "substantiated", "measures": ["correct"], "summary": "王红反映属实，已退还罚款。"}),
        ("reply", {"message": "王红您好：经查属实，已责令退还罚款，电话13800001111已停用。"}),
    ]
    for action, fields in steps:
        status, answer = post(http, f"/{number}/actions/{action}", officer, version=version, **fields)
        assert status == 200, answer
        version = answer["case"]["version"]
    return number, version


def typical_case(settings: Settings, http) -> tuple[str, int]:
    number, version = replied_case(settings, http)
    fzb = bearer(settings, Role.county_admin)
    status, answer = post(http, f"/{number}/actions/mark_typical", fzb, version=version, kind="negative")
    assert status == 200, answer
    return number, answer["case"]["version"]


def test_a_typical_case_is_redacted_approved_published_and_withdrawn_with_audit(http, public, aws: Settings) -> None:
    # given a negative typical case whose text names the complainant, an officer, phones, a plate and an address
    number, version = typical_case(aws, http)
    fzb = bearer(aws, Role.county_admin)
    # when the county legal office drafts its publication
    status, answer = post(http, f"/{number}/publication", fzb, version=version)
    # then the draft is the case's text without any personal data, and the case version moved on
    assert status == 200, answer
    draft = answer["publication"]
    assert draft["state"] == "draft" and answer["version"] == version + 1
    for secret in PERSONAL:
        assert secret not in draft["title"] + draft["summary"] + draft["outcome"]
    assert (
        "人民路[门牌号]" in draft["summary"] and "[车牌号]" in draft["summary"] and "已责令退还罚款" in draft["outcome"]
    )
    # when staff edit the title with markup and a phone, approve with a stale version, then with the current one
    title = "<script>alert(1)</script>乱罚款 13912345678"
    status, answer = post(http, f"/{number}/publication", fzb, version=version + 1, title=title)
    assert status == 200 and "13912345678" not in answer["publication"]["title"]
    stale = post(http, f"/{number}/publication/approve", fzb, version=version)
    approved = post(http, f"/{number}/publication/approve", fzb, version=version + 2)
    # then the stale one is refused, the other records who approved
    assert stale[0] == 409 and stale[1]["error"]["code"] == "version_conflict"
    assert approved[0] == 200 and approved[1]["publication"]["approved_by"] == "dev-county_admin"
    # when it is published
    status, answer = post(http, f"/{number}/publication/publish", fzb, version=version + 3)
    assert status == 200 and answer["publication"]["state"] == "published"
    # then the public feed and page show the redacted text only, markup escaped, without the tracking number
    feed = json.loads(public.get("/cases/published.json").body)
    assert [item["title"] for item in feed["items"]] == [answer["publication"]["title"]]
    assert number not in json.dumps(feed, ensure_ascii=False)
    assert not any(secret in json.dumps(feed, ensure_ascii=False) for secret in PERSONAL)
    page = public.get("/cases/published")
    html = page.body.decode()
    assert (
        page.status_code == 200
        and "&lt;script&gt;alert(1)&lt;/script&gt;乱罚款" in html
        and "<script>alert" not in html
    )
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert not any(secret in html for secret in PERSONAL) and number not in html
    # when it is withdrawn
    status, answer = post(http, f"/{number}/publication/unpublish", fzb, version=version + 4)
    # then the feed is empty again and each step is on the case's timeline, by whom, in order
    assert status == 200 and json.loads(public.get("/cases/published.json").body) == {"items": []}
    assert "目前还没有公开的典型案例" in public.get("/cases/published").body.decode()
    timeline = get(http, f"/{number}", fzb)[1]["timeline"]
    steps = [(event["action"], event["actor"]) for event in timeline if event["action"].startswith("publication_")]
    names = ["draft", "edit", "approve", "publish", "unpublish"]
    assert steps == [(f"publication_{name}", "dev-county_admin") for name in names]


def test_only_the_county_legal_office_prepares_publications_and_only_in_order(http, aws: Settings) -> None:
    # given a case that is not yet typical and the staff of every other role
    number, version = replied_case(aws, http)
    fzb = bearer(aws, Role.county_admin)
    others = [
        bearer(aws, Role.dept_head, "JJDD"),
        bearer(aws, Role.dept_officer, "JJDD"),
        bearer(aws, Role.auditor),
        bearer(aws, Role.media),
    ]
    # when the county legal office drafts before it is marked typical, then it is told to mark it first
    status, answer = post(http, f"/{number}/publication", fzb, version=version)
    assert status == 409 and answer["error"]["fields"][0]["code"] == "not_typical"
    status, answer = post(http, f"/{number}/actions/mark_typical", fzb, version=version, kind="positive")
    version = answer["case"]["version"]
    # when other roles try to draft or to take any step, then they are refused
    for headers in others:
        assert post(http, f"/{number}/publication", headers, version=version)[0] == 403
        for step in ("approve", "publish", "unpublish"):
            assert post(http, f"/{number}/publication/{step}", headers, version=version)[0] == 403
    # when the county office publishes before approving, then the state is refused
    status, _ = post(http, f"/{number}/publication", fzb, version=version)
    status, answer = post(http, f"/{number}/publication/publish", fzb, version=version + 1)
    assert status == 409 and answer["error"]["fields"][0]["code"] == "draft"
    # and no token at all is refused
    assert http.post(f"/{number}/publication", body=json.dumps({"version": version + 1})).status_code == 401


def test_media_role_sees_published_material_and_its_own_notes_only(http, aws: Settings) -> None:
    # given a typical case with a draft publication, the media role and the county legal office
    number, version = typical_case(aws, http)
    fzb, media = bearer(aws, Role.county_admin), bearer(aws, Role.media)
    post(http, f"/{number}/publication", fzb, version=version)
    # when the media role asks for the case, the draft, or adds a note before the case is flagged
    # then it learns nothing: the case is staff-only, a draft does not exist for it, nor does an unflagged case
    assert get(http, f"/{number}", media)[0] == 403
    assert get(http, f"/{number}/publication", media)[0] == 404
    assert post(http, f"/{number}/media-notes", media, text="跟进采访")[0] == 404
    # when the county legal office flags it for media follow-up and both add notes
    post(http, f"/{number}/actions/flag_media", fzb, version=version + 1)
    mine = post(http, f"/{number}/media-notes", media, text="已联系执法大队采访，<b>待回复</b>")
    theirs = post(http, f"/{number}/media-notes", fzb, text="请勿透露投诉人信息")
    assert mine[0] == 201 and theirs[0] == 201
    # then the media role reads only its own note, the county office and the auditor read both
    status, answer = get(http, f"/{number}/media-notes", media)
    assert status == 200 and [note["text"] for note in answer["items"]] == ["已联系执法大队采访，<b>待回复</b>"]
    assert len(get(http, f"/{number}/media-notes", bearer(aws, Role.auditor))[1]["items"]) == 2
    assert len(get(http, f"/{number}/media-notes", fzb)[1]["items"]) == 2
    # and department staff may neither add nor read notes
    officer = bearer(aws, Role.dept_officer, "JJDD")
    assert post(http, f"/{number}/media-notes", officer, text="说明")[0] == 403
    assert get(http, f"/{number}/media-notes", officer)[0] == 403
    # when the publication is approved and published, then the media role sees its public view only
    assert post(http, f"/{number}/publication/approve", fzb, version=version + 2)[0] == 200
    assert post(http, f"/{number}/publication/publish", fzb, version=version + 3)[0] == 200
    status, answer = get(http, f"/{number}/publication", media)
    assert status == 200 and set(answer["publication"]) == {
        "id",
        "kind",
        "kind_name",
        "title",
        "summary",
        "outcome",
        "category",
        "department",
        "published_at",
    }
    # while the auditor reads the whole record, who edited and approved it included
    status, answer = get(http, f"/{number}/publication", bearer(aws, Role.auditor))
    assert status == 200 and answer["publication"]["approved_by"] == "dev-county_admin"
