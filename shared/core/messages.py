"""The envelope of every queue message (DESIGN.md, section 5)."""

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class MessageType(StrEnum):
    complaint_received = "complaint.received"
    case_transitioned = "case.transitioned"
    notification_requested = "notification.requested"


class Envelope(BaseModel):
    type: MessageType
    # Unique per logical message: consumers use it as the idempotency key.
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    version: int = 1
    correlation_id: str | None = None
    data: dict[str, Any]
