"""Opinion forms for enterprises (征求意见表): the questionnaire (shared/data/survey_questionnaire.json), a
survey's links, an answer as stored, and what the answers of a survey add up to.

The county legal office creates a survey and prints its one-time links (shared/reporting/surveys.py); enterprises
answer anonymously on the public form (shared/intake/surveys.py); staff file a free-text answer that describes a
concrete problem as a complaint of channel `survey` (shared/routing/survey_complaints.py). Storage:
shared/core/dal/surveys.py.
"""

from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.core import reference_data


class Aspect(BaseModel):
    code: str
    name: str
    question: str


class Level(BaseModel):
    code: str
    label: str
    satisfied: bool


class Questionnaire(BaseModel):
    title: str
    intro: str
    aspects: list[Aspect]
    levels: list[Level]
    text_label: str
    text_max_chars: int
    max_links: int

    def aspect_codes(self) -> list[str]:
        return [aspect.code for aspect in self.aspects]

    def level_codes(self) -> list[str]:
        return [level.code for level in self.levels]


@cache
def questionnaire() -> Questionnaire:
    return Questionnaire.model_validate(reference_data.load_json("survey_questionnaire.json"))


def default_departments() -> list[str]:
    """Whom a survey asks about unless told: every department and town, not the county legal office itself."""
    return [department.code for department in reference_data.departments() if department.kind != "supervisor"]


class Answer(BaseModel):
    """One form as stored: department code -> aspect code -> level code (blank aspects left out), and the text."""

    model_config = ConfigDict(extra="forbid")

    ratings: dict[str, dict[str, str]] = Field(default_factory=dict)
    text: str = ""


def link_path(survey_id: str, token: str) -> str:
    """A link's path under the intake API."""
    return f"/surveys/{survey_id}?t={token}"


class Tally(BaseModel):
    """What the answers of surveys add up to: links issued and answered, answers filed as complaints, and per
    department and aspect how many gave each level."""

    issued: int = 0
    answered: int = 0
    complaints: int = 0
    ratings: dict[str, dict[str, dict[str, int]]] = Field(default_factory=dict)

    def add(self, links: list[dict[str, Any]]) -> None:
        self.issued += len(links)
        for link in links:
            answer = link.get("answer")
            if answer is None:
                continue
            self.answered += 1
            self.complaints += 1 if link.get("tracking_no") else 0
            for department, aspects in Answer.model_validate(answer).ratings.items():
                for aspect, level in aspects.items():
                    counts = self.ratings.setdefault(department, {}).setdefault(aspect, {})
                    counts[level] = counts.get(level, 0) + 1
