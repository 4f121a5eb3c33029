"""Domain models: what a complaint is, as stored and as shown.

Personal data of the complainant lives in its own model and its own item (see shared/core/dal/), so that
reading or listing cases never touches it.
"""

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.core import identity


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
    """Where a case is; the moves between them are the table in shared/data/workflow.json."""

    received = "received"
    routed = "routed"
    accepted = "accepted"
    not_accepted = "not_accepted"
    transferred = "transferred"
    merged = "merged"
    investigating = "investigating"
    decided = "decided"
    replied = "replied"
    rectifying = "rectifying"
    reviewing = "reviewing"
    closed = "closed"


STATUS_NAMES: dict[Status, str] = {
    Status.received: "已登记，正在分办",
    Status.routed: "已转交承办部门，等待受理",
    Status.accepted: "已受理",
    Status.not_accepted: "不予受理",
    Status.transferred: "非本部门职责，已退回县政府法制办重新分办",
    Status.merged: "与其他投诉合并办理",
    Status.investigating: "正在调查核实",
    Status.decided: "已作出处理决定，等待答复",
    Status.replied: "已答复",
    Status.rectifying: "已答复，正在督促整改",
    Status.reviewing: "正在复查",
    Status.closed: "已办结",
}


class CaseKind(StrEnum):
    """What was submitted: a complaint about enforcement (投诉) or a question about law, procedure, deadlines or
    where to go (咨询), which is answered instead of investigated (shared/routing/questions.py)."""

    complaint = "complaint"
    question = "question"


KIND_NAMES: dict[CaseKind, str] = {CaseKind.complaint: "投诉", CaseKind.question: "咨询"}

# How the status page names the states a question goes through; the rest as STATUS_NAMES.
QUESTION_STATUS_NAMES: dict[Status, str] = {
    Status.received: "已登记，正在分办",
    Status.routed: "已转交答复部门，等待答复",
    Status.closed: "已答复",
}


class DueKind(StrEnum):
    """Which legal deadline of shared/data/deadline_policy.json is running (the rule of the same name)."""

    acceptance = "acceptance"
    reply = "reply"
    review_reply = "review_reply"
    answer = "answer"


class Extension(BaseModel):
    """The one extension of the reply deadline a department may ask for; the county legal office decides."""

    status: Literal["requested", "approved", "refused"]
    days: int
    reason: str
    requested_at: datetime
    requested_by: str
    decided_at: datetime | None = None
    decided_by: str | None = None
    refusal_reason: str | None = None


class Rating(StrEnum):
    """A complainant's answer to the call-back (回访) after the reply (shared/core/callbacks.py)."""

    satisfied = "satisfied"
    basically_satisfied = "basically_satisfied"
    dissatisfied = "dissatisfied"


class Callback(BaseModel):
    """The call-back of a replied case: asked once, answered (and re-answered) until `due_at`."""

    asked_at: datetime
    due_at: datetime  # answers are taken until then
    rating: Rating | None = None
    answered_at: datetime | None = None
    # How the answer came: sms, web (the link), api, phone (staff recorded a telephone call-back).
    via: Literal["sms", "web", "api", "phone"] | None = None
    comment: str | None = None


class Complainant(BaseModel):
    """Who complained. Every field is optional: an anonymous complaint has none."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=30)
    email: str | None = Field(default=None, max_length=254)
    id_number: str | None = Field(default=None, max_length=18)
    organization: str | None = Field(default=None, max_length=200)
    credit_code: str | None = Field(default=None, max_length=18)
    # How they want to be told as the case moves on; None: by every contact given (shared/routing/notifications.py).
    notify_by: list[Literal["sms", "email"]] | None = None
    # The complainant agrees that the department handling the case may see who they are
    # (shared/routing/confidentiality.py).
    consent_to_share: bool = False

    def contact_key(self) -> str | None:
        """The phone or email that identifies this complainant across complaints, normalised."""
        if self.phone:
            return "phone:" + identity.normalise_phone(self.phone)
        if self.email:
            return "email:" + self.email.lower()
        return None


# The shape of a tracking number (shared/core/filing.py new_tracking_no: the prefix, then the date and six digits).
TRACKING_NO_PATTERN = r"[A-Z]{1,8}[0-9]{6,20}"


class Case(BaseModel):
    """One complaint from intake to close; the tracking number is its id."""

    tracking_no: str
    channel: Channel
    received_at: datetime
    kind: CaseKind = CaseKind.complaint
    # Who said what kind it is: "complainant" (they chose), routing's recogniser, or the staff member who changed it;
    # None until routing has looked at a submission whose sender did not say.
    kind_set_by: str | None = None
    # The staff member who recorded a complaint that came by hotline, letter, visit, ...
    # (shared/routing/operator_entry.py).
    entered_by: str | None = None
    # Mail whose sender the receiving side could not authenticate (shared/intake/mail_inbound.py): filed all the
    # same, never answered automatically, and shown to staff as unverified.
    sender_unverified: bool = False
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
    # What routing's classifier made of it: the model version that decided and the two likeliest categories.
    classifier_model: str | None = None
    category_candidates: list[tuple[str, float]] = Field(default_factory=list)
    domain: str | None = None
    department: str | None = None
    department_confidence: float | None = None
    triage_reason: str | None = None
    assigned_unit: str | None = None
    routed_at: datetime | None = None
    # The deadline running now (indexed for reminders) and which rule it is; None once nothing is due.
    due_at: datetime | None = None
    due_kind: DueKind | None = None
    deadline_provisional: bool = False
    # How the running deadline was counted (shared/routing/deadlines.py): the policy rule, its start and the days
    # granted when fewer than the rule's; a provisional deadline is counted again from these.
    due_rule: str | None = None
    due_from: datetime | None = None
    due_days: int | None = None
    # Every deadline set so far, kept as the record of the case.
    acceptance_due_at: datetime | None = None
    reply_due_at: datetime | None = None
    review_request_due_at: datetime | None = None
    review_reply_due_at: datetime | None = None
    answer_due_at: datetime | None = None
    handler: str | None = None
    accepted_at: datetime | None = None
    not_accepted_reason: str | None = None
    transferred_from: str | None = None
    merged_into: str | None = None
    merged_cases: list[str] = Field(default_factory=list)
    extension: Extension | None = None
    finding: Literal["substantiated", "partly", "unsubstantiated"] | None = None
    measures: list[Literal["correct", "revoke", "order_rectification", "hold_accountable"]] = Field(
        default_factory=list
    )
    # Persons held accountable, given with the measure hold_accountable (the statistics count 1 without it).
    accountable_persons: int | None = None
    decision_summary: str | None = None
    replied_at: datetime | None = None
    reply_text: str | None = None
    review_requested_at: datetime | None = None
    review_reason: str | None = None
    closed_at: datetime | None = None
    # The call-back after the first reply (回访), when the complainant can be reached.
    callback: Callback | None = None
    # Where the complaint came from when staff filed it from another record (a survey answer: `survey:<id>/<link>`).
    source_ref: str | None = None
    # A question's answer (workflow action `answer`), shown on the status page and, once published, to the public.
    answer: str | None = None
    answered_at: datetime | None = None
    media_followup: bool = False
    typical: Literal["positive", "negative"] | None = None
    # Reminder points of the running deadline already queued (shared/routing/reminders.py); emptied for a new deadline.
    reminders_sent: list[str] = Field(default_factory=list)
    # When the last overdue deadline was escalated (督办) to the department head and the county legal office.
    escalated_at: datetime | None = None
    # An overdue case's next day of reminders: its entry in the due index moves forward with each daily overdue
    # reminder, so the reminders run, which reads only recent month shards, finds it however long it is overdue.
    remind_from: datetime | None = None
    enqueued_at: datetime | None = None
    version: int = 1


class Contribution(BaseModel):
    """What one snapshot of a case (its version) adds to the statistics (computed by shared/reporting/stats.py, stored
    and
    applied as a difference by shared/core/dal/ StatsStore)."""

    model_config = ConfigDict(frozen=True)

    tracking_no: str
    version: int
    # (period key, department code, counter name) -> amount, e.g. ("week:2026-W21", "GAJ", "received") -> 1.
    counts: dict[tuple[str, str, str], int] = Field(default_factory=dict)
    # (county day yyyy-mm-dd, cluster key) the case is one of, e.g. ("2026-05-18", "deptcat:GAJ#penalty").
    clusters: frozenset[tuple[str, str]] = frozenset()


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


def status_name(case: Case) -> str:
    """How people are told where a case is: a question's states in its own words."""
    names = QUESTION_STATUS_NAMES if case.kind == CaseKind.question else STATUS_NAMES
    return names.get(case.status, STATUS_NAMES[case.status])
