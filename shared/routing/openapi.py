"""The cases API's OpenAPI document (shared/core/openapi.py makes it from the routing app's routes): each staff
route with the models its logic checks the request with, its path parameters' shapes and every status it answers.
The console's forms, and any route not listed here, are described generically (shared/core/openapi.py).
"""

from collections.abc import Mapping
from typing import Any

from shared.core import openapi
from shared.core.auth import Principal
from shared.core.filing import Receipt
from shared.core.models import TRACKING_NO_PATTERN
from shared.core.openapi import Doc, ErrorBody, PerValue, staff_page_doc, staff_route
from shared.routing import confidentiality, console, publication, staff, workflow
from shared.routing.cases_api import CaseQuery
from shared.routing.operator_entry import OperatorComplaintRequest

JSON = "application/json"


def parameters() -> dict[str, Mapping[str, Any]]:
    """The path parameters of the routing app, by name."""
    return {
        "tracking_no": {"type": "string", "pattern": f"^{TRACKING_NO_PATTERN}$"},
        "username": {"type": "string", "pattern": f"^{staff.USERNAME.pattern}$"},
    }


def docs() -> dict[str, Doc]:
    """The staff routes' descriptions, by view name (read per request: the actions come from the workflow table)."""
    actions = {action: workflow.BODIES[action] for action in workflow.table().actions}
    return {
        "login": Doc(
            "登录：用户名、密码和动态验证码（6 位数字），换取登录凭证",
            request=staff.LoginRequest,
            responses={
                200: ("登录凭证", staff.LoginAnswer),
                400: ("不是有效的 JSON", ErrorBody),
                401: ("用户名、密码或动态验证码不正确（三者不分）", ErrorBody),
                404: ("登录凭证由外部身份服务签发（Cognito、OIDC），本系统不提供登录", ErrorBody),
                413: ("请求过大", ErrorBody),
                415: ("不是 JSON", ErrorBody),
                422: ("字段有误", ErrorBody),
                429: ("同一来源登录过于频繁，或该用户名在该来源失败过多，需等待", ErrorBody),
                503: ("尚未完成配置", ErrorBody),
            },
        ),
        "me": staff_route("登录凭证所代表的用户", (200, "用户、角色和部门", Principal)),
        "unlock_account": staff_route("清除一个账号的登录失败记录（县法制办）", (204, "已清除", ""), (403, 404)),
        "list_cases": staff_route(
            "案件列表：本部门或全县，按状态、部门、类型、渠道、期限筛选，分页",
            (200, "案件摘要和下一页的 cursor", JSON),
            (400, 403, 422),
            query_model=CaseQuery,
        ),
        "enter_complaint": staff_route(
            "登记电话、来信、来访等渠道的投诉",
            (201, "已登记：投诉编号和查询码（请告知投诉人）", Receipt),
            (400, 403, 409, 413, 415, 422, 429),
            request=OperatorComplaintRequest,
            headers=(("Idempotency-Key", "可选：重试时用同一个值，只会登记一次"),),
        ),
        "console_queue": staff_page_doc(
            "案件列表页面", tuple((name, "筛选，与 GET /cases 的同名参数相同") for name in console.FILTERS)
        ),
        "console_quarantine": staff_page_doc(
            "无法登记的来件（县法制办、审计）", (("month", "月份 yyyy-mm，默认本月"), ("after", "下一页的位置"))
        ),
        "console_media": staff_page_doc("媒体跟进记录页面", (("tracking_no", "投诉编号"),)),
        "get_case": staff_route("一件案件：期限、办理记录、可进行的操作", (200, "案件", JSON), (403, 404)),
        "classifier_status": staff_route("分类模型：在用版本、已存版本、最近的评估", (200, "模型", JSON), (403,)),
        "retrain_classifier_now": staff_route(
            "立即重新训练分类模型（不比现有模型差才采用）", (200, "评估结果", JSON), (403,)
        ),
        "post_action": staff_route(
            "办理操作（受理、转办、决定、答复等；version 为读到的案件版本）",
            (200, "操作后的案件", JSON),
            (400, 403, 404, 409, 422),
            request=PerValue("action", actions),
        ),
        "reveal_complainant": staff_route(
            "查看投诉人完整信息（记录在案）；无权查看时与案件不存在的回答相同",
            (200, "投诉人信息", JSON),
            (400, 404, 422),
            request=confidentiality.RevealBody,
        ),
        "relay_to_complainant": staff_route(
            "通过系统给投诉人发消息（看不到联系方式）",
            (202, "已排队发送", JSON),
            (400, 403, 404, 409, 422, 429),
            request=confidentiality.RelayBody,
        ),
        "get_publication": staff_route("典型案例的公开稿", (200, "公开稿", JSON), (403, 404)),
        "draft_publication": staff_route(
            "起草或修改典型案例的公开稿（自动去除个人信息）",
            (200, "公开稿", JSON),
            (400, 403, 404, 409, 422),
            request=publication.DraftBody,
        ),
        "publication_step": staff_route(
            "公开稿：审核通过、公开或撤回",
            (200, "公开稿", JSON),
            (400, 403, 404, 409, 422),
            request=publication.VersionBody,
            path={"step": {"type": "string", "enum": list(publication.STEPS)}},
        ),
        "get_media_notes": staff_route("媒体跟进记录", (200, "记录", JSON), (403, 404, 409)),
        "add_media_note": staff_route(
            "添加媒体跟进记录", (201, "记录", JSON), (400, 403, 404, 409, 422), request=publication.NoteBody
        ),
    }


def document(routes: Mapping[str, Mapping[str, Any]], base_path: str) -> dict:
    """OpenAPI 3.1 for the routing app's `routes`."""
    return openapi.staff_document(routes, base_path, "行政执法投诉办理 API", docs(), parameters())
