"""Call-back answers from the complainant (回访, shared/core/callbacks.py): by the JSON API
(`POST /complaints/{no}/feedback`), by the web page the call-back notice links to (`/feedback`), and by a text
`1` / `2` / `3` (or the words) from the phone the complaint came with (shared/intake/sms_inbound.py).

The API and the page ask for the tracking number and verification code and refuse a wrong one exactly as the
status lookup does (shared/intake/complaints.py `verified_case`: same 404, same limits). A text needs no code: it
comes from the complainant's own number, and is taken as an answer only while one of that number's cases awaits one.
"""

from datetime import UTC, datetime
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.core import callbacks, errors, filing, identity, ratelimit, reference_data
from shared.core.dal.cases import CaseStore
from shared.core.errors import ApiError, from_validation_error
from shared.core.models import Case, Channel, Complainant, Rating
from shared.core.pages import FORM, Page, Site, render
from shared.core.settings import Settings
from shared.core.sms_text import Sms
from shared.intake import complaints

# How many of a number's newest cases a text is matched against.
RECENT_CASES = 10
ACTOR = "complainant"


class FeedbackRequest(BaseModel):
    """POST /complaints/{tracking_no}/feedback."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=20)
    rating: Rating
    comment: callbacks.Comment = None


def _answer(case: Case) -> dict:
    callback = case.callback
    if callback is None or callback.rating is None:
        raise RuntimeError(f"case {case.tracking_no} has no call-back answer")  # recorded just before: a bug
    zone = reference_data.county_timezone()
    answer = {
        "tracking_no": case.tracking_no,
        "rating": callback.rating,
        "rating_name": callbacks.label(callback.rating),
        # In the county's time zone, as the status lookup shows times.
        "answered_at": (callback.answered_at or case.received_at).astimezone(zone).isoformat(),
        "answer_until": callback.due_at.astimezone(zone).isoformat(),
    }
    if callback.rating == Rating.dissatisfied:
        answer["review"] = callbacks.review_hint(case)
    return answer


def _record(
    settings: Settings, tracking_no: str, request: FeedbackRequest, via: callbacks.Via, client_ip: str, now: datetime
) -> Case:
    case = complaints.verified_case(settings, tracking_no, request.code, client_ip, now)
    if not callbacks.is_open(case, now):
        raise callbacks.closed_error()
    return callbacks.record(settings, case.tracking_no, request.rating, request.comment, via, ACTOR, now)


def submit_feedback(
    settings: Settings,
    tracking_no: str,
    body: bytes,
    content_type: str,
    client_ip: str = "unknown",
    now: datetime | None = None,
) -> dict:
    """The JSON API: archived first like every payload, then the code checked as the status lookup does."""
    now = now or datetime.now(UTC)
    ratelimit.admit(settings, "feedback-ip", client_ip, settings.submissions_per_ip_per_hour, body, now)
    filing.archive_raw(settings, Channel.web, body, content_type, now)
    errors.check_json_body(settings, body, content_type)
    request = errors.parse_model(FeedbackRequest, body)
    return _answer(_record(settings, tracking_no, request, "api", client_ip, now))


# --- the page the call-back notice links to -------------------------------------------------------------------


def _page(where: Site, status: int, **context: object) -> Page:
    choices = {rating: callbacks.label(rating) for rating in Rating}
    defaults: dict[str, object] = {"number": "", "code": "", "values": {}, "error": None, "answer": None}
    limits = {"comment_max": callbacks.rules().comment_max_chars}
    html = render("feedback.html", base=where.base_path, choices=choices, **limits, **{**defaults, **context})
    return Page(status, html)


def feedback_page(where: Site, number: str, code: str) -> Page:
    """The form: tracking number and code (filled in from the link when it carries them), rating, comment."""
    return _page(where, 200, number=number.strip(), code=code.strip())


def submit_feedback_form(
    settings: Settings, where: Site, body: bytes, content_type: str, client_ip: str, now: datetime | None = None
) -> Page:
    now = now or datetime.now(UTC)
    ratelimit.admit(settings, "feedback-ip", client_ip, settings.submissions_per_ip_per_hour, body, now)
    filing.archive_raw(settings, Channel.web, body, content_type, now)
    values: dict[str, str] = {}
    try:
        if content_type.split(";", 1)[0].strip().lower() != FORM:
            raise ApiError(415, "unsupported_media_type", "请通过页面表单提交")
        values = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        number = values.get("no", "").strip()
        try:
            request = FeedbackRequest.model_validate(
                {"code": values.get("code", ""), "rating": values.get("rating", ""), "comment": values.get("comment")}
            )
        except ValidationError as error:
            raise from_validation_error(error) from None
        case = _record(settings, number, request, "web", client_ip, now)
    except ApiError as error:
        shown = {name: values.get(name, "") for name in ("rating", "comment")}
        return _page(where, error.status, number=values.get("no", ""), values=shown, error=error)
    return _page(where, 200, number=case.tracking_no, answer=_answer(case))


# --- by SMS -------------------------------------------------------------------------------------------------------


def sms_answer(settings: Settings, phone: str, text: str, now: datetime) -> tuple[str, Sms] | None:
    """A text that is only a rating, from a number one of whose cases awaits a call-back answer: recorded on the
    case asked last; the case and the reply. None for any other text (a complaint, a follow-up or a query)."""
    rating = callbacks.parse_rating(text)
    contact = Complainant(phone=phone).contact_key()
    if rating is None or contact is None:
        return None
    store = CaseStore(settings)
    waiting = [
        case
        for tracking_no in store.recent_by_contact(
            identity.contact_hash(contact, settings.contact_hash_key), RECENT_CASES
        )
        if (case := store.get(tracking_no)) is not None and callbacks.is_open(case, now)
    ]
    if not waiting:
        return None
    chosen = max(waiting, key=lambda case: case.callback.asked_at if case.callback else now)
    case = callbacks.record(settings, chosen.tracking_no, rating, None, "sms", f"channel:{Channel.sms}", now)
    if rating == Rating.dissatisfied:
        due = case.review_request_due_at
        shown = f"{due.astimezone(reference_data.county_timezone()):%m月%d日}" if due else ""
        return case.tracking_no, Sms(
            kind="callback_dissatisfied", values={"tracking_no": case.tracking_no, "due": shown}
        )
    return case.tracking_no, Sms(
        kind="callback_thanks", values={"tracking_no": case.tracking_no, "rating": callbacks.label(rating)}
    )
