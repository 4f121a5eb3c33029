"""The campaign, read once from `shared/data/campaign.json`: the one model of it that every page and report uses.

What it publishes (title, organiser, hotlines, letter box, email, SMS number, promise), its id and phases (the
report periods), and the materials departments submit with their due dates.
"""

from datetime import date, datetime, time, timedelta
from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from shared.core import reference_data
from shared.core.settings import get_settings


class Hotline(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    number: str
    hours: str


class Phase(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    start: date
    end: date


class Material(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")
    name: str
    due: date  # the last day, county time
    content_types: dict[str, str] = Field(min_length=1)  # content type -> the extension it is stored with
    max_bytes: int = Field(gt=0)

    def due_end(self) -> datetime:
        """The end of the due day in county time: a submission before it is on time."""
        return datetime.combine(self.due + timedelta(days=1), time(0), tzinfo=reference_data.county_timezone())


class Campaign(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    # In storage keys and period keys (`campaign:<id>`).
    id: str = Field(pattern=r"^[0-9A-Za-z_-]{1,20}$")
    title: str
    organiser: str
    hotlines: tuple[Hotline, ...]
    letter_box: str
    email: str
    sms: str
    phases: tuple[Phase, ...] = Field(min_length=1)
    promise: str
    materials: tuple[Material, ...] = Field(min_length=1)
    material_reminder_days_before: int = Field(default=3, ge=0)


@cache
def load_campaign() -> Campaign:
    """The configured campaign, its dates moved by the `campaign_shift_days` setting (the local stack's demo)."""
    campaign = Campaign.model_validate(reference_data.load_json("campaign.json"))
    shift = timedelta(days=get_settings().campaign_shift_days)
    if not shift:
        return campaign
    phases = tuple(p.model_copy(update={"start": p.start + shift, "end": p.end + shift}) for p in campaign.phases)
    materials = tuple(m.model_copy(update={"due": m.due + shift}) for m in campaign.materials)
    return campaign.model_copy(update={"phases": phases, "materials": materials})


def shift_to_surround(today: date, days_into_last_phase: int) -> int:
    """The shift that puts today `days_into_last_phase` days into the configured campaign's last phase: the
    earlier phases and the materials' due dates behind, the campaign still running."""
    configured = Campaign.model_validate(reference_data.load_json("campaign.json"))
    return (today - configured.phases[-1].start).days - days_into_last_phase
