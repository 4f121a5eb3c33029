"""HTTP answers for the Chalice routes: UTF-8 JSON, our error shape, never a stack trace.

Each app is a table of routes; the decorators here say what kind of route each is, so that a handler is only
the call of its logic: `staff_json` (a JSON route for staff: the caller verified from the bearer token before
the logic sees the request), `staff_page` (a console page, signed in by the session cookie) and `public_page`.
"""

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalice.app import Chalice, Request, Response
from pydantic_core import to_jsonable_python

from shared.core.errors import ApiError
from shared.core.observability import logger, traced
from shared.core.pages import Page, site
from shared.core.settings import SecretsNotConfigured, Settings, get_settings

if TYPE_CHECKING:
    from shared.core.auth import Principal

JSON = "application/json; charset=utf-8"
NOT_CONFIGURED = ApiError(503, "service_not_configured", "系统尚未完成配置，暂时无法提供服务，请稍后再试")


def rfc3339(moment: datetime) -> str:
    """A time as every answer gives it: RFC 3339 in UTC, `2026-12-04T02:14:57.801701Z`, as pydantic writes it."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return rfc3339(value)
    return to_jsonable_python(value)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    # ensure_ascii=False: Chinese text travels as UTF-8, readable and a third of the size.
    return Response(
        body=json.dumps(body, ensure_ascii=False, default=_json_value),
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
        except SecretsNotConfigured:
            # Logged where found; the caller learns only that the service is not ready.
            return error_response(
                ApiError(503, "service_not_configured", "系统尚未完成配置，暂时无法提供服务，请稍后再试")
            )
        except Exception:
            logger.exception("request failed")
            return error_response(ApiError(500, "internal_error", "系统暂时无法处理您的请求，请稍后再试"))

    return wrapper


def health(service: str) -> Response:
    """A service's health route: ok once its settings, secrets included, can be had (503 before: the smoke check
    after a deploy then shows what is missing)."""
    get_settings()
    return json_response(200, {"status": "ok", "service": service})


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


def query_params(request: Request) -> dict[str, str]:
    params = request.query_params
    return {name: params[name] for name in params} if params else {}


def page_response(page: Page) -> Response:
    return Response(body=page.html, status_code=page.status, headers=page.all_headers())


@dataclass(frozen=True)
class StaffCall:
    """A staff request as its logic sees it: the settings, the caller (token verified) and the request."""

    settings: Settings
    principal: "Principal"
    request: Request

    @property
    def body(self) -> bytes:
        return raw_body(self.request)

    @property
    def query(self) -> dict[str, str]:
        return query_params(self.request)


# A staff JSON route's logic answers its body, or (status, body) where the status depends on the outcome; a body
# of None answers no content.
StaffView = Callable[..., Any]


def staff_json(
    app: Chalice, status: int = 200, headers: dict[str, str] | None = None
) -> Callable[[StaffView], Callable[..., Response]]:
    """A JSON route for signed-in staff: 401 before the logic runs unless the bearer token is valid; the role and
    department are the logic's to check (shared/core/auth.py)."""

    def decorate(view: StaffView) -> Callable[..., Response]:
        @functools.wraps(view)
        def route(**params: str) -> Response:
            # Imported on a staff route's first call: the public functions never verify a token.
            from shared.core import auth

            settings = get_settings()
            request = current_request(app)
            call = StaffCall(settings, auth.principal_from_headers(settings, request.headers), request)
            answer = view(call, **params)
            code, body = answer if isinstance(answer, tuple) else (status, answer)
            return Response(body="", status_code=code) if body is None else json_response(code, body, headers)

        return guarded(route)

    return decorate


def staff_page(app: Chalice) -> Callable[[Callable[..., Page]], Callable[..., Response]]:
    """A page for signed-in staff (the console, the dashboard): `view(settings, where, request, **params)`; the
    login page when not (or no longer) signed in, an error page for a refused request."""

    def decorate(view: Callable[..., Page]) -> Callable[..., Response]:
        @functools.wraps(view)
        def route(**params: str) -> Response:
            from shared.core import staff_pages  # as auth in staff_json

            settings = get_settings()
            request = current_request(app)
            where = staff_pages.where(settings, request.headers)
            return page_response(staff_pages.respond(settings, where, lambda: view(settings, where, request, **params)))

        return guarded(route)

    return decorate


def public_page(app: Chalice) -> Callable[[Callable[..., Page]], Callable[..., Response]]:
    """A page for anyone (the citizen pages): `view(settings, site, request, **params)`, `site` being where the
    browser sees it."""

    def decorate(view: Callable[..., Page]) -> Callable[..., Response]:
        @functools.wraps(view)
        def route(**params: str) -> Response:
            settings = get_settings()
            request = current_request(app)
            return page_response(view(settings, site(settings, request.headers), request, **params))

        return guarded(route)

    return decorate
