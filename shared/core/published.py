"""Published typical cases and answers to questions (咨询) as the public sees them: the redacted publication record,
its public view and the public lists (pk `PUBLISHED` and `ANSWERS`, newest first). The routing service's staff API
prepares and publishes them (shared/routing/publication.py); the intake service serves the public pages and feeds
(shared/intake/web.py).
"""

import hashlib
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from shared.core import reference_data
from shared.core.dal.publications import ANSWERS, TYPICAL, PublicationStore
from shared.core.settings import Settings

FEED_SIZE = 100
State = Literal["draft", "approved", "published", "unpublished"]
PublicationKind = Literal["positive", "negative", "answer"]


KIND_NAMES = {"positive": "正面典型", "negative": "反面典型", "answer": "咨询答复"}


class Publication(BaseModel):
    """A typical case (kind positive or negative), or a question with its answer (kind answer: summary is the
    question, outcome the answer), prepared for the public: only redacted text, who did each step and when."""

    tracking_no: str
    kind: PublicationKind
    state: State
    title: str
    summary: str
    outcome: str
    category: str | None = None
    department: str | None = None
    edited_by: str
    edited_at: datetime
    approved_by: str | None = None
    approved_at: datetime | None = None
    published_by: str | None = None
    published_at: datetime | None = None
    unpublished_by: str | None = None
    unpublished_at: datetime | None = None


def public_list(publication: Publication) -> str:
    """Which public list the publication goes on."""
    return ANSWERS if publication.kind == "answer" else TYPICAL


def public_view(publication: Publication) -> dict[str, Any]:
    """What the public sees: redacted text, no tracking number (an opaque id instead), no staff identities."""
    department = next((d.name for d in reference_data.departments() if d.code == publication.department), None)
    public_id = hashlib.sha256(publication.tracking_no.encode()).hexdigest()[:12]
    published_at = publication.published_at.isoformat() if publication.published_at else None
    if publication.kind == "answer":
        return {
            "id": public_id,
            "title": publication.title,
            "question": publication.summary,
            "answer": publication.outcome,
            "department": department,
            "published_at": published_at,
        }
    category = next((c.name for c in reference_data.categories() if c.code == publication.category), None)
    return {
        "id": public_id,
        "kind": publication.kind,
        "kind_name": KIND_NAMES[publication.kind],
        "title": publication.title,
        "summary": publication.summary,
        "outcome": publication.outcome,
        "category": category,
        "department": department,
        "published_at": published_at,
    }


def published(settings: Settings) -> list[dict[str, Any]]:
    """The public list of typical cases, newest first."""
    return PublicationStore(settings).published(FEED_SIZE)


def published_answers(settings: Settings) -> list[dict[str, Any]]:
    """The public list of answered questions, newest first."""
    return PublicationStore(settings).published(FEED_SIZE, public_list=ANSWERS)
