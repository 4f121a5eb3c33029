"""HTTP answers for the Chalice routes: UTF-8 JSON, our error shape, never a stack trace."""

import functools
import json
from collections.abc import Callable
from typing import Any

from chalice.app import Chalice, Request, Response

from shared.core import staff_pages
from shared.core.errors import ApiError
from shared.core.observability import logger, traced
from shared.core.pages import Page
from shared.core.settings import Settings

JSON = "application/json; charset=utf-8"


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    # ensure_ascii=False: Chinese text travels as UTF-8, readable and a third of the size.
    return Response(
        body=json.dumps(body, ensure_ascii=False, default=str),
        status_code=status,
        headers={"Content-Type": JSON, **(headers or {})},
    )


def error_response(error: ApiError) -> Response:
    return json_response(error.status, error.body())


def guarded(view: Callable[..., Response]) -> Callable[..., Response]:
    """Turn ApiError into its 4xx answer and any other failure into a plain 500."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            with traced(view.__name__):
                return view(*args, **kwargs)
        except ApiError as error:
            return error_response(error)
        except Exception:
            logger.exception("request failed")
            return error_response(ApiError(500, "internal_error", "系统暂时无法处理您的请求，请稍后再试"))

    return wrapper


def current_request(app: Chalice) -> Request:
    """The request being handled; Chalice sets it before calling a route."""
    request = app.current_request
    if request is None:
        raise RuntimeError("no current request outside a route")
    return request


def raw_body(request: Request) -> bytes:
    body = request.raw_body
    return body.encode() if isinstance(body, str) else bytes(body or b"")


def client_ip(request: Request) -> str:
    """The caller's address as API Gateway saw it (X-Forwarded-For can be forged by the caller)."""
    return str((request.context or {}).get("identity", {}).get("sourceIp") or "unknown")


def page_response(page: Page) -> Response:
    return Response(body=page.html, status_code=page.status, headers=page.all_headers())


def staff_page_response(app: Chalice, settings: Settings, build: Callable[[staff_pages.Where], Page]) -> Response:
    """A page for signed-in staff (the console, the dashboard): the login page when not signed in."""
    where = staff_pages.where(settings, current_request(app).headers)
    return page_response(staff_pages.respond(settings, where, lambda: build(where)))
