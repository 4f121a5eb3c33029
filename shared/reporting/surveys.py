"""Opinion forms for enterprises (征求意见表, plan 三(二)): the county legal office creates a survey from the
questionnaire (shared/data/survey_questionnaire.json), issues N one-time links and prints them as a PDF sheet with
a QR code per link, to hand out at an enterprise forum; it reads the answers and their tally here, and the reports
get a 征求意见 section (`tally`).

A link's token is shown once, on the sheet made when the survey is created (stored in the reports bucket under
`surveys/<id>/links.pdf`); the table keeps only its hash (shared/core/dal/surveys.py). Answers are anonymous.
"""

import secrets
from datetime import UTC, date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.core import objects, reference_data
from shared.core.auth import Principal, Role
from shared.core.campaign import load_campaign
from shared.core.concurrent_reads import Reads
from shared.core.dal.surveys import SurveyStore, token_digest
from shared.core.errors import ApiError, parse_model
from shared.core.roles import require_role
from shared.core.settings import Settings
from shared.core.surveys import Tally, default_departments, link_path, questionnaire
from shared.reporting import survey_sheet
from shared.reporting.report_document import SurveyRow, SurveySection

READERS = (Role.county_admin, Role.auditor)
SHEET_NAME = "links.pdf"


class SurveyRequest(BaseModel):
    """POST /reports/surveys."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=100)  # e.g. 2026年企业座谈会
    links: int = Field(ge=1)  # at most survey_questionnaire.json max_links
    departments: list[str] | None = Field(default=None, min_length=1, max_length=60)

    @field_validator("departments")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        known = set(default_departments())
        if value is not None and not set(value) <= known:
            raise ValueError("不认识的部门代码：" + "、".join(sorted(set(value) - known)))
        return list(dict.fromkeys(value)) if value is not None else None


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "未找到该征求意见表")


def sheet_key(survey_id: str) -> str:
    return f"surveys/{survey_id}/{SHEET_NAME}"


def sheet_url(settings: Settings, survey_id: str) -> str:
    """A download link of the printable sheet, expiring like the reports' links."""
    return objects.download_url(settings.reports_bucket, sheet_key(survey_id), settings.report_url_seconds)


def create(settings: Settings, principal: Principal, body: bytes, now: datetime | None = None) -> dict:
    """A survey with its links; the answer lists every link once (and the sheet to print them from)."""
    now = now or datetime.now(UTC)
    require_role(principal, Role.county_admin)
    request = parse_model(SurveyRequest, body)
    if request.links > questionnaire().max_links:
        raise ApiError(422, "too_many_links", f"每份征求意见表最多 {questionnaire().max_links} 个链接")
    survey_id = f"{now.astimezone(reference_data.county_timezone()):%Y%m%d}-{secrets.token_hex(3)}"
    tokens = [secrets.token_urlsafe(12) for _ in range(request.links)]
    survey = {
        "id": survey_id,
        "campaign": load_campaign().id,
        "title": request.title,
        "departments": request.departments or default_departments(),
        "links": request.links,
        "created_at": now.isoformat(),
        "created_by": principal.subject,
    }
    SurveyStore(settings).create(
        survey, [{"digest": token_digest(token), "number": number} for number, token in enumerate(tokens, start=1)]
    )
    base = settings.public_base_url.rstrip("/")
    urls = [base + link_path(survey_id, token) for token in tokens]
    pdf = survey_sheet.to_pdf(request.title, questionnaire().title, urls, now)
    objects.put(settings.reports_bucket, sheet_key(survey_id), pdf, "application/pdf")
    return {
        **_summary(survey, Tally()),
        "urls": urls,
        "sheet_url": sheet_url(settings, survey_id),
    }


def _summary(survey: dict, tally: Tally) -> dict:
    return {
        "id": survey["id"],
        "title": survey["title"],
        "created_at": survey["created_at"],
        "departments": survey["departments"],
        "issued": int(survey["links"]),
        "answered": tally.answered,
        "complaints": tally.complaints,
    }


def list_surveys(settings: Settings, principal: Principal) -> dict:
    require_role(principal, *READERS)
    store = SurveyStore(settings)
    items = []
    for survey_id in reversed(store.ids(load_campaign().id)):
        survey, links = store.survey(survey_id)
        if survey is not None:
            tally = Tally()
            tally.add(links)
            items.append(_summary(survey, tally))
    return {"items": items}


def get_survey(settings: Settings, principal: Principal, survey_id: str) -> dict:
    """A survey, its tally and its answers (anonymous: the link's number, the day, the answer, the complaint)."""
    require_role(principal, *READERS)
    survey, links = SurveyStore(settings).survey(survey_id) if len(survey_id) <= 40 else (None, [])
    if survey is None:
        raise _not_found()
    tally = Tally()
    tally.add(links)
    answers = [
        {
            "number": int(link["number"]),
            "answered_on": link["answered_on"],
            "ratings": link["answer"].get("ratings", {}),
            "text": link["answer"].get("text", ""),
            "tracking_no": link.get("tracking_no"),
        }
        for link in links
        if link.get("answer") is not None
    ]
    return {
        **_summary(survey, tally),
        "ratings": tally.ratings,
        "answers": answers,
        "sheet_url": sheet_url(settings, survey_id),
    }


def _of(levels: dict[str, int], wanted: set[str]) -> int:
    return sum(count for level, count in levels.items() if level in wanted)


def section(
    settings: Settings,
    start: date,
    end: date,
    departments: list[str] | None = None,
    survey_ids: list[str] | None = None,
) -> SurveySection:
    """The reports' 征求意见 section: the surveys of the campaign created in start..end (county days) added up,
    with the rows of the departments given (all rated ones when None), in the order of departments.json;
    `survey_ids` the campaign's surveys when the caller has read them (a report, with the materials)."""
    store = SurveyStore(settings)
    total = Tally()
    zone = reference_data.county_timezone()
    count = 0
    ids = store.ids(load_campaign().id) if survey_ids is None else survey_ids
    # One Query a survey, sent together: a campaign's dozens of surveys wait one round trip, not one each.
    with Reads() as reads:
        read = [reads.start(store.survey, survey_id) for survey_id in ids]
    for found in read:
        survey, links = found.result()
        if survey is None:
            continue
        created = datetime.fromisoformat(survey["created_at"]).astimezone(zone).date()
        if start <= created <= end:
            total.add(links)
            count += 1
    form = questionnaire()
    satisfied = {level.code for level in form.levels if level.satisfied}
    rows = []
    for department in reference_data.departments():
        rated = total.ratings.get(department.code)
        if rated is None or (departments is not None and department.code not in departments):
            continue
        rows.append(
            SurveyRow(
                department=department.code,
                name=department.name,
                rated={aspect: sum(levels.values()) for aspect, levels in rated.items()},
                satisfied={
                    aspect: sum(n for level, n in levels.items() if level in satisfied)
                    for aspect, levels in rated.items()
                },
            )
        )
    return SurveySection(
        surveys=count,
        issued=total.issued,
        answered=total.answered,
        complaints=total.complaints,
        rows=rows,
    )
