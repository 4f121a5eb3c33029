"""The quarantine list: inbound payloads that could not become complaints, with the reason.

Nothing a complainant sends is dropped: the raw payload is archived first, and when it cannot be parsed or
validated its reference lands here, so staff can read it and turn it into a complaint by hand.
"""

from datetime import datetime

from pydantic import BaseModel

from shared.dal import QuarantineStore
from shared.errors import ApiError, FieldError
from shared.models import Channel
from shared.settings import Settings


class QuarantineEntry(BaseModel):
    channel: Channel
    received_at: datetime
    raw_key: str
    code: str
    message: str
    fields: list[FieldError]


def add(settings: Settings, channel: Channel, raw_key: str, error: ApiError, now: datetime) -> None:
    entry = QuarantineEntry(
        channel=channel, received_at=now, raw_key=raw_key, code=error.code, message=error.message, fields=error.fields
    )
    QuarantineStore(settings).add(now, raw_key.rsplit("/", 1)[-1], entry.model_dump(mode="json"))


def month(settings: Settings, month: str) -> list[QuarantineEntry]:
    """Entries of one month (`yyyy-mm`), oldest first."""
    return [QuarantineEntry.model_validate(item) for item in QuarantineStore(settings).month(month)]
