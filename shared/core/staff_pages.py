"""Pages for signed-in staff, shared by the console (routing, /cases/console) and the dashboard (reporting,
/reports/dashboard).

The session is the staff token itself, kept in an HttpOnly, SameSite=Strict cookie (Secure behind HTTPS) on the
whole site, so both services see it under one domain, and verified on every request like a bearer token. A page
carries a CSRF token for its forms: an HMAC of the session token keyed by nothing the browser's neighbours can
read. A refused request answers the login page when not (or no longer) signed in, else an error page.
"""

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl

from shared.core import auth
from shared.core.auth import Principal
from shared.core.errors import ApiError
from shared.core.pages import FORM, Page, render
from shared.core.settings import Settings

SESSION_COOKIE = "hotspot_console"
MAX_FORM_BYTES = 64 * 1024


@dataclass(frozen=True)
class Where:
    """Where the console is seen: its path on the gateway, and whether cookies must be Secure."""

    base: str  # e.g. /cases/console
    dashboard: str  # e.g. /reports/dashboard
    secure: bool
    surveys: str = ""  # the opinion forms' pages, e.g. /reports/console/surveys


def where(settings: Settings, headers: Mapping[str, str]) -> Where:
    secure = headers.get("x-forwarded-proto", "http").lower() == "https"
    reports = settings.reports_base_path
    return Where(f"{settings.cases_base_path}/console", f"{reports}/dashboard", secure, f"{reports}/console/surveys")


def cookie(where: Where, name: str, value: str, max_age: int, path: str | None = None) -> str:
    """A console cookie, by default for the console's own path."""
    secure = "; Secure" if where.secure else ""
    return f"{name}={value}; Path={path or where.base}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"


def session_cookie(where: Where, token: str, max_age: int) -> str:
    """The session, for the whole site: the console and the reporting service's dashboard."""
    return cookie(where, SESSION_COOKIE, token, max_age, path="/")


def cookies(headers: Mapping[str, str]) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def redirect(location: str, cookie: str | None = None) -> Page:
    return Page(303, "", headers={"Location": location, **({"Set-Cookie": cookie} if cookie else {})})


def read_form(body: bytes, content_type: str) -> list[tuple[str, str]]:
    """A console form's fields; 415 for anything but a form, 400 for one that cannot be read."""
    if (content_type or "").split(";", 1)[0].strip().lower() != FORM or len(body) > MAX_FORM_BYTES:
        raise ApiError(415, "unsupported_media_type", "请通过页面上的表单提交")
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=100)
    except ValueError:
        raise ApiError(400, "malformed_form", "提交的表单无法识别，请刷新页面后重新填写") from None


def same_secret(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest((given or "").encode(), expected.encode())


def csrf_refused() -> ApiError:
    return ApiError(403, "csrf_failed", "页面已过期，请刷新后重新提交")


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"hotspot-console-csrf", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Session:
    principal: Principal
    csrf: str


def session(settings: Settings, headers: Mapping[str, str]) -> Session:
    """The signed-in staff member, verified exactly as a bearer token of the JSON API; ApiError 401 otherwise."""
    token = cookies(headers).get(SESSION_COOKIE, "")
    principal = auth.principal_from_headers(settings, {"authorization": f"Bearer {token}"})
    return Session(principal, csrf_token(token))


def respond(settings: Settings, where: Where, build: Callable[[], Page]) -> Page:
    """A page, or for a refused request: the login page when not (or no longer) signed in, else an error page."""
    try:
        return build()
    except ApiError as error:
        if error.status == 401:
            return redirect(f"{where.base}/login", session_cookie(where, "", 0))
        return Page(
            error.status,
            render(
                "console_error.html",
                console=where.base,
                dashboard=where.dashboard,
                surveys=where.surveys,
                me=None,
                error=error,
            ),
        )


def staff_page(template: str, where: Where, signed_in: Session, status: int = 200, **values: Any) -> Page:
    """A page for signed-in staff: the console's base path, who they are and the form token, with `values`."""
    html = render(
        template,
        console=where.base,
        dashboard=where.dashboard,
        surveys=where.surveys,
        me=signed_in.principal,
        csrf=signed_in.csrf,
        **values,
    )
    return Page(status, html)
