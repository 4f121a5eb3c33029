"""The public opinion form of a survey (征求意见表, shared/core/surveys.py): `/surveys/{id}?t=<token>`, one answer
per link, anonymous (nothing about the person or their device is kept; the answer's day only).

Each department the survey names is rated on each aspect of the questionnaire, or left blank; the free text is
for a concrete problem or a suggestion, which staff may file as a complaint (shared/routing/survey_complaints.py).
"""

from datetime import UTC, datetime
from urllib.parse import parse_qsl

from shared.core import filing, ratelimit, reference_data
from shared.core.dal.surveys import SurveyStore, token_digest
from shared.core.errors import ApiError, FieldError
from shared.core.models import Channel
from shared.core.pages import FORM, Page, Site, render
from shared.core.settings import Settings
from shared.core.surveys import Answer, questionnaire


def _field(department: str, aspect: str) -> str:
    return f"r-{department}-{aspect}"


def _open_link(settings: Settings, survey_id: str, token: str) -> tuple[dict, str]:
    """The survey and the link's digest; 404 for an unknown survey or link, 409 for a link already used."""
    store = SurveyStore(settings)
    survey = store.get(survey_id) if survey_id.isascii() and len(survey_id) <= 40 else None
    digest = token_digest(token)
    link = store.link(survey_id, digest) if survey is not None and token and len(token) <= 64 else None
    if survey is None or link is None:
        raise ApiError(404, "not_found", "链接无效，请核对征求意见表上的二维码或网址")
    if link.get("answer") is not None:
        raise ApiError(409, "already_answered", "该链接已经提交过意见，每个链接只能提交一次")
    return survey, digest


def _page(where: Site, status: int, survey: dict | None, token: str, **context: object) -> Page:
    names = {department.code: department.name for department in reference_data.departments()}
    departments = [(code, names.get(code, code)) for code in (survey or {}).get("departments", [])]
    defaults: dict[str, object] = {"values": {}, "error": None, "done": False}
    html = render(
        "survey.html",
        base=where.base_path,
        form=questionnaire(),
        survey=survey,
        token=token,
        departments=departments,
        field=_field,
        **{**defaults, **context},
    )
    return Page(status, html)


def survey_page(settings: Settings, where: Site, survey_id: str, token: str) -> Page:
    try:
        survey, _ = _open_link(settings, survey_id, token)
    except ApiError as error:
        return _page(where, error.status, None, "", error=error)
    return _page(where, 200, survey, token)


def _answer(survey: dict, values: dict[str, str]) -> Answer:
    form = questionnaire()
    levels = set(form.level_codes())
    ratings: dict[str, dict[str, str]] = {}
    problems = []
    for department in survey["departments"]:
        for aspect in form.aspect_codes():
            level = values.get(_field(department, aspect), "")
            if not level:
                continue
            if level not in levels:
                problems.append(FieldError(field=_field(department, aspect), code="invalid_level", message="评价无效"))
                continue
            ratings.setdefault(department, {})[aspect] = level
    text = values.get("text", "").strip()
    if len(text) > form.text_max_chars:
        problems.append(FieldError(field="text", code="too_long", message=f"意见不能超过 {form.text_max_chars} 字"))
    if not ratings and not text and not problems:
        problems.append(FieldError(field="text", code="empty", message="请至少评价一项或填写意见"))
    if problems:
        raise ApiError(422, "invalid_answer", "提交的内容有误，请检查后重新提交", problems)
    return Answer(ratings=ratings, text=text)


def submit_survey(
    settings: Settings,
    where: Site,
    survey_id: str,
    token: str,
    body: bytes,
    content_type: str,
    client_ip: str,
    now: datetime | None = None,
) -> Page:
    """Store a link's answer once; the thanks page, or the form again with what was wrong."""
    now = now or datetime.now(UTC)
    ratelimit.admit(settings, "survey-ip", client_ip, settings.submissions_per_ip_per_hour, body, now)
    filing.archive_raw(settings, Channel.survey, body, content_type, now)
    values: dict[str, str] = {}
    survey: dict | None = None
    try:
        survey, digest = _open_link(settings, survey_id, token)
        if content_type.split(";", 1)[0].strip().lower() != FORM:
            raise ApiError(415, "unsupported_media_type", "请通过页面表单提交")
        values = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        answer = _answer(survey, values)
        day = now.astimezone(reference_data.county_timezone()).date().isoformat()
        if not SurveyStore(settings).answer(survey_id, digest, answer.model_dump(), day):
            raise ApiError(409, "already_answered", "该链接已经提交过意见，每个链接只能提交一次")
    except ApiError as error:
        keep = survey if error.status == 422 else None
        return _page(where, error.status, keep, token if keep else "", values=values, error=error)
    return _page(where, 201, survey, "", done=True)
