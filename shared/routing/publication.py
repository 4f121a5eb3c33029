"""Typical cases and answered questions for the public (issue 4 item 8, issue 15 item 2), the staff side:
redact -> approve -> publish, and media notes.

A case marked typical (workflow action `mark_typical`), or a question once answered (workflow action `answer`),
gets a publication draft whose title, summary (the question) and outcome (the answer) are a first automatic
redaction of the case (patterns in shared/data/redaction.json; the complainant's identity
is never copied). The county legal office edits, approves, publishes and withdraws it; each step bumps the case
version (a stale version gets 409) and appends an audit event to the case in the same transaction. Only the
redacted fields are ever copied to the public lists (pk `PUBLISHED`, `ANSWERS`: shared/core/published.py), which the
intake service serves.

Media follow-up notes: the county legal office and the `media` role add them to cases flagged for media
follow-up; the media role reads only its own notes and only published material.
"""

import re
import secrets
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt

from shared.core import reference_data, text
from shared.core.auth import Principal, Role
from shared.core.changes import change_case
from shared.core.dal.cases import CaseStore
from shared.core.dal.items import ConditionFailed
from shared.core.dal.publications import PublicationStore
from shared.core.errors import ApiError, FieldError, parse_model
from shared.core.models import Case, CaseKind
from shared.core.observability import logger
from shared.core.published import KIND_NAMES, Publication, PublicationKind, State, public_list, public_view
from shared.core.reference_data import load_json
from shared.core.roles import case_not_found, require_role
from shared.core.settings import Settings

EDITORS = (Role.county_admin,)
READERS = (Role.county_admin, Role.auditor)
NOTE_WRITERS = (Role.county_admin, Role.media)
NOTE_READERS = (*NOTE_WRITERS, Role.auditor)

Text = Annotated[str, Field(min_length=1, max_length=5000), AfterValidator(text.check_text)]
Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(text.check_name)]


# --- redaction ------------------------------------------------------------------------------------------------


class Pattern(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    pattern: str
    replacement: str


class Rules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    patterns: tuple[Pattern, ...]
    person_placeholder: str
    unit_suffixes: tuple[str, ...]


@cache
def rules() -> Rules:
    return Rules.model_validate(load_json("redaction.json"))


@cache
def _compiled() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(rule.pattern), rule.replacement) for rule in rules().patterns)


def redact(value: str, names: list[str]) -> str:
    """`value` without the given persons' names (longest first) and without what the patterns find."""
    for name in sorted({name.strip() for name in names if name and name.strip()}, key=len, reverse=True):
        value = value.replace(name, rules().person_placeholder)
    for pattern, replacement in _compiled():
        value = pattern.sub(replacement, value)
    return value


def _is_person(respondent: str) -> bool:
    return not respondent.endswith(rules().unit_suffixes)


def case_names(settings: Settings, case: Case) -> list[str]:
    """The persons named in a case: the complainant (name, organisation) and a respondent who is a person."""
    names = [case.respondent] if case.respondent and _is_person(case.respondent) else []
    complainant = CaseStore(settings).complainant(case.tracking_no) if case.has_complainant else None
    if complainant is not None:
        names += [value for value in (complainant.name, complainant.organization) if value]
    return names


# --- the publication ------------------------------------------------------------------------------------------


class VersionBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    version: StrictInt = Field(ge=1)
    note: Text | None = None


class DraftBody(VersionBody):
    """Staff's edit of the draft; what is left out keeps its value (first: the automatic redaction)."""

    title: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(text.check_text)] | None = None
    summary: Text | None = None
    outcome: Text | None = None
    # Further persons named in the case text (witnesses, officers) to be removed.
    names: list[Name] = Field(default_factory=list, max_length=20)


def _load(settings: Settings, tracking_no: str) -> Case:
    case = CaseStore(settings).get(tracking_no) if tracking_no.isascii() and len(tracking_no) <= 40 else None
    if case is None:
        raise case_not_found()
    return case


def _conflict(code: str, message: str) -> ApiError:
    return ApiError(409, "invalid_transition", message, [FieldError(field="publication", code=code, message=message)])


# A question's default title: its first characters.
TITLE_CHARS = 30


def _source(case: Case) -> tuple[PublicationKind, str, str]:
    """What a publication of the case starts from: its kind, title and outcome (an answered question: its answer)."""
    if case.kind == CaseKind.question:
        if case.answered_at is None:
            raise _conflict("not_answered", "请先答复该咨询")
        title = case.description if len(case.description) <= TITLE_CHARS else case.description[:TITLE_CHARS] + "…"
        return "answer", title, case.answer or ""
    if case.typical is None:
        raise _conflict("not_typical", "请先将该案件标记为典型案例")
    category = next((c.name for c in reference_data.categories() if c.code == case.category), "行政执法")
    return (
        case.typical,
        f"{category}{KIND_NAMES[case.typical]}案例",
        case.reply_text or case.decision_summary or "正在办理中",
    )


def draft(settings: Settings, principal: Principal, tracking_no: str, body: bytes, now: datetime | None = None) -> dict:
    """Create the draft of a typical case (automatic redaction) or edit it; an edit withdraws an approval."""
    require_role(principal, *EDITORS)
    request = parse_model(DraftBody, body)
    case = _load(settings, tracking_no)
    store = PublicationStore(settings)
    current = store.get(tracking_no)
    existing = Publication.model_validate(current) if current else None
    kind, title, outcome = _source(case)
    if existing is not None and not editable(existing.state):
        raise _conflict("published", "已公开的案例请先撤回再修改")
    names = case_names(settings, case) + request.names
    now = now or datetime.now(UTC)
    # Staff's own text is redacted too: nothing reaches the public without passing the patterns.
    publication = Publication(
        tracking_no=tracking_no,
        kind=kind,
        state="draft",
        title=redact(request.title or (existing.title if existing else title), names),
        summary=redact(request.summary or (existing.summary if existing else case.description), names),
        outcome=redact(request.outcome or (existing.outcome if existing else outcome), names),
        category=case.category,
        department=case.department,
        edited_by=principal.subject,
        edited_at=now,
    )
    action = "publication_draft" if existing is None else "publication_edit"
    return _save(settings, principal, case, request, publication, action, now)


def step(
    settings: Settings, principal: Principal, tracking_no: str, name: str, body: bytes, now: datetime | None = None
) -> dict:
    """`approve`, `publish` or `unpublish` the publication of a case."""
    if name not in STEPS:
        raise ApiError(404, "not_found", "没有这个操作")
    return _step(settings, principal, tracking_no, body, name, now)


# step -> (state it starts from, state it leads to, message when the state is wrong)
STEPS: dict[str, tuple[State, State, str]] = {
    "approve": ("draft", "approved", "只有草稿可以审核通过"),
    "publish": ("approved", "published", "只有审核通过的案例可以公开"),
    "unpublish": ("published", "unpublished", "只有已公开的案例可以撤回"),
}


def _step(
    settings: Settings, principal: Principal, tracking_no: str, body: bytes, step: str, now: datetime | None
) -> dict:
    require_role(principal, *EDITORS)
    request = parse_model(VersionBody, body)
    case = _load(settings, tracking_no)
    current = PublicationStore(settings).get(tracking_no)
    if current is None:
        raise ApiError(404, "not_found", "该案件还没有公开稿")
    publication = Publication.model_validate(current)
    start, end, message = STEPS[step]
    _check_version(request, case)  # a stale view wins over the state, as in shared/routing/workflow.py
    if publication.state != start:
        raise _conflict(publication.state, message)
    now = now or datetime.now(UTC)
    # Who did it is recorded (`approved_by`, ...); unpublishing keeps the approval, a new edit drops it.
    update: dict[str, Any] = {"state": end, f"{_past(step)}_by": principal.subject, f"{_past(step)}_at": now}
    if step == "approve":
        update.update(published_by=None, published_at=None, unpublished_by=None, unpublished_at=None)
    return _save(settings, principal, case, request, publication.model_copy(update=update), f"publication_{step}", now)


def editable(state: str) -> bool:
    """Whether a publication in `state` may be edited (a published one is withdrawn first)."""
    return state != "published"


def steps_from(state: str) -> list[str]:
    """The steps a publication in `state` can take now."""
    return [name for name, (start, _, _) in STEPS.items() if start == state]


def _past(step: str) -> str:
    return {"approve": "approved", "publish": "published", "unpublish": "unpublished"}[step]


def _check_version(request: VersionBody, case: Case) -> None:
    if request.version != case.version:
        raise ApiError(409, "version_conflict", "案件已被他人更新，请刷新后重试")


def _save(
    settings: Settings,
    principal: Principal,
    case: Case,
    request: VersionBody,
    publication: Publication,
    action: str,
    now: datetime,
) -> dict:
    _check_version(request, case)
    change = change_case(
        case,
        principal.subject,
        action,
        now,
        note=request.note,
        details={**principal.audit_details(), "publication_state": publication.state},
    )
    record = publication.model_dump(mode="json")
    # The public item's sort key is the stored `published_at`, which withdrawing keeps: it finds the item again.
    listed = (
        {**public_view(publication), "published_at": record["published_at"]}
        if publication.state == "published"
        else None
    )
    unlisted = f"{record['published_at']}#{case.tracking_no}" if publication.state == "unpublished" else None
    try:
        PublicationStore(settings).save(change, record, listed, unlisted, public_list(publication))
    except ConditionFailed:
        raise ApiError(409, "version_conflict", "案件已被他人更新，请刷新后重试") from None
    logger.info("publication step", extra={"tracking_no": case.tracking_no, "action": action})
    return {"publication": record, "version": change.after.version}


def get_publication(settings: Settings, principal: Principal, tracking_no: str) -> dict:
    """Staff see the whole publication record; the media role only the public view of a published case."""
    require_role(principal, *READERS, Role.media)
    found = PublicationStore(settings).get(tracking_no) if tracking_no.isascii() and len(tracking_no) <= 40 else None
    if found is None:
        raise ApiError(404, "not_found", "该案件还没有公开稿")
    publication = Publication.model_validate(found)
    if principal.role == Role.media:
        if publication.state != "published":
            raise ApiError(404, "not_found", "该案件还没有公开稿")
        return {"publication": public_view(publication)}
    return {"publication": publication.model_dump(mode="json")}


# --- media follow-up notes ------------------------------------------------------------------------------------


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    text: Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(text.check_text)]
    source: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(text.check_name)] | None = None


def _flagged(settings: Settings, principal: Principal, tracking_no: str) -> Case:
    """The case, if it is flagged for media follow-up; the media role learns nothing of other cases."""
    case = CaseStore(settings).get(tracking_no) if tracking_no.isascii() and len(tracking_no) <= 40 else None
    if case is None or (not case.media_followup and principal.role == Role.media):
        raise case_not_found()
    if not case.media_followup:
        raise _conflict("not_flagged", "该案件未标记媒体跟进")
    return case


def add_note(
    settings: Settings, principal: Principal, tracking_no: str, body: bytes, now: datetime | None = None
) -> dict:
    require_role(principal, *NOTE_WRITERS)
    request = parse_model(NoteBody, body)
    _flagged(settings, principal, tracking_no)
    note = {
        "at": (now or datetime.now(UTC)).isoformat(),
        "author": principal.subject,
        "author_name": principal.name,
        "author_role": principal.role.value,
        **request.model_dump(exclude_none=True),
    }
    note_id = secrets.token_hex(8)
    PublicationStore(settings).add_note(tracking_no, note_id, note)
    logger.info("media note added", extra={"tracking_no": tracking_no})
    return {"note": {**note, "id": note_id}}


def notes(settings: Settings, principal: Principal, tracking_no: str) -> dict:
    """All notes for the county legal office and the auditor; the media role's own notes only."""
    require_role(principal, *NOTE_READERS)
    _flagged(settings, principal, tracking_no)
    found = PublicationStore(settings).notes(tracking_no)
    if principal.role == Role.media:
        found = [note for note in found if note.get("author") == principal.subject]
    return {"items": found}
