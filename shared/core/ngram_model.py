"""The statistical part of the classifier: multinomial naive Bayes over character n-grams, in pure Python.

A model is its counts (what training saw), so it serialises to JSON as it is, and retraining is counting again.
Each n-gram counts once per complaint (presence, not frequency): short texts repeat words for emphasis, not
meaning. Categories have equal prior odds: the training mix (reference set plus corrections, which pile up where
the rules err) says nothing of how often each kind is complained about. Scores are tempered (`temperature`)
before the softmax, since naive Bayes over overlapping n-grams counts the same evidence several times and would
otherwise be certain of everything.

Staff corrections train classes of their own (`<category>+corrections`), and a category's probability is that of
its likelier class: what staff taught adds a new way a category is written, without blurring what the reference
set says of it (a stream of corrections of one kind would otherwise shift common n-grams to that category).
"""

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field


class Example(BaseModel):
    """A labelled complaint: the reference set's lines and staff corrections alike."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    text: str = Field(min_length=1)
    respondent: str | None = None
    category: str
    department: str | None = None


class ModelData(BaseModel):
    """The serialised model (S3 `classifier/models/<version>.json`)."""

    model_config = ConfigDict(frozen=True)

    version: str
    n_min: int = Field(ge=1)
    n_max: int = Field(ge=1)
    alpha: float = Field(gt=0)
    temperature: float = Field(gt=0)
    documents: dict[str, int]  # category -> examples
    counts: dict[str, dict[str, int]]  # category -> n-gram -> examples that contain it


CORRECTIONS = "+corrections"


def ngrams(text: str, n_min: int, n_max: int) -> set[str]:
    return {text[i : i + n] for n in range(n_min, n_max + 1) for i in range(len(text) - n + 1)}


@dataclass(frozen=True)
class NgramModel:
    data: ModelData

    @property
    def version(self) -> str:
        return self.data.version

    @cached_property
    def _log_probs(self) -> dict[str, tuple[float, dict[str, float]]]:
        """Per category: log probability of an unseen n-gram, and of each seen one."""
        alpha = self.data.alpha
        vocabulary = len({gram for grams in self.data.counts.values() for gram in grams})
        result = {}
        for category in self.data.documents:
            grams = self.data.counts.get(category, {})
            denominator = math.log(sum(grams.values()) + alpha * (vocabulary + 1))
            seen = {gram: math.log(count + alpha) - denominator for gram, count in grams.items()}
            result[category] = (math.log(alpha) - denominator, seen)
        return result

    @cached_property
    def _vocabulary(self) -> frozenset[str]:
        return frozenset(gram for grams in self.data.counts.values() for gram in grams)

    def probabilities(self, text: str) -> dict[str, float]:
        """Each category's probability for a normalised text, highest first (a category's likelier class)."""
        grams = ngrams(text, self.data.n_min, self.data.n_max) & self._vocabulary
        scores = {}
        for category, (unseen, seen) in self._log_probs.items():
            scores[category] = sum(seen.get(gram, unseen) for gram in grams) / self.data.temperature
        top = max(scores.values())
        exps: dict[str, float] = {}
        for name, score in scores.items():
            category = name.removesuffix(CORRECTIONS)
            exps[category] = max(exps.get(category, 0.0), math.exp(score - top))
        total = sum(exps.values())
        return dict(sorted(((c, e / total) for c, e in exps.items()), key=lambda item: -item[1]))


def train(
    texts_and_labels: Iterable[tuple[str, str]], n_min: int, n_max: int, alpha: float, temperature: float
) -> NgramModel:
    """Count the n-grams of normalised texts per category; the version is a digest of what was counted."""
    documents: dict[str, int] = {}
    counts: dict[str, dict[str, int]] = {}
    digest = hashlib.sha256(f"{n_min}:{n_max}:{alpha}:{temperature}".encode())
    for text, category in sorted(texts_and_labels):
        digest.update(f"\n{category}\t{text}".encode())
        documents[category] = documents.get(category, 0) + 1
        grams = counts.setdefault(category, {})
        for gram in ngrams(text, n_min, n_max):
            grams[gram] = grams.get(gram, 0) + 1
    data = ModelData(
        version=digest.hexdigest()[:12],
        n_min=n_min,
        n_max=n_max,
        alpha=alpha,
        temperature=temperature,
        documents=documents,
        counts=counts,
    )
    return NgramModel(data)


def dumps(model: NgramModel) -> bytes:
    return json.dumps(model.data.model_dump(), ensure_ascii=False, separators=(",", ":")).encode()


def loads(body: bytes) -> NgramModel:
    return NgramModel(ModelData.model_validate_json(body))
