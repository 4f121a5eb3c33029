"""Server-rendered pages, for the citizen page (intake) and the staff console (routing, reporting's dashboard).

Templates are in `shared/templates/`, rendered by Jinja2 with autoescaping on for every template; every page gets
the campaign (`shared/core/campaign.py`) and is sent with a strict Content-Security-Policy: no inline script,
forms posting only to the page's own origin (and, for uploads, S3's).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from shared.core.campaign import load_campaign
from shared.core.settings import Settings

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).parents[1] / "templates"


HTML = "text/html; charset=utf-8"


FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Site:
    """Where the browser sees the page: S3 redirects back to an absolute URL."""

    origin: str  # scheme://host[:port]
    base_path: str  # where API Gateway maps the intake API, e.g. /intake

    @property
    def page_url(self) -> str:
        return f"{self.origin}{self.base_path}/"


def site(settings: Settings, headers: Mapping[str, str]) -> Site:
    host = headers.get("host", "")
    scheme = "https" if headers.get("x-forwarded-proto", "http").lower() == "https" else "http"
    return Site(f"{scheme}://{host if _HOST.fullmatch(host) else 'localhost'}", settings.intake_base_path)


@dataclass
class Page:
    status: int
    html: str
    # Origin the page may post files to (S3), for its Content-Security-Policy.
    upload_origin: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def all_headers(self) -> dict[str, str | list[str]]:
        extra = f" {self.upload_origin}" if self.upload_origin else ""
        policy = (
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
            f"connect-src 'self'{extra}; form-action 'self'{extra}; base-uri 'none'; frame-ancestors 'none'"
        )
        return {
            "Content-Type": HTML,
            "Content-Security-Policy": policy,
            # The answer page shows the verification code; the status URL carries it.
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            **self.headers,
        }


@cache
def _environment() -> "Environment":
    # Imported here: Jinja2 takes about 60 ms to import, which only the page routes should pay on a cold start.
    from jinja2 import Environment, FileSystemLoader

    # auto_reload off: templates ship with the code and change only with it, so a page need not stat its files each
    # time it is rendered (the local stack is restarted for a change, as for one of the code).
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True, auto_reload=False
    )
    environment.filters["local_time"] = _local_time
    return environment


def render(template: str, **context: object) -> str:
    return _environment().get_template(template).render(campaign=load_campaign(), **context)


_HOST = re.compile(r"[A-Za-z0-9.:\[\]-]{1,255}")


def _local_time(moment: str | None) -> str:
    return datetime.fromisoformat(moment).strftime("%Y年%m月%d日 %H:%M") if moment else ""
