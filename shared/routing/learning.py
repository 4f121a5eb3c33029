"""Learning from staff corrections: the labelled examples they leave, retraining the classifier's statistical
part, and which model version routing uses.

In the raw bucket, under `classifier/`:
- `corrections/<tracking_no>/v<version>.json`: one labelled example per correction of a case's category
  (`correct_category`) or department (`reassign` to another department, `arbitrate` after a transfer);
- `models/<version>.json`: every model that has been trained and adopted or rolled back to;
- `evaluations/<time>-<version>.json`: each retraining's candidate and current accuracy and the decision;
- `current.json`: the pointer to the model in use. Without it, routing uses the model trained on the reference
  set that ships with the code (`shared/data/labelled/tuning.jsonl`).

A retraining trains on the reference set's tuning part plus the corrections not held back, and compares the
candidate with the current model on examples neither trained on: the reference set's held-out part and the
held-back corrections (chosen by the case's tracking number, so that no model ever trains on them). The candidate
is adopted only if it is not worse on category and on department. Knobs: `shared/data/learning.json`.
"""

import hashlib
import time
from datetime import datetime
from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from shared.core import objects, reference_data
from shared.core.auth import Principal, Role
from shared.core.classifier import Accuracy, builtin_model, evaluate, reference_examples, train_model
from shared.core.errors import ApiError
from shared.core.models import Case
from shared.core.ngram_model import Example, NgramModel, dumps, loads
from shared.core.observability import logger
from shared.core.roles import require_role
from shared.core.settings import Settings

PREFIX = "classifier/"
CORRECTIONS = PREFIX + "corrections/"
MODELS = PREFIX + "models/"
EVALUATIONS = PREFIX + "evaluations/"
POINTER = PREFIX + "current.json"
RETRAINER = "system:learning"
# The actions whose change of category or department is a correction of the classifier.
CORRECTING_ACTIONS = ("correct_category", "reassign", "arbitrate")


class _Knobs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    held_back_one_in: int = Field(ge=2)


@cache
def _knobs() -> _Knobs:
    return _Knobs.model_validate(reference_data.load_json("learning.json"))


class Correction(Example):
    tracking_no: str
    action: str
    corrected_at: datetime


class Pointer(BaseModel):
    version: str
    set_at: datetime
    set_by: str


class Evaluation(BaseModel):
    at: datetime
    by: str
    current_version: str
    candidate_version: str
    current: Accuracy
    candidate: Accuracy
    adopted: bool
    trained_on: int
    evaluated_on: int


# ---- corrections ----


def correction(action: str, before: Case, after: Case, now: datetime) -> Correction | None:
    """The labelled example a staff action leaves, if it corrected the category or the department."""
    if action not in CORRECTING_ACTIONS or after.category is None:
        return None
    moved = after.department != before.department and after.department != reference_data.supervisor().code
    if action != "correct_category" and not moved:
        return None
    return Correction(
        text=after.description,
        respondent=after.respondent,
        category=after.category,
        # A category correction says nothing of the department, which may still be wrong.
        department=after.department if moved else None,
        tracking_no=after.tracking_no,
        action=action,
        corrected_at=now,
    )


def keep_correction(settings: Settings, example: Correction, version: int) -> None:
    key = f"{CORRECTIONS}{example.tracking_no}/v{version}.json"
    objects.put(settings.raw_bucket, key, example.model_dump_json().encode(), "application/json")
    logger.info("classifier correction kept", extra={"tracking_no": example.tracking_no, "action": example.action})


def corrections(settings: Settings) -> list[Correction]:
    """Every kept correction; of several on one case only the last counts (staff corrected themselves)."""
    latest: dict[str, tuple[int, Correction]] = {}
    for stored in objects.list_under(settings.raw_bucket, CORRECTIONS):
        tracking_no, name = stored.key.removeprefix(CORRECTIONS).split("/")
        version = int(name.removeprefix("v").removesuffix(".json"))
        if tracking_no not in latest or latest[tracking_no][0] < version:
            latest[tracking_no] = (
                version,
                Correction.model_validate_json(objects.get(settings.raw_bucket, stored.key)),
            )
    merged = [found for _, found in latest.values()]
    return sorted(merged, key=lambda found: found.tracking_no)


def held_back(tracking_no: str) -> bool:
    """Whether a case's corrections are kept out of training, to measure models on."""
    return int(hashlib.sha256(tracking_no.encode()).hexdigest(), 16) % _knobs().held_back_one_in == 0


# ---- models ----


def _stored_model(settings: Settings, version: str) -> NgramModel | None:
    """A model by version: the built-in one, or one stored in S3 (None if there is no such version)."""
    builtin = builtin_model()
    if version == builtin.version:
        return builtin
    return _cached_model(settings.raw_bucket, version)


@cache
def _cached_model(bucket: str, version: str) -> NgramModel | None:
    """A stored model never changes under its version, so one read per process."""
    body = objects.get_if_exists(bucket, f"{MODELS}{version}.json")
    return None if body is None else loads(body)


def _pointer(settings: Settings) -> Pointer | None:
    body = objects.get_if_exists(settings.raw_bucket, POINTER)
    return None if body is None else Pointer.model_validate_json(body)


_current: dict[str, tuple[float, NgramModel]] = {}


def reset() -> None:
    """Forget the model read last (tests: every test has a fresh bucket of the same name)."""
    _current.clear()


def current_model(settings: Settings) -> NgramModel:
    """The model in use, reading the pointer again at most every `classifier_pointer_seconds`."""
    checked = _current.get(settings.raw_bucket)
    if checked is not None and time.monotonic() - checked[0] < settings.classifier_pointer_seconds:
        return checked[1]
    pointer = _pointer(settings)
    model = (_stored_model(settings, pointer.version) if pointer else None) or builtin_model()
    _current[settings.raw_bucket] = (time.monotonic(), model)
    return model


def _store_model(settings: Settings, model: NgramModel) -> None:
    objects.put(settings.raw_bucket, f"{MODELS}{model.version}.json", dumps(model), "application/json")


def _point_to(settings: Settings, model: NgramModel, by: str, now: datetime) -> Pointer:
    _store_model(settings, model)
    pointer = Pointer(version=model.version, set_at=now, set_by=by)
    objects.put(settings.raw_bucket, POINTER, pointer.model_dump_json().encode(), "application/json")
    _current.pop(settings.raw_bucket, None)
    logger.info("classifier model in use", extra={"version": model.version, "by": by})
    return pointer


def use(settings: Settings, version: str, by: str, now: datetime) -> Pointer:
    """Put a stored model version in use again (a rollback), or the built-in one."""
    model = _stored_model(settings, version)
    if model is None:
        raise ApiError(404, "model_not_found", "没有这个版本的分类模型")
    return _point_to(settings, model, by, now)


def versions(settings: Settings) -> list[str]:
    stored = objects.list_under(settings.raw_bucket, MODELS)
    return [item.key.removeprefix(MODELS).removesuffix(".json") for item in stored]


# ---- retraining ----


def retrain(settings: Settings, by: str, now: datetime) -> Evaluation:
    """Train a candidate on the reference set and the corrections, and adopt it only if it is not worse than the
    current model on labelled examples neither was trained on. Both figures are recorded."""
    kept = corrections(settings)
    trained = [example for example in kept if not held_back(example.tracking_no)]
    measured: list[Example] = [*reference_examples("heldout"), *(e for e in kept if held_back(e.tracking_no))]
    candidate = train_model(reference_examples("tuning"), trained)
    current = current_model(settings)
    current_accuracy, candidate_accuracy = evaluate(measured, current), evaluate(measured, candidate)
    adopted = candidate.version != current.version and _not_worse(candidate_accuracy, current_accuracy)
    evaluation = Evaluation(
        at=now,
        by=by,
        current_version=current.version,
        candidate_version=candidate.version,
        current=current_accuracy,
        candidate=candidate_accuracy,
        adopted=adopted,
        trained_on=len(trained),
        evaluated_on=len(measured),
    )
    key = f"{EVALUATIONS}{now.strftime('%Y%m%dT%H%M%S')}-{candidate.version}.json"
    objects.put(settings.raw_bucket, key, evaluation.model_dump_json().encode(), "application/json")
    if adopted:
        _point_to(settings, candidate, by, now)
    return evaluation


def _not_worse(candidate: Accuracy, current: Accuracy) -> bool:
    departments = (candidate.department or 0) >= (current.department or 0)
    return candidate.category >= current.category and departments


# ---- staff routes ----


def retrain_now(settings: Settings, principal: Principal, now: datetime) -> dict:
    require_role(principal, Role.county_admin)
    return {"evaluation": retrain(settings, principal.subject, now).model_dump(mode="json")}


def status(settings: Settings, principal: Principal) -> dict:
    """The model in use, the stored versions and the latest evaluations (newest first)."""
    require_role(principal, Role.county_admin, Role.auditor)
    pointer = _pointer(settings)
    stored = sorted(objects.list_under(settings.raw_bucket, EVALUATIONS), key=lambda item: item.key, reverse=True)
    recent = [Evaluation.model_validate_json(objects.get(settings.raw_bucket, item.key)) for item in stored[:10]]
    return {
        "current": pointer.model_dump(mode="json") if pointer else {"version": builtin_model().version},
        "versions": versions(settings),
        "evaluations": [evaluation.model_dump(mode="json") for evaluation in recent],
    }
