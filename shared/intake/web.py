"""The citizen web pages at /intake/: the complaint form, its answer, the status page, published typical cases and
published answers to questions.

Plain HTML forms that work without JavaScript (a form POST answers with a page; files go to S3 through a
second form that S3 redirects back here); `intake.js` only makes uploading smoother. Templates are in
`shared/templates/`, rendered by Jinja2 with autoescaping on for every template. What the campaign publishes
(hotlines, letter box, email, dates) is read from `shared/data/campaign.json`.
"""

import contextlib
import hashlib
import re
import secrets
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.core import errors, filing, ratelimit, reference_data, uploads
from shared.core.errors import ApiError, FieldError, from_validation_error
from shared.core.models import Channel
from shared.core.pages import FORM, TEMPLATES, Page, Site, render
from shared.core.published import published, published_answers
from shared.core.settings import Settings
from shared.intake import complaints

ASSETS = {"intake.css": "text/css; charset=utf-8", "intake.js": "text/javascript; charset=utf-8"}

# Who complains: a choice on the form. Contact fields are passed on whatever the choice, so that the model
# refuses contact details given with "anonymous" instead of dropping them unseen.
WHO = {"anonymous": "匿名投诉", "person": "以个人名义", "enterprise": "以企业名义"}
TEXT_FIELDS = ("description", "respondent", "incident_at", "location")
CONTACT_FIELDS = ("name", "phone", "email", "id_number", "organization", "credit_code")
# 我要投诉 / 我要咨询; none chosen, routing tells them apart (shared/routing/questions.py).
KINDS = {"complaint": "我要投诉", "question": "我要咨询"}
FIELDS = ("kind", *TEXT_FIELDS, "who", *CONTACT_FIELDS, "consent_to_share", "token")
_TOKEN = re.compile(r"[0-9a-f]{32}")


def asset(name: str) -> tuple[str, str]:
    """The page's stylesheet or script: (content type, text)."""
    if name not in ASSETS:
        raise ApiError(404, "not_found", "找不到该文件")
    return ASSETS[name], (TEMPLATES / name).read_text(encoding="utf-8")


# --- the complaint form ---------------------------------------------------------------------------------------


def form_page(
    settings: Settings,
    where: Site,
    client_ip: str,
    attachments: list[str],
    now: datetime | None = None,
    status: int = 200,
    values: dict[str, str] | None = None,
    error: ApiError | None = None,
    raw_ref: str | None = None,
) -> Page:
    """The form, empty or as the person filled it in, with each error next to its field."""
    now = now or datetime.now(UTC)
    attachments = [key for key in dict.fromkeys(attachments) if uploads.is_upload_key(key)]
    slot = _upload_slot(settings, where, client_ip, attachments, now)
    field_errors, other_errors = _errors_by_field(error)
    html = render(
        "intake.html",
        base=where.base_path,
        values=values or {"who": "anonymous"},
        who_choices=WHO,
        kind_choices=KINDS,
        categories=reference_data.categories(),
        attachments=[(key, key.rsplit("/", 1)[-1]) for key in attachments],
        slot=slot,
        upload_types=uploads.TYPES,
        max_files=settings.upload_max_files,
        max_mb=settings.upload_max_bytes // (1024 * 1024),
        token=secrets.token_hex(16),
        error=error,
        field_errors=field_errors,
        other_errors=other_errors,
        raw_ref=raw_ref,
    )
    return Page(status, html, urlsplit(slot.url)._replace(path="", query="").geturl() if slot else None)


def _upload_slot(
    settings: Settings, where: Site, client_ip: str, attachments: list[str], now: datetime
) -> uploads.UploadSlot | None:
    """A presigned POST for the plain HTML upload form, or None when no more files may be added."""
    if len(attachments) >= settings.upload_max_files:
        return None
    if not ratelimit.allow(settings, "upload-ip", client_ip, settings.uploads_per_ip_per_hour, 3600, now):
        return None
    # S3 adds key= (and bucket=, etag=) to this address when it redirects the browser back after the upload.
    redirect = where.page_url + ("?" + urlencode([("attachment", key) for key in attachments]) if attachments else "")
    return uploads.presign(settings, "attachment", None, redirect)


def _errors_by_field(error: ApiError | None) -> tuple[dict[str, str], list[str]]:
    if error is None:
        return {}, []
    by_field: dict[str, str] = {}
    others: list[str] = []
    for item in error.fields:
        name = item.field.removeprefix("complainant.").split(".", 1)[0]
        if item.code == "invalid_anonymous":
            name = "who"
        if name in FIELDS or name == "attachments":
            by_field.setdefault(name, item.message)
        else:
            others.append(item.message)
    if not error.fields:
        others.append(error.message)
    return by_field, others


def read_form(body: bytes) -> tuple[dict[str, str], list[str]]:
    """The form's fields (the first value of each) and the attachment keys, in order."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=100)
    except ValueError as error:  # UnicodeDecodeError is a ValueError; so is "too many fields"
        raise ApiError(400, "malformed_form", "提交的表单无法识别，请刷新页面后重新填写") from error
    values: dict[str, str] = {}
    attachments: list[str] = []
    for name, value in pairs:
        if name == "attachment":
            attachments.append(value)
        elif name in FIELDS:
            values.setdefault(name, value)
    return values, attachments


def request_from_form(values: dict[str, str], attachments: list[str]) -> filing.ComplaintRequest:
    """The form's fields as the JSON API's request, checked by the same model."""
    who = values.get("who") or "anonymous"
    if who not in WHO:
        raise ApiError(422, "validation_failed", "提交的内容有误，请按提示修改后重新提交", [_field("who", "请选择")])
    if who == "enterprise" and not values.get("organization", "").strip():
        raise ApiError(
            422,
            "validation_failed",
            "提交的内容有误，请按提示修改后重新提交",
            [_field("organization", "请填写企业名称")],
        )
    kind = values.get("kind", "")
    if kind and kind not in KINDS:
        raise ApiError(422, "validation_failed", "提交的内容有误，请按提示修改后重新提交", [_field("kind", "请选择")])
    data: dict[str, object] = {name: values[name] for name in TEXT_FIELDS if values.get(name, "").strip()}
    if kind:
        data["kind"] = kind
    data["description"] = values.get("description", "")
    contact = {name: values[name] for name in CONTACT_FIELDS if values.get(name, "").strip()}
    if contact:
        # A checkbox: sent as "yes" when ticked, absent otherwise (shared/routing/confidentiality.py).
        data["complainant"] = {**contact, "consent_to_share": values.get("consent_to_share") == "yes"}
    data["anonymous"] = who == "anonymous"
    data["attachments"] = attachments
    try:
        return filing.ComplaintRequest.model_validate(data)
    except ValidationError as error:
        raise from_validation_error(error) from error


def _field(name: str, message: str) -> FieldError:
    return FieldError(field=name, code="invalid", message=message)


def submit_form(
    settings: Settings, body: bytes, content_type: str, client_ip: str, where: Site, now: datetime | None = None
) -> Page:
    """The form POST: the size check, archive, check as the JSON API does, store once per form token (with the
    sender's rate-limit counters), answer with a page."""
    now = now or datetime.now(UTC)
    try:
        limit = settings.submissions_per_ip_per_hour
        admission = ratelimit.admission(settings, "submit-ip", client_ip, limit, body, now)
        raw_key = filing.archive_raw(settings, Channel.web, body, content_type, now)
        return filing.refusing_over_limit(
            settings, raw_key, lambda: _file(settings, body, content_type, client_ip, where, now, raw_key, admission)
        )
    except ApiError as error:  # too large, or over a limit: nothing of it kept
        return _refused_unstored(settings, where, client_ip, body, error, now)


def _file(
    settings: Settings,
    body: bytes,
    content_type: str,
    client_ip: str,
    where: Site,
    now: datetime,
    raw_key: str,
    admission: ratelimit.Admission,
) -> Page:
    """An archived form filed; the receipt page, or the form again with what was wrong."""
    values: dict[str, str] = {}
    attachments: list[str] = []
    try:
        if (content_type or "").split(";", 1)[0].strip().lower() != FORM:
            raise ApiError(415, "unsupported_media_type", "请通过投诉页面上的表单提交")
        values, attachments = read_form(body)
        request = request_from_form(values, attachments)
        token = values.get("token", "")
        # A double click or a reload sends the same token: the first answer comes back, no second complaint.
        key = f"form-{token}" if _TOKEN.fullmatch(token) else None
        fingerprint = hashlib.sha256(body).hexdigest()
        answer = complaints.accept(settings, request, Channel.web, raw_key, now, key, fingerprint, admission)
    except ApiError as error:
        rejected = filing.reject(settings, Channel.web, raw_key, error, now, admission)
        values.pop("token", None)
        return form_page(
            settings, where, client_ip, attachments, now, rejected.status, values, error, filing.raw_ref(raw_key)
        )
    return Page(answer.status, render("receipt.html", base=where.base_path, receipt=answer.body))


def _refused_unstored(
    settings: Settings, where: Site, client_ip: str, body: bytes, error: ApiError, now: datetime
) -> Page:
    """A form refused by its size or a rate limit (shared/core/ratelimit.py): nothing of it kept, no reference; the
    form again with what the person wrote when it is within the size limit and readable."""
    values: dict[str, str] = {}
    attachments: list[str] = []
    if len(body) <= settings.max_body_bytes:
        with contextlib.suppress(ApiError):  # unreadable: the empty form
            values, attachments = read_form(body)
    values.pop("token", None)
    return form_page(settings, where, client_ip, attachments, now, error.status, values, error)


# --- uploads --------------------------------------------------------------------------------------------------


class UploadRequest(BaseModel):
    """The body of POST /uploads: the file the browser is about to send."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)

    filename: str
    content_type: str
    size: int


def request_upload(
    settings: Settings, body: bytes, content_type: str, client_ip: str, now: datetime | None = None
) -> filing.Answer:
    """An upload slot for one file (JSON in, presigned POST out); past the cheap checks, archived like any other."""
    now = now or datetime.now(UTC)
    ratelimit.admit(settings, "upload-ip", client_ip, settings.uploads_per_ip_per_hour, body, now)
    raw_key = filing.archive_raw(settings, Channel.web, body, content_type, now)
    try:
        errors.check_json_body(settings, body, content_type)
        try:
            ask = UploadRequest.model_validate_json(body)
        except ValidationError as error:
            if any(item["type"] == "json_invalid" for item in error.errors()):
                raise ApiError(400, "malformed_json", "提交的内容不是有效的 JSON") from error
            raise from_validation_error(error) from error
        uploads.check_type_and_size(settings, ask.content_type, ask.size)
        slot = uploads.presign(settings, ask.filename, ask.content_type)
        return filing.Answer(status=201, body=slot.model_dump())
    except ApiError as error:
        return filing.reject(settings, Channel.web, raw_key, error, now)


# --- the status page ------------------------------------------------------------------------------------------


def status_page(settings: Settings, where: Site, number: str, code: str, client_ip: str) -> Page:
    """Look a complaint up by number and code (a GET form); unknown numbers and wrong codes look the same."""
    number, code = number.strip(), code.strip()
    if not number and not code:
        return Page(200, render("status.html", base=where.base_path, number="", status=None, error=None))
    try:
        status = complaints.complaint_status(settings, number, code, client_ip)
    except ApiError as error:
        page = render("status.html", base=where.base_path, number=number, status=None, error=error.message)
        return Page(error.status, page)
    return Page(200, render("status.html", base=where.base_path, number=number, status=status, error=None))


def published_page(settings: Settings, where: Site) -> Page:
    """The public HTML list, in the layout of the complaint pages; the text is escaped by Jinja2."""
    html = render("published.html", base=where.base_path, items=published(settings))
    # Public material: no personal data, so it may be cached briefly.
    return Page(200, html, headers={"Cache-Control": "max-age=60"})


def answers_page(settings: Settings, where: Site) -> Page:
    """The public HTML list of answered questions the county legal office published; escaped by Jinja2."""
    html = render("answers.html", base=where.base_path, items=published_answers(settings))
    return Page(200, html, headers={"Cache-Control": "max-age=60"})
