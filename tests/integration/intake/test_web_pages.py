"""The citizen web page against moto, through the Chalice app: form, receipt, status page, uploads, OpenAPI."""

import html
import json
import re
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
import requests
from markupsafe import escape

from shared.core import quarantine, reference_data
from shared.core.aws import client
from shared.core.campaign import load_campaign
from shared.core.dal.cases import CaseStore
from shared.core.models import Channel, Status
from shared.core.settings import Settings, environment_settings
from shared.intake import openapi
from tests.support import load_service, raw_keys

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Host": "127.0.0.1:8000"}
DESCRIPTION = "县市场监管局的执法人员一个月内到我们店里检查了四次，每次都没有出示检查通知书。"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
VALID_ID = "11010519491231002X"
VALID_CREDIT_CODE = "91350100M000100Y43"


def post_form(http, fields: list[tuple[str, str]] | dict[str, str], headers: dict | None = None):
    body = urlencode(list(fields.items()) if isinstance(fields, dict) else fields).encode()
    response = http.post("/", headers={**FORM, **(headers or {})}, body=body)
    return response, response.body.decode()


def stored_cases(settings: Settings) -> list:
    return list(CaseStore(settings).by_status(Status.received))


def receipt_numbers(page: str) -> tuple[str, str]:
    number = re.search(r'id="tracking-no">(\w+)<', page)
    code = re.search(r'id="verification-code">(\d+)<', page)
    assert number and code, page
    return number.group(1), code.group(1)


def upload(http, settings: Settings, content: bytes, content_type: str = "image/png") -> str:
    """Ask for a slot, then post the file to (moto's) S3 with the presigned fields, as the page's script does."""
    slot = http.post(
        "/uploads",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"filename": "现场照片.png", "content_type": content_type, "size": len(content)}),
    )
    assert slot.status_code == 201, slot.body
    answer = json.loads(slot.body)
    posted = requests.post(answer["url"], data=answer["fields"], files={"file": ("photo.png", content)}, timeout=10)
    assert posted.status_code == 204
    return answer["key"]


def test_the_page_shows_channels_kinds_and_an_accessible_form(http) -> None:
    # given the campaign's published channels and the eleven kinds of problem
    campaign = load_campaign()
    # when the page is opened
    response = http.get("/", headers={"Host": "127.0.0.1:8000"})
    page = response.body.decode()
    # then it is UTF-8 HTML in Chinese that names every channel and kind in plain words
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<html lang="zh-CN">' in page and 'name="viewport"' in page
    for category in reference_data.categories():
        assert html.escape(category.description) in page
    assert all(hotline.number in page for hotline in campaign.hotlines)
    assert campaign.email in page and campaign.letter_box in page
    assert "5月5日" in page and "10月20日" in page
    # and every input has its label, and scripts may only come from the service itself
    for name in ("description", "respondent", "phone", "id_number", "organization", "credit_code"):
        assert f'<label for="{name}">' in page and f'id="{name}"' in page
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    # and without JavaScript there is a plain upload form posting to S3, which redirects back to this page
    assert 'enctype="multipart/form-data"' in page
    assert 'name="success_action_redirect" value="http://127.0.0.1:8000/intake/"' in page


def test_a_form_post_stores_the_complaint_and_answers_with_the_numbers(http, aws: Settings) -> None:
    # given a filled-in form of an enterprise
    fields = {
        "description": DESCRIPTION,
        "respondent": "县市场监管局",
        "who": "enterprise",
        "name": "王红",
        "phone": "13912345678",
        "organization": "靖宇县红星超市",
        "credit_code": VALID_CREDIT_CODE,
    }
    # when it is posted as a plain HTML form
    response, page = post_form(http, fields)
    # then a page shows the tracking number and the code, and explains how to check progress
    assert response.status_code == 201 and response.headers["Content-Type"] == "text/html; charset=utf-8"
    number, _ = receipt_numbers(page)
    assert "查询办理进度" in page and 'action="/intake/status"' in page
    # and the complaint is stored from the web channel with its complainant, the raw form archived
    case = CaseStore(aws).get(number)
    assert case is not None and case.channel == Channel.web and case.has_complainant and not case.anonymous
    assert case.description == DESCRIPTION
    archived = client("s3").get_object(Bucket=aws.raw_bucket, Key=case.raw_key)["Body"].read()
    assert raw_keys(aws) == [case.raw_key] and archived == urlencode(list(fields.items())).encode()


def test_the_same_form_sent_twice_is_one_complaint(http, aws: Settings) -> None:
    # given a form with its token (a double click, or a reload of the answer)
    fields = {"description": DESCRIPTION, "who": "anonymous", "token": "0123456789abcdef0123456789abcdef"}
    # when it is posted twice
    _, first = post_form(http, fields)
    again, second = post_form(http, fields)
    # then the second answer repeats the first and one complaint is stored
    assert again.status_code == 201
    assert receipt_numbers(first) == receipt_numbers(second)
    assert len(stored_cases(aws)) == 1


def test_the_status_page_shows_progress_and_hides_whether_a_number_exists(http) -> None:
    # given a complaint sent through the form
    _, page = post_form(http, {"description": DESCRIPTION, "who": "anonymous"})
    number, code = receipt_numbers(page)
    # when it is looked up with its code, with a wrong code, and an unknown number with a code
    found = http.get(f"/status?no={number}&code={code}")
    wrong = http.get(f"/status?no={number}&code={'000000' if code != '000000' else '111111'}")
    unknown = http.get(f"/status?no=ZF000000000000&code={code}")
    # then progress is shown in plain Chinese
    assert found.status_code == 200
    assert "已登记，正在分办" in found.body.decode() and number in found.body.decode()
    # and a wrong code looks exactly like an unknown number
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.body.decode().replace(number, "N") == unknown.body.decode().replace("ZF000000000000", "N")
    assert "未找到该投诉" in wrong.body.decode()
    # and the empty status page is a form with labels
    empty = http.get("/status").body.decode()
    assert '<label for="no">' in empty and '<label for="code">' in empty


def test_an_uploaded_file_is_checked_moved_out_of_quarantine_and_attached(http, aws: Settings) -> None:
    # given a PNG uploaded to its quarantine slot
    key = upload(http, aws, PNG)
    assert key.startswith("uploads/quarantine/") and key.endswith(".png")
    # when the form naming it is posted
    response, page = post_form(http, [("description", DESCRIPTION), ("who", "anonymous"), ("attachment", key)])
    # then the complaint has the file under attachments/, and quarantine no longer holds it
    assert response.status_code == 201, page
    case = CaseStore(aws).get(receipt_numbers(page)[0])
    assert case is not None and len(case.attachments) == 1
    assert case.attachments[0].startswith("attachments/") and case.attachments[0].endswith(".png")
    s3 = client("s3")
    assert s3.get_object(Bucket=aws.raw_bucket, Key=case.attachments[0])["Body"].read() == PNG
    assert "Contents" not in s3.list_objects_v2(Bucket=aws.raw_bucket, Prefix="uploads/quarantine/")


def test_the_json_api_attaches_uploaded_files_too(http, aws: Settings) -> None:
    # given an uploaded PDF
    key = upload(http, aws, b"%PDF-1.4\n%test\n", "application/pdf")
    # when a JSON complaint names it
    response = http.post(
        "/complaints",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"description": DESCRIPTION, "attachments": [key]}),
    )
    # then it is attached
    assert response.status_code == 201
    case = CaseStore(aws).get(json.loads(response.body)["tracking_no"])
    assert case is not None and case.attachments[0].endswith(".pdf")


def test_a_file_whose_content_is_not_its_type_is_refused(http, aws: Settings) -> None:
    # given an "image" that is an HTML page (moto, unlike S3, does not enforce the POST policy either)
    key = upload(http, aws, b"<html><script>alert(1)</script></html>", "image/png")
    # when a complaint names it
    response, page = post_form(http, [("description", DESCRIPTION), ("who", "anonymous"), ("attachment", key)])
    # then the form comes back with the problem next to the attachments, and no complaint is stored
    assert response.status_code == 422
    assert 'id="error-attachments"' in page and "附件内容与所选文件类型不符" in page
    assert not stored_cases(aws)


def test_a_page_after_an_upload_without_javascript_lists_the_file(http, aws: Settings) -> None:
    # given a file uploaded through the plain form, S3 redirecting back with key= (and one forged key)
    key = upload(http, aws, PNG)
    # when the page is opened as S3's redirect does
    query = urlencode([("key", key), ("bucket", aws.raw_bucket), ("attachment", "raw/web/forged")])
    page = http.get(f"/?{query}", headers={"Host": "127.0.0.1:8000"}).body.decode()
    # then the complaint form carries the upload, not the forged key, and the next upload returns with it
    assert key in http.get(f"/?key={key}").body.decode()
    assert f'<input type="hidden" name="attachment" value="{key}">' in page
    assert "raw/web/forged" not in page
    assert "?attachment=uploads%2Fquarantine%2F" in page


def long(length: int) -> str:
    return ("长" * length)[:length]


BASE = {"description": DESCRIPTION, "who": "anonymous"}
PERSON = {"description": DESCRIPTION, "who": "person"}

# (form fields, status, field with the error next to it (None: page-level), a value that must come back)
BAD_FORMS = {
    "empty description": ({**BASE, "description": ""}, 422, "description", None),
    "description over 5000": ({**BASE, "description": long(5001)}, 422, "description", long(5001)),
    "control character": ({**BASE, "description": "罚款\x07不开票"}, 422, "description", None),
    "zero-width only": ({**BASE, "description": "\u200b\u200c\ufeff"}, 422, "description", None),
    "script in a name": ({**PERSON, "name": "<script>alert(1)</script>"}, 422, "name", "<script>alert(1)</script>"),
    "formula in organisation": (
        {**BASE, "who": "enterprise", "organization": '=HYPERLINK("http://x","y")'},
        422,
        "organization",
        '=HYPERLINK("http://x","y")',
    ),
    "invalid phone": ({**PERSON, "phone": "12345"}, 422, "phone", "12345"),
    "invalid resident id": ({**PERSON, "id_number": "110105194912310021"}, 422, "id_number", "110105194912310021"),
    "invalid credit code": (
        {**BASE, "who": "enterprise", "organization": "红星超市", "credit_code": "91350100M000100Y44"},
        422,
        "credit_code",
        "91350100M000100Y44",
    ),
    "enterprise without a name": ({**BASE, "who": "enterprise"}, 422, "organization", None),
    "anonymous with a phone": ({**BASE, "phone": "13912345678"}, 422, "who", "13912345678"),
    "unknown identity": ({**BASE, "who": "robot"}, 422, "who", None),
    "forged upload key": ([*BASE.items(), ("attachment", "raw/web/2026/01/01/other")], 422, "attachments", None),
    "missing upload": (
        [*BASE.items(), ("attachment", "uploads/quarantine/" + "0" * 32 + "/file.png")],
        422,
        "attachments",
        None,
    ),
    "too many files": (
        [*BASE.items(), *[("attachment", f"uploads/quarantine/{index:032x}/f.png") for index in range(11)]],
        422,
        "attachments",
        None,
    ),
}


@pytest.mark.parametrize("name", BAD_FORMS)
def test_bad_form_input_gets_its_4xx_page_with_the_error_beside_the_field(http, aws: Settings, name: str) -> None:
    fields, status, field, kept = BAD_FORMS[name]
    # given a bad form
    # when it is posted
    response, page = post_form(http, fields)
    # then the form page comes back with the right status, the message next to the field and the input kept
    assert response.status_code == status
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert f'id="error-{field}"' in page
    assert f'aria-describedby="error-{field}' in page or field == "attachments"
    if kept is not None:
        assert str(escape(kept)) in page
    # and markup comes back escaped, never as markup
    assert "<script>alert" not in page
    # and the raw form is archived under the reference shown, and nothing is stored
    raw_ref = re.search(r"参考编号 ([\w-]+)", page)
    assert raw_ref and any(key.endswith(raw_ref.group(1)) for key in raw_keys(aws))
    assert not stored_cases(aws)


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        (json.dumps({"description": DESCRIPTION}).encode(), {"Content-Type": "application/json"}, 415, "表单"),
        (b"description=\xff\xfe", {}, 400, "无法识别"),
    ],
)
def test_a_post_that_is_not_a_usable_form_gets_a_page_level_error(http, aws, body, headers, status, message) -> None:
    # given a body of the wrong type, too large, or not UTF-8
    # when it is posted to the page
    response = http.post("/", headers={**FORM, **headers}, body=body)
    page = response.body.decode()
    # then the form page says why, and the raw body is archived
    assert response.status_code == status
    assert 'role="alert"' in page and message in page
    assert len(raw_keys(aws)) == 1


def test_an_oversized_form_is_refused_before_anything_of_it_is_stored(http, aws: Settings) -> None:
    # given a form body over the size limit
    body = b"description=" + b"%E9%95%BF" * 400_000
    # when it is posted to the page
    response = http.post("/", headers=FORM, body=body)
    page = response.body.decode()
    # then the form page says why, with no reference, and nothing of it is archived or put in quarantine
    assert response.status_code == 413 and 'role="alert"' in page and "KB" in page
    assert "参考编号" not in page
    assert raw_keys(aws) == [] and quarantine.month(aws, f"{datetime.now(UTC):%Y-%m}") == []


def test_form_posts_over_the_rate_limit_are_refused_unstored_and_keep_what_was_written(
    http, aws: Settings, monkeypatch
) -> None:
    # given a limit of one submission an hour per client address
    monkeypatch.setenv("SUBMISSIONS_PER_IP_PER_HOUR", "1")
    environment_settings.cache_clear()
    try:
        # when one client posts the form twice
        first, _ = post_form(http, {"description": DESCRIPTION})
        second, page = post_form(http, {"description": "第二次投诉：城管扣押三轮车不开清单", "token": "0" * 32})
    finally:
        environment_settings.cache_clear()
    # then the second gets the form again with its 429 and the text as written, no reference
    assert (first.status_code, second.status_code) == (201, 429)
    assert "第二次投诉：城管扣押三轮车不开清单" in page and "参考编号" not in page and "0" * 32 not in page
    # and only the first is archived; nothing of the second is on the quarantine list
    assert len(raw_keys(aws)) == 1 and len(stored_cases(aws)) == 1
    assert quarantine.month(aws, f"{datetime.now(UTC):%Y-%m}") == []


@pytest.mark.parametrize(
    ("ask", "status", "code"),
    [
        ({"filename": "a.html", "content_type": "text/html", "size": 10}, 422, "unsupported_upload_type"),
        ({"filename": "a.png", "content_type": "image/png", "size": 20 * 1024 * 1024 + 1}, 422, "upload_too_large"),
        ({"filename": "a.png", "content_type": "image/png", "size": 0}, 422, "upload_too_large"),
        ({"filename": "a.png", "content_type": "image/png"}, 422, "validation_failed"),
        ("{not json", 400, "malformed_json"),
    ],
)
def test_bad_upload_requests_are_refused_and_kept(http, aws: Settings, ask, status, code) -> None:
    # given a request for an upload slot that must not get one
    body = ask if isinstance(ask, str) else json.dumps(ask)
    # when it is posted
    response = http.post("/uploads", headers={"Content-Type": "application/json"}, body=body)
    # then it is refused with its code, and archived under the reference given back
    answer = json.loads(response.body)
    assert response.status_code == status and answer["error"]["code"] == code
    assert any(key.endswith(answer["error"]["raw_ref"]) for key in raw_keys(aws))


def test_upload_slots_are_limited_per_client(http, monkeypatch) -> None:
    # given a limit of one upload slot an hour per client address
    monkeypatch.setenv("UPLOADS_PER_IP_PER_HOUR", "1")
    environment_settings.cache_clear()
    ask = json.dumps({"filename": "a.png", "content_type": "image/png", "size": 10})
    try:
        # when two slots are asked for
        statuses = [
            http.post("/uploads", headers={"Content-Type": "application/json"}, body=ask).status_code for _ in range(2)
        ]
    finally:
        environment_settings.cache_clear()
    # then the second is refused
    assert statuses == [201, 429]


def test_openapi_describes_every_route_of_the_app(http) -> None:
    # given the intake app's routes
    app = load_service("intake").app
    # when its OpenAPI document is fetched
    response = http.get("/openapi.json")
    document = json.loads(response.body)
    # then every route and method is in it, with the models as schemas
    assert response.status_code == 200 and document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": "/intake"}]
    for path, methods in app.routes.items():
        for method in methods:
            assert "responses" in document["paths"][path][method.lower()], (path, method)
    assert {"ComplaintRequest", "Receipt", "UploadSlot", "ErrorBody", "ComplaintStatus"} <= document["components"][
        "schemas"
    ].keys()
    form = document["paths"]["/"]["post"]["requestBody"]["content"]
    assert "application/x-www-form-urlencoded" in form
    # and the path parameters have their shapes, and each route that reads the settings may answer 503
    lookup = document["paths"]["/complaints/{tracking_no}"]["get"]
    assert lookup["parameters"][0]["schema"]["pattern"].startswith("^[A-Z]")
    assert "503" in lookup["responses"] and "503" in document["paths"]["/complaints"]["post"]["responses"]
    assert document["paths"]["/sms/{provider}"]["post"]["parameters"][0]["schema"]["enum"] == [
        "twilio",
        "aliyun",
        "tencent",
    ]
    # and every reference points at a schema the document has
    references = set(re.findall(r'"#/components/schemas/(\w+)"', json.dumps(document)))
    assert references <= document["components"]["schemas"].keys()


def test_a_route_without_a_description_is_described_as_a_webhook() -> None:
    # given a route table with an undocumented webhook
    class Entry:
        view_name = "post_fax"
        uri_pattern = "/fax/{provider}"
        content_types = ("*/*",)

        @staticmethod
        def view_function() -> None:
            """Fax gateway webhook."""

    # when the document is generated
    document = openapi.document({"/fax/{provider}": {"POST": Entry}}, "/x")
    # then the route is there, taking a form or JSON, with its path parameter and the docstring as summary
    operation = document["paths"]["/fax/{provider}"]["post"]
    assert operation["summary"] == "Fax gateway webhook."
    assert set(operation["requestBody"]["content"]) == {"application/x-www-form-urlencoded", "application/json"}
    assert operation["parameters"][0]["name"] == "provider"
