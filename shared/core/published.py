"""Published typical cases as the public sees them: the redacted publication record, its public view and the
public list (pk `PUBLISHED`, newest first). The routing service's staff API prepares and publishes them
(shared/routing/publication.py); the intake service serves the public page and feed (shared/intake/web.py).
"""

import hashlib
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from shared.core import reference_data
from shared.core.dal.publications import PublicationStore
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
