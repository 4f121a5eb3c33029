"""OpenAPI 3.1 documents generated from a Chalice app's own route table and the pydantic models, for the three
services (intake: shared/intake/openapi.py; cases and reports: shared/routing/openapi.py, shared/reporting/...).

Every route of the app is in its document. A route whose view has an entry in the service's `docs` (keyed by the
view function's name) is described by it; any other route by the service's `generic` description. So a new route
appears by itself, and a better description is one entry in the service's table.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from shared.core.errors import FieldError

HTML = "text/html"
FORM = "application/x-www-form-urlencoded"
NO_CONTENT = ""  # a response without a body (204, 303)


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[FieldError] = []
    raw_ref: str | None = None


class ErrorBody(BaseModel):
    """Every 4xx and 5xx of the JSON routes: a machine code, a Chinese message and the offending fields."""

    error: ErrorDetail


Body = type[BaseModel] | str  # a JSON model, a media type whose body is not described further, or NO_CONTENT


@dataclass(frozen=True)
class Doc:
    summary: str
    request: type[BaseModel] | None = None
    request_type: str = "application/json"
    # A body not described by a model (a provider's webhook, a staff form): the media types it may come in.
    free_body: tuple[str, ...] = ()
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    responses: dict[int, tuple[str, Body]] = field(default_factory=dict)
    # Staff routes: a bearer token (the JSON API) or the console's session cookie.
    security: tuple[str, ...] = ()


SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "session": {"type": "apiKey", "in": "cookie", "name": "hotspot_console"},
}


def document(
    routes: Mapping[str, Mapping[str, Any]],
    base_path: str,
    title: str,
    docs: Mapping[str, Doc],
    generic: Callable[[str, str, Any], Doc],
) -> dict:
    """OpenAPI 3.1 for `routes` (a Chalice app's `app.routes`: path -> method -> RouteEntry)."""
    schemas: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for path, methods in sorted(routes.items()):
        for method, entry in sorted(methods.items()):
            doc = docs.get(entry.view_name) or generic(path, method, entry)
            paths.setdefault(path, {})[method.lower()] = _operation(path, entry.view_name, doc, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1"},
        "servers": [{"url": base_path}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


def summary_of(entry: Any, fallback: str) -> str:
    """The first line of the view's docstring."""
    return ((entry.view_function.__doc__ or "").strip().splitlines() or [fallback])[0]


def _operation(path: str, view_name: str, doc: Doc, schemas: dict[str, Any]) -> dict[str, Any]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", path)
    ]
    parameters += [
        {"name": name, "in": "query", "description": text, "schema": {"type": "string"}} for name, text in doc.query
    ]
    parameters += [
        {"name": name, "in": "header", "description": text, "schema": {"type": "string"}} for name, text in doc.headers
    ]
    operation: dict[str, Any] = {"operationId": view_name, "summary": doc.summary}
    if doc.security:
        operation["security"] = [{name: []} for name in doc.security]
    if parameters:
        operation["parameters"] = parameters
    if doc.request is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {doc.request_type: {"schema": _schema(doc.request, schemas)}},
        }
    elif doc.free_body:
        operation["requestBody"] = {"content": {kind: {"schema": {"type": "object"}} for kind in doc.free_body}}
    operation["responses"] = {
        str(status): _response(text, body, schemas) for status, (text, body) in doc.responses.items()
    }
    return operation


def _response(text: str, body: Body, schemas: dict[str, Any]) -> dict[str, Any]:
    if body == NO_CONTENT:
        return {"description": text}
    media = body if isinstance(body, str) else "application/json"
    if not isinstance(body, str):
        schema = _schema(body, schemas)
    elif media == "application/json":
        schema = {"type": ["object", "array"]}  # JSON not described further
    else:
        schema = {"type": "string"}
    return {"description": text, "content": {media: {"schema": schema}}}


def _schema(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    """A reference to the model's schema, which (with the models it uses) goes into components."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


# --- the staff services (cases, reports) --------------------------------------------------------------------------

_STAFF_ERRORS: dict[int, tuple[str, Body]] = {
    400: ("无法解析的请求", ErrorBody),
    401: ("未登录、登录凭证无效、已过期或已失效", ErrorBody),
    403: ("角色或部门无权进行此操作", ErrorBody),
    404: ("不存在，或调用者无权知道它存在", ErrorBody),
    409: ("案件已被他人更新或状态不允许", ErrorBody),
    413: ("请求过大", ErrorBody),
    415: ("不支持的 Content-Type", ErrorBody),
    422: ("内容有误：字段和原因见 fields", ErrorBody),
    429: ("操作过于频繁", ErrorBody),
    503: ("暂时无法验证登录", ErrorBody),
}
_PAGE_ANSWERS: dict[int, tuple[str, Body]] = {
    200: ("页面", HTML),
    303: ("转到下一页（未登录时转到登录页）", NO_CONTENT),
    **{status: (text, HTML) for status, text in ((400, "无法识别的请求"), (403, "无权访问"), (404, "不存在"))},
    **{status: (text, HTML) for status, text in ((409, "已被他人更新"), (413, "请求过大"), (415, "不是表单提交"))},
    **{status: (text, HTML) for status, text in ((422, "内容有误"), (429, "操作过于频繁"), (503, "暂时无法验证登录"))},
}
# The routes of the staff services that need no token.
STAFF_PUBLIC: dict[str, Doc] = {
    "health": Doc("健康检查", responses={200: ("正常", "application/json")}),
    "get_openapi": Doc("本文档（无需登录）", responses={200: ("OpenAPI 3.1 文档", "application/json")}),
    "login": Doc(
        "登录：用户名、密码和动态验证码，换取登录凭证",
        free_body=("application/json",),
        responses={
            200: ("登录凭证", "application/json"),
            **{status: _STAFF_ERRORS[status] for status in (400, 401, 404, 413, 415, 422, 429)},
        },
    ),
    "jwks": Doc("验证登录凭证的公钥（JWKS）", responses={200: ("公钥", "application/json"), 404: _STAFF_ERRORS[404]}),
    "console_login_page": Doc("登录页面", responses={200: ("登录页面", HTML)}),
    "console_login": Doc("提交登录表单", free_body=(FORM,), responses=_PAGE_ANSWERS),
    "console_stylesheet": Doc("页面样式表", responses={200: ("CSS", "text/css")}),
}


def staff_generic(path: str, method: str, entry: Any) -> Doc:
    """A staff route: a console page signed in by the session cookie, or a JSON route with a bearer token."""
    summary = summary_of(entry, f"{method} {path}")
    if path.startswith("/console") or path == "/dashboard":
        body = (FORM,) if method in ("POST", "PUT") else ()
        return Doc(summary, free_body=body, responses=_PAGE_ANSWERS, security=("session",))
    success: dict[int, tuple[str, Body]] = {
        200: ("完成", "application/json"),
        201: ("已建立", "application/json"),
        202: ("已受理", "application/json"),
        204: ("完成，无内容", NO_CONTENT),
    }
    body = ("application/json",) if method in ("POST", "PUT") else ()
    return Doc(summary, free_body=body, responses={**success, **_STAFF_ERRORS}, security=("bearer",))


def staff_document(routes: Mapping[str, Mapping[str, Any]], base_path: str, title: str) -> dict:
    """OpenAPI 3.1 for a staff service (cases, reports): its public routes described, every other a staff route."""
    return document(routes, base_path, title, STAFF_PUBLIC, staff_generic)
