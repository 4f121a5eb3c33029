"""OpenAPI 3.1 documents generated from a Chalice app's own route table and the pydantic models, for the three
services (intake: shared/intake/openapi.py; cases: shared/routing/openapi.py; reports: shared/reporting/openapi.py).

Every route of the app is in its document. A route whose view has an entry in the service's `docs` (keyed by the
view function's name) is described by it: its body model, its query model, each path parameter's schema, every
status it answers; any other route by the service's `generic` description. So a new route appears by itself, and
a better description is one entry in the service's table. A route whose body depends on a path parameter (a
workflow action, a kind of record) is one path per value, each with its body's model (`PerValue`).
"""

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
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


class FrameworkError(BaseModel):
    """What Chalice answers itself before the view runs: a body of a media type the route does not take (415)."""

    Code: str
    Message: str


# A JSON model, a media type (or several) whose body is not described further, or NO_CONTENT.
Body = type[BaseModel] | str | tuple[str, ...]


@dataclass(frozen=True)
class PerValue:
    """A body whose model depends on the value of a path parameter: one path per value in the document."""

    parameter: str
    bodies: Mapping[str, type[BaseModel]]


@dataclass(frozen=True)
class Doc:
    summary: str
    request: type[BaseModel] | PerValue | None = None
    request_type: str = "application/json"
    # A body not described by a model (a provider's webhook, a staff form): the media types it may come in.
    free_body: tuple[str, ...] = ()
    query: tuple[tuple[str, str], ...] = ()
    # The model the logic checks the query string with: each field a query parameter, with its constraints.
    query_model: type[BaseModel] | None = None
    # JSON schemas of path parameters by name, over the service's (`document`'s `parameters`); a string otherwise.
    path: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
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
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict:
    """OpenAPI 3.1 for `routes` (a Chalice app's `app.routes`: path -> method -> RouteEntry); `parameters`: the
    JSON schema of the service's path parameters by name (e.g. the pattern of a tracking number)."""
    schemas: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for path, methods in sorted(routes.items()):
        for method, entry in sorted(methods.items()):
            doc = docs.get(entry.view_name) or generic(path, method, entry)
            doc = replace(
                doc, path={**(parameters or {}), **doc.path}, responses=_framework_answers(method, entry, doc)
            )
            if isinstance(doc.request, PerValue):
                for value, model in doc.request.bodies.items():
                    concrete = path.replace(f"{{{doc.request.parameter}}}", value)
                    operation = _operation(concrete, f"{entry.view_name}_{value}", replace(doc, request=model), schemas)
                    paths.setdefault(concrete, {})[method.lower()] = operation
            else:
                paths.setdefault(path, {})[method.lower()] = _operation(path, entry.view_name, doc, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1"},
        "servers": [{"url": base_path}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


def _framework_answers(method: str, entry: Any, doc: Doc) -> dict[int, tuple[str, Body]]:
    """The doc's answers, and Chalice's own 415 where the route takes a body of named media types only."""
    takes_body = method in ("POST", "PUT", "PATCH")
    if not takes_body or "*/*" in entry.content_types or 415 in doc.responses:
        return dict(doc.responses)
    accepted = "、".join(entry.content_types)
    return {**doc.responses, 415: (f"不支持的 Content-Type（只接受 {accepted}）", FrameworkError)}


def summary_of(entry: Any, fallback: str) -> str:
    """The first line of the view's docstring."""
    return ((entry.view_function.__doc__ or "").strip().splitlines() or [fallback])[0]


def _operation(path: str, view_name: str, doc: Doc, schemas: dict[str, Any]) -> dict[str, Any]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": dict(doc.path.get(name, {"type": "string"}))}
        for name in re.findall(r"{(\w+)}", path)
    ]
    if doc.query_model is not None:
        parameters += _query_parameters(doc.query_model, schemas)
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
    if isinstance(doc.request, type):
        operation["requestBody"] = {
            "required": True,
            "content": {doc.request_type: {"schema": _schema(doc.request, schemas)}},
        }
    elif doc.free_body:
        operation["requestBody"] = {"content": {kind: {"schema": {"type": "object"}} for kind in doc.free_body}}
    operation["responses"] = {
        str(status): _response(text, body, schemas) for status, (text, body) in sorted(doc.responses.items())
    }
    return operation


def _query_parameters(model: type[BaseModel], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """Each field of a query model as a query parameter (by its alias), with the field's constraints; a list is
    comma-separated (`status=routed,accepted`), as the models read it."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    parameters = []
    for name, field_schema in schema["properties"].items():
        # Optional in the model (`X | None`, default None): absent from the query string, never null in it.
        value = {key: item for key, item in field_schema.items() if key != "default" or item is not None}
        options = [option for option in value.pop("anyOf", []) if option != {"type": "null"}]
        if len(options) == 1:
            value.update(options[0])
        elif options:
            value["anyOf"] = options
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": value}
        if value.get("type") == "array":
            parameter.update(style="form", explode=False)
        parameters.append(parameter)
    return parameters


def _response(text: str, body: Body, schemas: dict[str, Any]) -> dict[str, Any]:
    if body == NO_CONTENT:
        return {"description": text}
    if isinstance(body, tuple):
        return {"description": text, "content": {media: {"schema": {"type": "string"}} for media in body}}
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
    409: ("已被他人更新（version 已过时），或当前状态不允许此操作", ErrorBody),
    413: ("请求过大", ErrorBody),
    415: ("不支持的 Content-Type", ErrorBody),
    422: ("内容有误：字段和原因见 fields", ErrorBody),
    429: ("操作过于频繁", ErrorBody),
    503: ("暂时无法提供服务：尚未完成配置，或暂时无法验证登录凭证", ErrorBody),
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
    "health": Doc("健康检查", responses={200: ("正常", "application/json"), 503: _STAFF_ERRORS[503]}),
    "get_openapi": Doc(
        "本文档（无需登录）", responses={200: ("OpenAPI 3.1 文档", "application/json"), 503: _STAFF_ERRORS[503]}
    ),
    "login": Doc(
        "登录：用户名、密码和动态验证码，换取登录凭证",
        free_body=("application/json",),
        responses={
            200: ("登录凭证", "application/json"),
            **{status: _STAFF_ERRORS[status] for status in (400, 401, 404, 413, 415, 422, 429)},
        },
    ),
    "jwks": Doc(
        "验证登录凭证的公钥（JWKS）",
        responses={200: ("公钥", "application/json"), 404: _STAFF_ERRORS[404], 503: _STAFF_ERRORS[503]},
    ),
    "console_login_page": Doc("登录页面", responses={200: ("登录页面", HTML)}),
    "console_login": Doc("提交登录表单", free_body=(FORM,), responses=_PAGE_ANSWERS),
    "console_stylesheet": Doc("页面样式表", responses={200: ("CSS", "text/css")}),
}


def staff_page_doc(summary: str, query: tuple[tuple[str, str], ...]) -> Doc:
    """A console page (signed in by the session cookie) read with these query parameters."""
    return Doc(summary, query=query, responses=_PAGE_ANSWERS, security=("session",))


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


def staff_route(summary: str, answer: tuple[int, str, Body], errors: Iterable[int] = (), **described: Any) -> Doc:
    """A staff JSON route (bearer token): its success, the errors its logic raises, and those every staff route
    answers: 401 without a valid token, 503 while the service's secrets are not configured."""
    status, text, body = answer
    refusals = {code: _STAFF_ERRORS[code] for code in sorted({*errors, 401, 503})}
    return Doc(summary, responses={status: (text, body), **refusals}, security=("bearer",), **described)


def staff_document(
    routes: Mapping[str, Mapping[str, Any]],
    base_path: str,
    title: str,
    docs: Mapping[str, Doc],
    parameters: Mapping[str, Mapping[str, Any]],
) -> dict:
    """OpenAPI 3.1 for a staff service (cases, reports): its public routes and those in `docs` described, every
    other a staff route (`staff_generic`); `parameters`: the schemas of its path parameters by name."""
    return document(routes, base_path, title, {**STAFF_PUBLIC, **docs}, staff_generic, parameters)
