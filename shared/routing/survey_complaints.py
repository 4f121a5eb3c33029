"""Filing a survey answer as a complaint (征求意见表 -> 投诉), in one step: the county legal office reads an
answer whose free text describes a concrete problem (shared/reporting/surveys.py) and files it here
(POST /cases/surveys/{survey_id}/answers/{number}/complaint). The complaint has channel `survey`, is anonymous like
the form, keeps the link to the form (`source_ref` `survey:<id>/<number>`) and is routed like any other; the link
notes the tracking number, so an answer is filed once.
"""

import hashlib
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.core import errors, filing
from shared.core.auth import Principal, Role
from shared.core.dal.surveys import SurveyStore
from shared.core.errors import ApiError
from shared.core.models import Channel
from shared.core.roles import require_role
from shared.core.settings import Settings
from shared.core.surveys import Answer


class SurveyComplaintRequest(BaseModel):
    """The body: optionally the complaint as staff put it (default: the answer's text) and whom it is about."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    description: str | None = Field(default=None, min_length=1, max_length=5000)
    respondent: str | None = Field(default=None, max_length=200)


def source_ref(survey_id: str, number: int) -> str:
    return f"survey:{survey_id}/{number}"


def file_answer(
    settings: Settings,
    principal: Principal,
    survey_id: str,
    number: str,
    body: bytes,
    content_type: str,
    now: datetime | None = None,
) -> tuple[int, dict]:
    """201 with the tracking number (and code, kept by the office) and the form it came from; 404 for no such
    answer, 409 when it was filed already, 422 when it has no text to file."""
    now = now or datetime.now(UTC)
    require_role(principal, Role.county_admin)
    raw_key = filing.archive_raw(settings, Channel.survey, body, content_type, now)
    store = SurveyStore(settings)
    _, links = store.survey(survey_id) if len(survey_id) <= 40 else (None, [])
    link = next((link for link in links if str(link["number"]) == number and link.get("answer") is not None), None)
    if link is None:
        raise ApiError(404, "not_found", "未找到该份已提交的征求意见表")
    if link.get("tracking_no"):
        raise ApiError(409, "already_filed", f"该意见已登记为投诉 {link['tracking_no']}")
    if body:
        errors.check_json_body(settings, body, content_type)
    request = errors.parse_model(SurveyComplaintRequest, body)
    text = request.description or Answer.model_validate(link["answer"]).text
    if not text:
        raise ApiError(422, "no_text", "该份意见没有可登记为投诉的具体问题，请填写投诉内容")
    reference = source_ref(survey_id, int(link["number"]))
    draft = filing.ComplaintDraft(
        channel=Channel.survey,
        raw_key=raw_key,
        received_at=now,
        description=text,
        respondent=request.respondent,
        anonymous=True,
        entered_by=principal.subject,
        source_ref=reference,
    )

    def produce(once: filing.Once) -> dict:
        receipt = filing.create_complaint(settings, draft, once)
        return {**receipt.model_dump(mode="json"), "source_ref": reference}

    fingerprint = hashlib.sha256(reference.encode()).hexdigest()
    answer = filing.run_once(settings, f"survey-complaint:{reference}", fingerprint, now, produce)
    store.link_complaint(survey_id, str(link["digest"]), str(answer.body["tracking_no"]))
    return answer.status, answer.body
