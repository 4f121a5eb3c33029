"""Domain models: what a complaint is, as stored and as shown.

Personal data of the complainant lives in its own model and its own item (see shared/dal.py), so that
reading or listing cases never touches it.
"""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared import identity


class Channel(StrEnum):
    web = "web"
    sms = "sms"
    email = "email"
    hotline = "hotline"
    letter = "letter"
    visit = "visit"
    survey = "survey"
    inspection = "inspection"
    media = "media"


class Status(StrEnum):
    received = "received"
    routed = "routed"


STATUS_NAMES: dict[Status, str] = {
    Status.received: "已登记，正在分办",
    Status.routed: "已转交承办部门，等待受理",
}


class Complainant(BaseModel):
    """Who complained. Every field is optional: an anonymous complaint has none."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=30)
    email: str | None = Field(default=None, max_length=254)
    id_number: str | None = Field(default=None, max_length=18)
    organization: str | None = Field(default=None, max_length=200)
    credit_code: str | None = Field(default=None, max_length=18)

    def contact_key(self) -> str | None:
        """The phone or email that identifies this complainant across complaints, normalised."""
        if self.phone:
            return "phone:" + identity.normalise_phone(self.phone)
        if self.email:
            return "email:" + self.email.lower()
        return None


class Case(BaseModel):
    """One complaint from intake to close; the tracking number is its id."""

    tracking_no: str
    channel: Channel
    received_at: datetime
    description: str
    respondent: str | None = None
    incident_at: str | None = None
    location: str | None = None
    anonymous: bool = False
    has_complainant: bool = False
    raw_key: str
    attachments: list[str] = Field(default_factory=list)
    # sha256 of tracking number and verification code: the code itself is never stored.
    verification_hash: str
    status: Status = Status.received
    category: str | None = None
    category_confidence: float | None = None
    category_set_by: str | None = None
    domain: str | None = None
    department: str | None = None
    department_confidence: float | None = None
    triage_reason: str | None = None
    assigned_unit: str | None = None
    routed_at: datetime | None = None
    acceptance_due_at: datetime | None = None
    deadline_provisional: bool = False
    reminders_sent: list[str] = Field(default_factory=list)
    enqueued_at: datetime | None = None
    version: int = 1


class AuditEvent(BaseModel):
    """One immutable line of a case's history."""

    tracking_no: str
    version: int
    at: datetime
    actor: str
    action: str
    from_status: str | None = None
    to_status: str | None = None
    note: str | None = None
    details: dict = Field(default_factory=dict)
