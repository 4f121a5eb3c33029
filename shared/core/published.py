"""Typical cases for the public (issue 4 item 8): redact -> approve -> publish, the public list, media notes.

A case marked typical (workflow action `mark_typical`) gets a publication draft whose title, summary and outcome
are a first automatic redaction of the case (patterns in shared/data/redaction.json; the complainant's identity
is never copied). The county legal office edits, approves, publishes and withdraws it; each step bumps the case
version (a stale version gets 409) and appends an audit event to the case in the same transaction. Only the
redacted fields are ever copied to the public list (pk `PUBLISHED`), which the intake service serves.

Media follow-up notes: the county legal office and the `media` role add them to cases flagged for media
follow-up; the media role reads only its own notes and only published material.
"""

import hashlib
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from shared.core import reference_data
from shared.core.dal import PublicationStore
from shared.core.settings import Settings

FEED_SIZE = 100
State = Literal["draft", "approved", "published", "unpublished"]


KIND_NAMES = {"positive": "正面典型", "negative": "反面典型"}


class Publication(BaseModel):
    """A typical case prepared for the public: only redacted text, who did each step and when."""

    tracking_no: str
    kind: Literal["positive", "negative"]
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


def public_view(publication: Publication) -> dict[str, Any]:
    """What the public sees: redacted text, no tracking number (an opaque id instead), no staff identities."""
    department = next((d.name for d in reference_data.departments() if d.code == publication.department), None)
    category = next((c.name for c in reference_data.categories() if c.code == publication.category), None)
    return {
        "id": hashlib.sha256(publication.tracking_no.encode()).hexdigest()[:12],
        "kind": publication.kind,
        "kind_name": KIND_NAMES[publication.kind],
        "title": publication.title,
        "summary": publication.summary,
        "outcome": publication.outcome,
        "category": category,
        "department": department,
        "published_at": publication.published_at.isoformat() if publication.published_at else None,
    }


def published(settings: Settings) -> list[dict[str, Any]]:
    """The public list, newest first."""
    return PublicationStore(settings).published(FEED_SIZE)
