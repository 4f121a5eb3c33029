"""The intake API's OpenAPI document (shared/core/openapi.py makes it from the app's routes): the descriptions of
its routes. A route without one (e.g. a provider's webhook) is described generically as taking a form or JSON body,
with the first line of its view's docstring as its summary.
"""

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from shared.core import openapi
from shared.core.filing import ComplaintRequest, Receipt
from shared.core.models import TRACKING_NO_PATTERN
from shared.core.openapi import FORM, HTML, Body, Doc, ErrorBody
from shared.core.uploads import UploadSlot
from shared.intake.callbacks import FeedbackRequest
from shared.intake.sms_inbound import Provider
from shared.intake.web import ASSETS, UploadRequest


class Named(BaseModel):
    code: str
    name: str


class ComplaintStatus(BaseModel):
    """What GET /complaints/{tracking_no} shows (shared.intake.complaints.complaint_status): progress, no personal
    data."""

    tracking_no: str
    kind: str  # complaint (投诉) or question (咨询)
    status: str
    status_name: str
    category: Named | None
    department: Named | None
    received_at: str
    acceptance_due_at: str | None
    due_at: str | None
    due_kind: str | None
    # A question's answer and when it was given, once answered.
    answer: str | None = None
    answered_at: str | None = None


class FeedbackAnswer(BaseModel):
    """What POST /complaints/{tracking_no}/feedback answers (shared.intake.callbacks)."""

    tracking_no: str
    rating: str
    rating_name: str
    answered_at: str
    answer_until: str
    review: str | None = None  # how to ask for a review, for a dissatisfied complainant


class FeedbackForm(BaseModel):
    """The fields of the call-back page's form (POST /feedback)."""

    no: str
    code: str
    rating: str
    comment: str | None = None


class SurveyForm(BaseModel):
    """The opinion form (POST /surveys/{survey_id}?t=): `r-<department>-<aspect>` = a level, and the text."""

    text: str | None = None


class PublishedCase(BaseModel):
    """A published typical case (shared.core.published.public_view): redacted text only, an opaque id."""

    id: str
    kind: str
    kind_name: str
    title: str
    summary: str
    outcome: str
    category: str | None
    department: str | None
    published_at: str


class PublishedFeed(BaseModel):
    items: list[PublishedCase]


class PublishedAnswer(BaseModel):
    """A published answer to a question (shared.core.published.public_view): redacted text only, an opaque id."""

    id: str
    title: str
    question: str
    answer: str
    department: str | None
    published_at: str


class AnswersFeed(BaseModel):
    items: list[PublishedAnswer]


class ComplaintForm(BaseModel):
    """The fields of the web form (POST /): checked as ComplaintRequest once mapped."""

    kind: str | None = None  # 我要投诉 complaint / 我要咨询 question; none chosen: routing decides
    description: str
    respondent: str | None = None
    incident_at: str | None = None
    location: str | None = None
    who: str = "anonymous"
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    id_number: str | None = None
    organization: str | None = None
    credit_code: str | None = None
    attachment: list[str] = []
    token: str | None = None


# Every route but the static assets reads the settings first: 503 while the service's secrets are not configured.
_NOT_CONFIGURED: dict[int, tuple[str, Body]] = {503: ("尚未完成配置，暂时无法提供服务", ErrorBody)}
_JSON_ERRORS: dict[int, tuple[str, Body]] = {
    400: ("无法解析的请求", ErrorBody),
    413: ("请求过大", ErrorBody),
    415: ("不支持的 Content-Type", ErrorBody),
    422: ("内容有误：字段和原因见 fields", ErrorBody),
    429: ("操作过于频繁", ErrorBody),
    **_NOT_CONFIGURED,
}
_PAGE_ERRORS: dict[int, tuple[str, Body]] = {
    400: ("无法识别的表单：表单页，错误显示在页面上", HTML),
    413: ("请求过大：表单页", HTML),
    415: ("不是表单提交：表单页", HTML),
    422: ("内容有误：表单页，错误显示在对应字段旁，已填内容保留", HTML),
    429: ("操作过于频繁：表单页", HTML),
    **_NOT_CONFIGURED,
}

DOCS: dict[str, Doc] = {
    "post_complaint": Doc(
        "提交投诉（JSON）",
        request=ComplaintRequest,
        headers=(("Idempotency-Key", "可选：重试时用同一个值，只会登记一次"),),
        responses={201: ("已登记：投诉编号和查询码", Receipt), **_JSON_ERRORS},
    ),
    "get_complaint": Doc(
        "查询办理进度（JSON）",
        query=(("code", "查询码（也可用请求头 X-Verification-Code）"),),
        responses={
            200: ("办理进度", ComplaintStatus),
            404: ("编号不存在或查询码不对（两者看起来一样）", ErrorBody),
            429: ("查询过于频繁", ErrorBody),
            **_NOT_CONFIGURED,
        },
    ),
    "post_feedback": Doc(
        "回访评价：对已答复的投诉作出满意、基本满意或不满意的评价（需投诉编号和查询码）",
        request=FeedbackRequest,
        responses={
            200: ("已记录评价（评价期内可重新评价，以最后一次为准）", FeedbackAnswer),
            404: ("编号不存在或查询码不对（与查询办理进度相同）", ErrorBody),
            409: ("该投诉当前不在回访评价期内", ErrorBody),
            **_JSON_ERRORS,
        },
    ),
    "get_feedback_page": Doc(
        "回访评价页面（HTML）",
        query=(("no", "投诉编号"), ("code", "查询码")),
        responses={200: ("评价表单", HTML)},
    ),
    "post_feedback_page": Doc(
        "提交回访评价（HTML 表单）",
        request=FeedbackForm,
        request_type=FORM,
        responses={
            200: ("已记录评价", HTML),
            404: ("编号或查询码不对：表单页", HTML),
            409: ("不在评价期内：表单页", HTML),
            **_PAGE_ERRORS,
        },
    ),
    "get_survey_page": Doc(
        "征求意见表（HTML，一次性链接）",
        query=(("t", "链接上的令牌"),),
        responses={200: ("征求意见表", HTML), 404: ("链接无效", HTML), 409: ("该链接已提交过", HTML)},
    ),
    "post_survey_page": Doc(
        "提交征求意见表（HTML 表单，每个链接一次，不记名）",
        query=(("t", "链接上的令牌"),),
        request=SurveyForm,
        request_type=FORM,
        responses={
            201: ("已收到", HTML),
            404: ("链接无效", HTML),
            409: ("该链接已提交过", HTML),
            **_PAGE_ERRORS,
        },
    ),
    "post_upload": Doc(
        "申请上传一个附件：返回直传 S3 的预签名 POST（照片或 PDF，20 MB 以内）",
        request=UploadRequest,
        responses={201: ("上传地址和表单字段", UploadSlot), **_JSON_ERRORS},
    ),
    "get_page": Doc(
        "投诉页面（HTML）",
        query=(("attachment", "已上传的附件（可重复）"), ("key", "S3 上传后跳转回来时带上的附件")),
        responses={200: ("投诉页面", HTML), **_NOT_CONFIGURED},
    ),
    "post_page": Doc(
        "提交投诉表单（HTML 表单，无需 JavaScript）",
        request=ComplaintForm,
        request_type=FORM,
        responses={201: ("回执页面：投诉编号和查询码", HTML), **_PAGE_ERRORS},
    ),
    "get_status_page": Doc(
        "查询办理进度页面（HTML）",
        query=(("no", "投诉编号"), ("code", "查询码")),
        responses={
            200: ("查询表单或办理进度", HTML),
            404: ("未找到：查询表单和提示", HTML),
            429: ("过于频繁", HTML),
            **_NOT_CONFIGURED,
        },
    ),
    "get_asset": Doc(
        "页面的样式表和脚本",
        responses={200: ("CSS 或 JavaScript", ("text/css", "text/javascript")), 404: ("没有该文件", ErrorBody)},
    ),
    "get_published_page": Doc(
        "典型案例公开页面（HTML，已去除个人信息）", responses={200: ("典型案例列表", HTML), **_NOT_CONFIGURED}
    ),
    "get_published_feed": Doc(
        "典型案例数据（JSON，已去除个人信息，最新的在前）",
        responses={200: ("典型案例列表", PublishedFeed), **_NOT_CONFIGURED},
    ),
    "get_answers_page": Doc(
        "咨询答复公开页面（HTML，已去除个人信息）", responses={200: ("咨询答复列表", HTML), **_NOT_CONFIGURED}
    ),
    "get_answers_feed": Doc(
        "咨询答复数据（JSON：标题、问题、答复、答复部门、公开时间；已去除个人信息，最新的在前）",
        responses={200: ("咨询答复列表", AnswersFeed), **_NOT_CONFIGURED},
    ),
    "get_openapi": Doc("本文档", responses={200: ("OpenAPI 3.1 文档", "application/json"), **_NOT_CONFIGURED}),
    "health": Doc("健康检查", responses={200: ("正常", "application/json"), **_NOT_CONFIGURED}),
}


def document(routes: Mapping[str, Mapping[str, Any]], base_path: str, title: str = "行政执法投诉受理 API") -> dict:
    """OpenAPI 3.1 for the intake app's `routes`."""
    parameters: dict[str, Mapping[str, Any]] = {
        "tracking_no": {"type": "string", "pattern": f"^{TRACKING_NO_PATTERN}$"},
        "provider": {"type": "string", "enum": [provider.value for provider in Provider]},
        "name": {"type": "string", "enum": list(ASSETS)},  # the page's stylesheet and script
    }
    return openapi.document(routes, base_path, title, DOCS, _generic, parameters)


def _generic(path: str, method: str, entry: Any) -> Doc:
    """A route without an entry in DOCS: a webhook taking a form or JSON body."""
    return Doc(
        openapi.summary_of(entry, f"Webhook {entry.uri_pattern}"),
        free_body=(FORM, "application/json"),
        responses={
            200: ("已接收", "application/json"),
            403: ("令牌、签名不对或回调已过时", ErrorBody),
            404: ("不支持的短信服务商", ErrorBody),
            **_JSON_ERRORS,
        },
    )
