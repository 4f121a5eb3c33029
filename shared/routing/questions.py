"""Telling a question (咨询) from a complaint (投诉) when the sender did not say: SMS, mail, and the JSON API or the
form without a choice. Cue words are data (shared/data/questions.json); a question asks, names a topic of law,
procedure, deadlines or where to go, and accuses no one. A question goes to the department it names, else to
the county legal office, and runs under the `answer` deadline of shared/data/deadline_policy.json.
"""

from functools import cache

from pydantic import BaseModel, ConfigDict

from shared.core import text
from shared.core.reference_data import load_json


class Cues(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    department: str
    asking: tuple[str, ...]
    topics: tuple[str, ...]
    accusations: tuple[str, ...]


@cache
def cues() -> Cues:
    found = Cues.model_validate(load_json("questions.json"))
    # Matched on normalised text: the lists are normalised the same way once.
    return found.model_copy(
        update={name: tuple(text.for_matching(word) for word in getattr(found, name)) for name in _LISTS}
    )


_LISTS = ("asking", "topics", "accusations")


def is_question(description: str) -> bool:
    """Whether a submission reads as a question about law, procedure, deadlines or where to go, not an accusation."""
    matched = text.for_matching(description)
    rules = cues()
    return (
        any(word in matched for word in rules.asking)
        and any(word in matched for word in rules.topics)
        and not any(word in matched for word in rules.accusations)
    )
