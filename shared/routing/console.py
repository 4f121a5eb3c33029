"""The staff console: server-rendered pages of the routing service under /cases/console.

Pages only present what the case API (shared/routing/cases_api.py) answers, and post to the same functions: role,
department scope, state, guards and version are checked there, nowhere else. The session is the staff token
itself, kept in an HttpOnly, SameSite=Strict cookie (Secure behind HTTPS) and verified on every request like a
bearer token. POST forms carry a CSRF token, an HMAC of the session token keyed by nothing the browser's
neighbours can read; the login form, which has no session yet, a random value also set as a cookie. No script:
plain forms, so the strict Content-Security-Policy of shared/core/pages.py applies. The session and the
page frame are shared with the reporting service's dashboard (shared/core/staff_pages.py).
"""

import json
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Literal
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ConfigDict, Field

from shared.core import auth, quarantine, reference_data, roles
from shared.core.auth import Principal, Role
from shared.core.errors import ApiError
from shared.core.models import STATUS_NAMES, Status
from shared.core.pages import TEMPLATES, Page, render
from shared.core.settings import Settings
from shared.core.staff_pages import (
    Where,
    cookie,
    cookies,
    csrf_refused,
    read_form,
    redirect,
    same_secret,
    session,
    session_cookie,
    staff_page,
)
from shared.routing import cases_api, confidentiality, publication, staff, survey_complaints, workflow

CONFLICT = "该投诉已被他人处理，请刷新"
# The console form that reveals the complainant (not a workflow action: it changes nothing on the case).
REVEAL = "reveal_complainant"
FILTERS = ("status", "department", "category", "channel", "kind", "view", "cursor")
# Due within this long: highlighted in the queue.
DUE_SOON = timedelta(days=3)
LOGIN_COOKIE = "hotspot_console_login"


class FieldView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str
    widget: Literal["textarea", "text", "number", "select", "checkboxes", "checkbox", "department", "category"]
    options: dict[str, str] = {}


class Texts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    deadline_kinds: dict[str, str]
    events: dict[str, str]
    notices: dict[str, str]
    notice_channels: dict[str, str]
    notice_states: dict[str, str]
    fields: dict[str, FieldView]
    # Fields of one action shown otherwise than `fields` shows the name (change_kind's kind).
    action_fields: dict[str, dict[str, FieldView]] = {}
    publication_states: dict[str, str]
    publication_steps: dict[str, str]
    callback_via: dict[str, str]
    low_confidence: float = Field(ge=0, le=1)


@cache
def texts() -> Texts:
    return Texts.model_validate(reference_data.load_json("console.json"))


def stylesheet() -> str:
    return (TEMPLATES / "console.css").read_text(encoding="utf-8")


# --- signing in -----------------------------------------------------------------------------------------------


def login_page(where: Where, error: ApiError | None = None) -> Page:
    nonce = secrets.token_hex(16)
    html = render("console_login.html", console=where.base, me=None, csrf=nonce, error=error)
    return Page(error.status if error else 200, html, headers={"Set-Cookie": cookie(where, LOGIN_COOKIE, nonce, 3600)})


def submit_login(
    settings: Settings, where: Where, headers: Mapping[str, str], body: bytes, ip: str, now: datetime | None = None
) -> Page:
    """Username, password and one-time code (the JSON login's own logic), or a pasted development token."""
    now = now or datetime.now(UTC)
    try:
        values = dict(read_form(body, headers.get("content-type", "")))
        if not same_secret(values.get("csrf"), cookies(headers).get(LOGIN_COOKIE, "")):
            raise csrf_refused()
        token = values.get("token", "").strip()
        if token:
            auth.verify_token(settings, token, now)
            lifetime = settings.auth_token_seconds
        else:
            fields = {name: values.get(name, "") for name in ("username", "password", "totp")}
            answer = staff.login(settings, json.dumps(fields).encode(), "application/json", ip, now)
            token, lifetime = answer.token, int((answer.expires_at - now).total_seconds())
    except ApiError as error:
        return login_page(where, error)
    return redirect(where.base, session_cookie(where, token, lifetime))


def logout(settings: Settings, where: Where, headers: Mapping[str, str], body: bytes) -> Page:
    signed_in = session(settings, headers)
    if not same_secret(dict(read_form(body, headers.get("content-type", ""))).get("csrf"), signed_in.csrf):
        raise csrf_refused()
    # Signing out ends every token of the account, not only this browser's cookie (a copied token dies too).
    staff.sign_out(settings, signed_in.principal)
    return redirect(f"{where.base}/login", session_cookie(where, "", 0))


# --- the queue ------------------------------------------------------------------------------------------------


def _when(value: datetime | str | None) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(reference_data.county_timezone()).strftime("%Y-%m-%d %H:%M")


def _urgency(due_at: datetime | None, now: datetime) -> str:
    if due_at is None:
        return ""
    return "overdue" if due_at < now else "due-soon" if due_at - now < DUE_SOON else ""


def queue_page(
    settings: Settings, where: Where, headers: Mapping[str, str], params: Mapping[str, str], now: datetime | None = None
) -> Page:
    """One page of the queue the caller may see, overdue cases first, then by due date."""
    now = now or datetime.now(UTC)
    signed_in = session(settings, headers)
    if signed_in.principal.role == Role.media:
        # The media role has no queue: its page is the follow-up notes of the cases it is told of.
        return redirect(f"{where.base}/media")
    query = {name: params[name] for name in FILTERS if params.get(name)}
    error, items, cursor = None, [], None
    try:
        answer = cases_api.list_cases(settings, signed_in.principal, query)
        items, cursor = answer["items"], answer["cursor"]
    except ApiError as refused:
        if refused.status in (401, 403):
            raise
        error = refused
    far = datetime.max.replace(tzinfo=UTC)
    items.sort(key=lambda item: (_urgency(item["due_at"], now) != "overdue", item["due_at"] or far))
    rows = [{**item, "urgency": _urgency(item["due_at"], now)} for item in items]
    next_page = f"?{urlencode({**query, 'cursor': cursor})}" if cursor else None
    return staff_page(
        "console_queue.html",
        where,
        signed_in,
        rows=rows,
        query=query,
        next_page=next_page,
        error=error,
        statuses=[(status.value, STATUS_NAMES[status]) for status in Status],
        departments=reference_data.departments(),
        categories={category.code: category.name for category in reference_data.categories()},
        channels={channel.code: channel.name for channel in reference_data.channels()},
        county_wide=signed_in.principal.role in roles.COUNTY_WIDE_ROLES,
        triage=signed_in.principal.role == Role.county_admin,
        when=_when,
        quote=quote,
    )


# --- a case ---------------------------------------------------------------------------------------------------


def _forms(allowed: list[str]) -> list[dict[str, Any]]:
    """The form of each allowed action: its fields as console.json shows them, required ones marked."""
    forms = []
    for action in allowed:
        views = _views(action)
        model = workflow.BODIES[action]
        fields = [
            {"name": name, "view": views[name], "required": info.is_required()}
            for name, info in model.model_fields.items()
            if name not in ("version", "note")
        ]
        fields.append({"name": "note", "view": views["note"], "required": False})
        forms.append({"action": action, "label": workflow.rule(action).label, "fields": fields})
    return forms


def _views(action: str) -> dict[str, FieldView]:
    """How each field of an action's form is shown."""
    return {**texts().fields, **texts().action_fields.get(action, {})}


def _event_label(action: str) -> str:
    found = workflow.table().actions.get(action)
    return found.label if found else texts().events.get(action, action)


def case_page(
    settings: Settings,
    where: Where,
    headers: Mapping[str, str],
    tracking_no: str,
    error: ApiError | None = None,
    now: datetime | None = None,
    revealed: dict | None = None,
) -> Page:
    """The case as the API shows it to the caller: deadlines, timeline, and a form per action allowed now;
    the complainant unmasked only on the page that answers a reveal."""
    signed_in = session(settings, headers)
    shown = cases_api.get_case(settings, signed_in.principal, tracking_no, now)
    return staff_page(
        "console_case.html",
        where,
        signed_in,
        status=error.status if error else 200,
        shown=shown,
        case=shown["case"],
        forms=_forms(shown["allowed_actions"]),
        extras=_case_extras(settings, signed_in.principal, shown),
        revealed=revealed,
        error=error,
        texts=texts(),
        statuses={status.value: name for status, name in STATUS_NAMES.items()},
        departments={department.code: department.name for department in reference_data.departments()},
        categories={category.code: category.name for category in reference_data.categories()},
        channels={channel.code: channel.name for channel in reference_data.channels()},
        event_label=_event_label,
        when=_when,
    )


def _body(action: str, pairs: list[tuple[str, str]]) -> bytes:
    """The form's fields as the JSON body of the action; the API's models check them."""
    views = _views(action)
    model = workflow.BODIES[action]
    data: dict[str, Any] = {}
    for name, value in pairs:
        if name not in model.model_fields:
            continue
        widget = "number" if name == "version" else views[name].widget
        if widget == "checkboxes":
            data.setdefault(name, []).append(value)
        elif widget == "checkbox":
            data[name] = True
        elif value.strip() and name not in data:
            # A number that is not one is passed on as text, for the model to refuse with its own message.
            data[name] = int(value) if widget == "number" and value.strip().isdigit() else value
    for name in model.model_fields:
        if name in views and views[name].widget == "checkbox":
            data.setdefault(name, False)
    return json.dumps(data, ensure_ascii=False).encode()


def submit_action(
    settings: Settings,
    where: Where,
    headers: Mapping[str, str],
    tracking_no: str,
    action: str,
    body: bytes,
    now: datetime | None = None,
) -> Page:
    """Take the action through the case API; back to the case, or the case as it is now with why not."""
    signed_in = session(settings, headers)
    pairs = read_form(body, headers.get("content-type", ""))
    if not same_secret(dict(pairs).get("csrf"), signed_in.csrf):
        raise csrf_refused()
    if action == REVEAL:
        return _reveal(settings, where, headers, tracking_no, signed_in.principal, pairs, now)
    if action == RELAY:
        return _relay(settings, where, headers, tracking_no, signed_in.principal, pairs, now)
    if action in PUBLICATION_FORMS:
        return _publication_form(settings, where, headers, tracking_no, signed_in.principal, action, pairs, now)
    workflow.rule(action)  # an unknown action is a 404
    try:
        cases_api.act(settings, signed_in.principal, tracking_no, action, _body(action, pairs), now)
    except ApiError as error:
        return _why_not(settings, where, headers, tracking_no, error, now)
    return redirect(f"{where.base}/{quote(tracking_no)}")


def _why_not(
    settings: Settings,
    where: Where,
    headers: Mapping[str, str],
    tracking_no: str,
    error: ApiError,
    now: datetime | None,
) -> Page:
    """The case as it is now with why a form was refused; refusals of the page itself go to the error page."""
    if error.status in (401, 404) or error.code == "forbidden":
        raise error
    if error.code == "version_conflict":
        error = ApiError(409, "version_conflict", CONFLICT)
    return case_page(settings, where, headers, tracking_no, error, now)


def _reveal(
    settings: Settings,
    where: Where,
    headers: Mapping[str, str],
    tracking_no: str,
    principal: Principal,
    pairs: list[tuple[str, str]],
    now: datetime | None,
) -> Page:
    """The case with the complainant unmasked, through the audited reveal; or the case with why not."""
    body = json.dumps({"reason": dict(pairs).get("reason", "")}, ensure_ascii=False).encode()
    try:
        answer = confidentiality.reveal(settings, principal, tracking_no, body, now)
    except ApiError as error:
        return _why_not(settings, where, headers, tracking_no, error, now)
    return case_page(settings, where, headers, tracking_no, now=now, revealed=answer["complainant"])


# --- messages relayed to the complainant (shared/routing/confidentiality.py) ------------------------------------------

# Posted like an action; the system sends the text to the stored contact, which the sender never sees.
RELAY = "relay_message"


def _relay(
    settings: Settings,
    where: Where,
    headers: Mapping[str, str],
    tracking_no: str,
    principal: Principal,
    pairs: list[tuple[str, str]],
    now: datetime | None,
) -> Page:
    """Queue the message and go back to the case (its timeline shows it); or the case with why not."""
    body = json.dumps({"text": dict(pairs).get("text", "")}, ensure_ascii=False).encode()
    try:
        confidentiality.relay(settings, principal, tracking_no, body, now)
    except ApiError as error:
        return _why_not(settings, where, headers, tracking_no, error, now)
    return redirect(f"{where.base}/{quote(tracking_no)}")


def _case_extras(settings: Settings, principal: Principal, shown: dict) -> dict[str, Any]:
    """What the case page shows beside the workflow: the relay form, the publication of a typical case, and
    the link to the media follow-up notes; each only to the roles their module lets in."""
    case = shown["case"]
    return {
        "relay": principal.role in confidentiality.RELAYERS and shown["complainant"] is not None,
        "relay_chars": confidentiality.rules().relay_chars,
        "publication": _publication_section(settings, principal, case),
        "media_notes": bool(case.get("media_followup")) and principal.role in publication.NOTE_READERS,
    }


# --- publication of typical cases (shared/routing/publication.py) -----------------------------------------------------

# The case page's publication forms, posted like actions: the draft (create or edit), then one form per step.
PUBLICATION_DRAFT = "publication_draft"
PUBLICATION_STEPS = {
    "publication_approve": "approve",
    "publication_publish": "publish",
    "publication_unpublish": "unpublish",
}
PUBLICATION_FORMS = (PUBLICATION_DRAFT, *PUBLICATION_STEPS)
# Further names to remove are typed one per line (or separated by commas).
NAME_SEPARATORS = re.compile(r"[\s,，、;；]+")


def _publication_section(settings: Settings, principal: Principal, case: dict) -> dict[str, Any] | None:
    """The publication of a typical case or an answered question for those who read publications: the record
    (None before the first draft), whether the caller may edit it now, and the steps it can take now."""
    publishable = case.get("typical") is not None or case.get("answered_at") is not None
    if not publishable or principal.role not in publication.READERS:
        return None
    try:
        record = publication.get_publication(settings, principal, case["tracking_no"])["publication"]
    except ApiError as error:
        if error.status != 404:
            raise
        record = None
    editor = principal.role in publication.EDITORS
    steps = publication.steps_from(record["state"]) if record and editor else []
    return {
        "record": record,
        "editable": editor and (record is None or publication.editable(record["state"])),
        "steps": [(form, texts().publication_steps[form]) for form, step in PUBLICATION_STEPS.items() if step in steps],
    }


def _publication_body(form: str, pairs: list[tuple[str, str]]) -> bytes:
    """The form's fields as the JSON body of publication.draft or .step; its models check them."""
    values = dict(pairs)
    version = values.get("version", "").strip()
    data: dict[str, Any] = {"version": int(version) if version.isdigit() else version}
    fields = ("title", "summary", "outcome", "note") if form == PUBLICATION_DRAFT else ("note",)
    data.update({name: values[name] for name in fields if values.get(name, "").strip()})
    names = [name for name in NAME_SEPARATORS.split(values.get("names", "")) if name]
    if form == PUBLICATION_DRAFT and names:
        data["names"] = names
    return json.dumps(data, ensure_ascii=False).encode()


def _publication_form(
    settings: Settings,
    where: Where,
    headers: Mapping[str, str],
    tracking_no: str,
    principal: Principal,
    form: str,
    pairs: list[tuple[str, str]],
    now: datetime | None,
) -> Page:
    """Draft, edit or take a step of the publication; back to the case, or the case with why not."""
    body = _publication_body(form, pairs)
    try:
        if form == PUBLICATION_DRAFT:
            publication.draft(settings, principal, tracking_no, body, now)
        else:
            publication.step(settings, principal, tracking_no, PUBLICATION_STEPS[form], body, now)
    except ApiError as error:
        return _why_not(settings, where, headers, tracking_no, error, now)
    return redirect(f"{where.base}/{quote(tracking_no)}#publication")


# --- media follow-up notes (shared/routing/publication.py) ------------------------------------------------------------


def media_page(
    settings: Settings,
    where: Where,
    headers: Mapping[str, str],
    params: Mapping[str, str],
    error: ApiError | None = None,
) -> Page:
    """The follow-up notes of one case (by tracking number) as publication.notes shows them to the caller, the
    form to add one for those who write them, and for the media role the case's public text if published."""
    signed_in = session(settings, headers)
    principal = signed_in.principal
    roles.require_role(principal, *publication.NOTE_READERS)
    tracking_no = params.get("tracking_no", "").strip()
    notes, public = None, None
    if tracking_no:
        try:
            notes = publication.notes(settings, principal, tracking_no)["items"]
        except ApiError as refused:
            if refused.status in (401, 403):
                raise
            error = error or refused
    if notes is not None and principal.role == Role.media:
        try:
            public = publication.get_publication(settings, principal, tracking_no)["publication"]
        except ApiError as refused:
            if refused.status != 404:
                raise
    return staff_page(
        "console_media.html",
        where,
        signed_in,
        status=error.status if error else 200,
        tracking_no=tracking_no,
        notes=notes,
        public=public,
        writer=principal.role in publication.NOTE_WRITERS,
        case_link=principal.role != Role.media,
        error=error,
        when=_when,
    )


def submit_media_note(
    settings: Settings, where: Where, headers: Mapping[str, str], body: bytes, now: datetime | None = None
) -> Page:
    """Add the note through publication.add_note; back to the case's notes, or the notes with why not."""
    signed_in = session(settings, headers)
    values = dict(read_form(body, headers.get("content-type", "")))
    if not same_secret(values.get("csrf"), signed_in.csrf):
        raise csrf_refused()
    tracking_no = values.get("tracking_no", "").strip()
    note = {name: values[name] for name in ("text", "source") if values.get(name, "").strip()}
    try:
        publication.add_note(
            settings, signed_in.principal, tracking_no, json.dumps(note, ensure_ascii=False).encode(), now
        )
    except ApiError as error:
        if error.status in (401, 403):
            raise
        return media_page(settings, where, headers, {"tracking_no": tracking_no}, error)
    return redirect(f"{where.base}/media?{urlencode({'tracking_no': tracking_no})}")


# --- a survey answer filed as a complaint (shared/routing/survey_complaints.py), from the survey's console page ---


def file_survey_answer(
    settings: Settings, where: Where, headers: Mapping[str, str], survey_id: str, number: str, body: bytes
) -> Page:
    """File the answer as it was written; on to the new case, or the error page (filed already, no text)."""
    signed_in = session(settings, headers)
    if not same_secret(dict(read_form(body, headers.get("content-type", ""))).get("csrf"), signed_in.csrf):
        raise csrf_refused()
    _, filed = survey_complaints.file_answer(settings, signed_in.principal, survey_id, number, b"", "")
    return redirect(f"{where.base}/{filed['tracking_no']}")


# --- the intake quarantine (shared/core/quarantine.py) -------------------------------------------------------------


def quarantine_page(
    settings: Settings, where: Where, headers: Mapping[str, str], params: Mapping[str, str], now: datetime | None = None
) -> Page:
    """One month of what intake could not turn into complaints, as quarantine.listing shows it to the caller."""
    signed_in = session(settings, headers)
    listed = quarantine.listing(
        settings, signed_in.principal, params.get("month") or None, now, after=params.get("after", "")
    )
    return staff_page(
        "console_quarantine.html",
        where,
        signed_in,
        listed=listed,
        minutes=max(1, settings.quarantine_url_seconds // 60),
        channels={channel.code: channel.name for channel in reference_data.channels()},
        when=_when,
    )
