"""Classification of a complaint: its category, domain and the department that should handle it.

Every word list, weight and confidence value lives in `shared/data/classifier.json`; bodies and their
aliases come from `shared/data/departments.json`. The text is normalised (NFKC, case-folded, no spaces)
and scanned once for all words of all lists (an index on each word's first characters);
the rules below then decide the department and give their vote on the category. The category is the rules'
vote blended with a naive Bayes model over character n-grams (`shared/core/ngram_model.py`), trained on the
labelled reference set (`shared/data/labelled/tuning.jsonl`) or a retrained version (`shared/routing/learning.py`);
body names are masked before the model sees the text, so it learns what a complaint is about, not who it names.
See DESIGN.md, section 3, and the routing rules in departments.json.
"""

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat

from shared.core import ngram_model, reference_data
from shared.core.ngram_model import Example, NgramModel
from shared.core.reference_data import Department
from shared.core.text import for_matching as normalize

TriageReason = Literal["no_body_found", "buck_passing", "legal_office_handling"]


class Classification(BaseModel):
    model_config = ConfigDict(frozen=True)

    category: str
    category_name: str
    category_confidence: float
    # The two likeliest categories with their blended confidence, for staff when the first is uncertain.
    category_candidates: list[tuple[str, float]]
    model_version: str
    department: str
    department_name: str
    department_confidence: float
    confidence: float  # the lower of the two
    domain: Literal["enterprise", "livelihood", "general"]
    triage_reason: TriageReason | None
    matched_keywords: list[str]
    matched_aliases: list[str]


# ---- configuration (classifier.json) ----


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class _BuckPassing(_Strict):
    cues: list[str]
    category: str


class _LegalOffice(_Strict):
    cues: list[str]


class _Towns(_Strict):
    alias_markers: list[str]
    joiners: list[str]
    followers: list[str]


class _PlaceSuffixes(_Strict):
    joiners: list[str]
    suffixes: list[str]


class _Addressees(_Strict):
    kinds: list[str]


class _CategoryConfidence(_Strict):
    strong_score: float = Field(gt=0)
    weak_floor: float = Field(ge=0, le=1)
    other: float = Field(ge=0, le=1)
    buck_passing: float = Field(ge=0, le=1)


class _DepartmentConfidence(_Strict):
    respondent: float = Field(ge=0, le=1)
    single_body: float = Field(ge=0, le=1)
    several_bodies: float = Field(ge=0, le=1)
    buck_passing: float = Field(ge=0, le=1)
    legal_office: float = Field(ge=0, le=1)
    no_body: float = Field(ge=0, le=1)


class _Model(_Strict):
    n_min: int = Field(ge=1)
    n_max: int = Field(ge=1)
    alpha: float = Field(gt=0)
    temperature: float = Field(gt=0)
    rule_weight: float = Field(ge=0, le=1)
    mask: str = Field(min_length=1, max_length=1)


class _Config(_Strict):
    gap_max_chars: int = Field(ge=0)
    specific_categories: list[str]
    thematic_categories: list[str]
    thematic_min_score: float = Field(ge=0)
    fallback_category: str
    category_keywords: dict[str, dict[str, PositiveFloat]]
    domain_keywords: dict[Literal["enterprise", "livelihood"], list[str]]
    domain_tie: Literal["enterprise", "livelihood"]
    buck_passing: _BuckPassing
    legal_office: _LegalOffice
    towns: _Towns
    place_suffixes: _PlaceSuffixes
    addressees: _Addressees
    category_confidence: _CategoryConfidence
    department_confidence: _DepartmentConfidence
    model: _Model


# ---- matching ----

# Word lists ("tables") scanned together in one pass.
_CATEGORY = "category"
_DOMAIN = "domain"
_ALIAS = "alias"
_BUCK = "buck"
_LEGAL = "legal"

_GAP = "..."  # '…' in the JSON becomes '...' under NFKC
_CLAUSE_BREAKS = ",.;:!?。、"


@dataclass(frozen=True, slots=True)
class _Term:
    table: str
    word: str  # as listed, normalised
    value: str  # category, domain or department code; "" when the table has no values
    weight: float


@dataclass(frozen=True, slots=True)
class _Hit:
    term: _Term
    start: int
    end: int


class _Matcher:
    """Finds every listed word in a text: literal words through an index on their first one or two
    characters (short candidate lists at each position), gap words by regex."""

    def __init__(self, terms: list[_Term], gap_max_chars: int) -> None:
        literal: dict[str, list[_Term]] = {}
        self._gapped: list[tuple[str, re.Pattern[str], _Term]] = []
        gap = f"[^{re.escape(_CLAUSE_BREAKS)}]{{0,{gap_max_chars}}}?"
        for term in terms:
            if _GAP in term.word:
                parts = term.word.split(_GAP)
                self._gapped.append((parts[0], re.compile(gap.join(re.escape(p) for p in parts)), term))
            else:
                literal.setdefault(term.word, []).append(term)
        self._single = {word: tuple(t) for word, t in literal.items() if len(word) == 1}
        longer: dict[str, list[tuple[str, tuple[_Term, ...]]]] = {}
        for word, word_terms in literal.items():
            if len(word) > 1:
                longer.setdefault(word[:2], []).append((word, tuple(word_terms)))
        self._by_prefix = {prefix: tuple(words) for prefix, words in longer.items()}

    def scan(self, text: str) -> dict[str, list[_Hit]]:
        """Hits per table, in text order; within a table a literal hit inside a longer one is dropped."""
        literal: dict[str, list[_Hit]] = {}
        for i in range(len(text)):
            for term in self._single.get(text[i], ()):
                literal.setdefault(term.table, []).append(_Hit(term, i, i + 1))
            for word, terms in self._by_prefix.get(text[i : i + 2], ()):
                if text.startswith(word, i):
                    for term in terms:
                        literal.setdefault(term.table, []).append(_Hit(term, i, i + len(word)))
        tables = {table: _outermost(hits) for table, hits in literal.items()}
        for first_part, pattern, term in self._gapped:
            if first_part in text:  # a cheap test saves most regex runs
                for m in pattern.finditer(text):
                    tables.setdefault(term.table, []).append(_Hit(term, m.start(), m.end()))
        return tables


def _outermost(hits: list[_Hit]) -> list[_Hit]:
    """Drop hits that lie inside a longer hit ('交警' inside '交警大队'); equal spans all stay."""
    kept: list[_Hit] = []
    max_end = -1
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        if hit.end > max_end or (kept and (kept[-1].start, kept[-1].end) == (hit.start, hit.end)):
            kept.append(hit)
            max_end = max(max_end, hit.end)
    return kept


@dataclass(frozen=True)
class _Rules:
    config: _Config
    matcher: _Matcher
    departments: dict[str, Department]
    town_cues: tuple[str, ...]
    place_cues: tuple[str, ...]
    supervisor: Department


@cache
def _rules() -> _Rules:
    config = _Config.model_validate(reference_data.load_json("classifier.json"))
    codes = {c.code for c in reference_data.categories()}
    listed = [*config.specific_categories, *config.thematic_categories, config.fallback_category]
    if sorted(listed) != sorted(codes) or not set(config.category_keywords) <= codes:
        raise ValueError("classifier.json: category lists must name each category of categories.json once")
    departments = {d.code: d for d in reference_data.departments()}
    terms: list[_Term] = []
    for code, keywords in config.category_keywords.items():
        terms += [_Term(_CATEGORY, normalize(w), code, weight) for w, weight in keywords.items()]
    for domain, words in config.domain_keywords.items():
        terms += [_Term(_DOMAIN, normalize(w), domain, 1) for w in words]
    alias_owner: dict[str, str] = {}
    for dept in departments.values():
        for alias in {normalize(a) for a in (dept.name, *dept.aliases)}:
            # One alias naming two bodies would make routing depend on file order.
            if alias_owner.setdefault(alias, dept.code) != dept.code:
                owners = f"{alias_owner[alias]} and {dept.code}"
                raise ValueError(f"departments.json: alias {alias} names both {owners}")
            terms.append(_Term(_ALIAS, alias, dept.code, 1))
    terms += [_Term(_BUCK, normalize(w), "", 1) for w in config.buck_passing.cues]
    terms += [_Term(_LEGAL, normalize(w), "", 1) for w in config.legal_office.cues]
    towns, places = config.towns, config.place_suffixes
    return _Rules(
        config=config,
        matcher=_Matcher(terms, config.gap_max_chars),
        departments=departments,
        town_cues=_followed_by(towns.joiners, towns.followers),
        place_cues=_followed_by(places.joiners, places.suffixes),
        supervisor=reference_data.supervisor(),
    )


def _followed_by(joiners: list[str], words: list[str]) -> tuple[str, ...]:
    """Every 'word' and 'joiner + word', normalised, for str.startswith."""
    return tuple(normalize(j + w) for j in ["", *joiners] for w in words)


# ---- rules ----


def classify(text: str, respondent: str | None = None, model: NgramModel | None = None) -> Classification:
    """Classify with the given model, by default the one trained on the reference set."""
    rules = _rules()
    config = rules.config
    model = model or builtin_model()
    body_text = normalize(text)
    body_respondent = normalize(respondent or "")
    text_hits = rules.matcher.scan(body_text)
    respondent_hits = rules.matcher.scan(body_respondent)

    text_bodies = _bodies(rules, text_hits, body_text, in_respondent=False)
    respondent_bodies = _bodies(rules, respondent_hits, body_respondent, in_respondent=True)
    ranked_respondent = _rank(rules, respondent_bodies)
    ranked_text = _rank(rules, text_bodies)
    named = _rank(rules, respondent_bodies + text_bodies)
    aliases = list(dict.fromkeys(h.term.word for h in respondent_bodies + text_bodies))

    evidence = _evidence(text_hits)
    rule_category, rule_confidence, keywords = _category(config, evidence)
    candidates = _blend(config, rule_category, rule_confidence, model.probabilities(_masked(body_text, text_hits)))
    (category, category_confidence), *_ = candidates
    if category != rule_category:
        keywords = _evidence_words(evidence, category)
    legal_cues = [h.term.word for h in text_hits.get(_LEGAL, []) + respondent_hits.get(_LEGAL, [])]
    buck_cues = [h.term.word for h in text_hits.get(_BUCK, [])]
    dept_conf = config.department_confidence

    reason: TriageReason | None = None
    supervisor = rules.supervisor.code
    if legal_cues and named != [supervisor]:
        reason = "legal_office_handling"
        department, department_confidence = supervisor, dept_conf.legal_office
        keywords += legal_cues
    elif buck_cues and len(named) >= 2:
        reason = "buck_passing"
        department, department_confidence = supervisor, dept_conf.buck_passing
        computed = category_confidence if category == config.buck_passing.category else 0.0
        category = config.buck_passing.category
        category_confidence = max(config.category_confidence.buck_passing, computed)
        keywords = _evidence_words(evidence, category) + buck_cues
    elif ranked_respondent:
        department, department_confidence = ranked_respondent[0], dept_conf.respondent
    elif ranked_text:
        several = len(ranked_text) > 1
        department = ranked_text[0]
        department_confidence = dept_conf.several_bodies if several else dept_conf.single_body
    else:
        reason = "no_body_found"
        department, department_confidence = supervisor, dept_conf.no_body

    return Classification(
        category=category,
        category_name=reference_data.category(category).name,
        category_confidence=category_confidence,
        category_candidates=candidates[:2],
        model_version=model.version,
        department=department,
        department_name=rules.departments[department].name,
        department_confidence=department_confidence,
        confidence=min(category_confidence, department_confidence),
        domain=_domain(config, evidence),
        triage_reason=reason,
        matched_keywords=list(dict.fromkeys(keywords)),
        matched_aliases=aliases,
    )


def _bodies(rules: _Rules, hits: dict[str, list[_Hit]], text: str, in_respondent: bool) -> list[_Hit]:
    """Alias hits that name a respondent: in the text, not a mere place, and a town only with a cue."""
    if in_respondent:
        return hits.get(_ALIAS, [])
    markers = rules.config.towns.alias_markers
    bodies = []
    for hit in hits.get(_ALIAS, []):
        if text.startswith(rules.place_cues, hit.end):
            continue
        is_town = rules.departments[hit.term.value].kind == "town"
        named_as_body = any(m in hit.term.word for m in markers) or text.startswith(rules.town_cues, hit.end)
        if is_town and not named_as_body:
            continue
        bodies.append(hit)
    return bodies


def _rank(rules: _Rules, bodies: list[_Hit]) -> list[str]:
    """Department codes, most named first (ties: first named); a child absorbs its parent's mentions."""
    present = {h.term.value for h in bodies}
    absorbed_by: dict[str, str] = {}
    for hit in bodies:
        parent = rules.departments[hit.term.value].parent
        if parent in present:
            absorbed_by.setdefault(parent, hit.term.value)
    codes = [absorbed_by.get(h.term.value, h.term.value) for h in bodies]
    addressee_kinds = rules.config.addressees.kinds
    named = [c for c in codes if rules.departments[c].kind not in addressee_kinds] or codes
    counts = Counter(named)  # keeps first-mention order, and sorted() is stable: ties go to the first named
    return sorted(counts, key=lambda code: -counts[code])


@dataclass(frozen=True)
class _Evidence:
    """Category and domain hits in text order, without words inside a body's name ('运输' in '交通运输局')."""

    category: list[_Hit]
    domain: list[_Hit]


def _evidence(hits: dict[str, list[_Hit]]) -> _Evidence:
    names = [(h.start, h.end) for h in hits.get(_ALIAS, [])]

    def outside(hit: _Hit) -> bool:
        return not any(start <= hit.start and hit.end <= end for start, end in names)

    return _Evidence(
        category=sorted((h for h in hits.get(_CATEGORY, []) if outside(h)), key=lambda h: h.start),
        domain=[h for h in hits.get(_DOMAIN, []) if outside(h)],
    )


def _evidence_words(evidence: _Evidence, category: str) -> list[str]:
    return [h.term.word for h in evidence.category if h.term.value == category]


def _category(config: _Config, evidence: _Evidence) -> tuple[str, float, list[str]]:
    """The winning category, its confidence and the keywords behind it."""
    scores: dict[str, float] = {}
    strongest: dict[str, float] = {}
    first: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    for hit in evidence.category:
        code, word = hit.term.value, hit.term.word
        if (code, word) in seen:  # a keyword counts once however often it is repeated
            continue
        seen.add((code, word))
        scores[code] = scores.get(code, 0) + hit.term.weight
        strongest[code] = max(strongest.get(code, 0), hit.term.weight)
        first.setdefault(code, hit.start)
    groups = ((config.specific_categories, 0.0), (config.thematic_categories, config.thematic_min_score))
    for group, min_score in groups:
        candidates = [c for c in group if c in scores and scores[c] >= min_score]
        if candidates:
            best = min(candidates, key=lambda c: (-scores[c], -strongest[c], first[c]))
            share = scores[best] / sum(scores[c] for c in candidates)
            conf = config.category_confidence
            strength = conf.weak_floor + (1 - conf.weak_floor) * min(1.0, scores[best] / conf.strong_score)
            return best, round(share * strength, 2), _evidence_words(evidence, best)
    return config.fallback_category, config.category_confidence.other, []


def _blend(
    config: _Config, rule_category: str, rule_confidence: float, probabilities: dict[str, float]
) -> list[tuple[str, float]]:
    """Categories by blended confidence: the rules' vote (their category at their confidence) and the model's."""
    weight = config.model.rule_weight
    blended = {code: (1 - weight) * p for code, p in probabilities.items()}
    blended[rule_category] = blended.get(rule_category, 0) + weight * rule_confidence
    return sorted(((code, round(value, 2)) for code, value in blended.items()), key=lambda item: -item[1])


def _masked(text: str, hits: dict[str, list[_Hit]]) -> str:
    """The text with every alias replaced by the mask character: who is named says nothing of what happened."""
    chars = list(text)
    for hit in hits.get(_ALIAS, []):
        chars[hit.start : hit.end] = [""] * (hit.end - hit.start)
        chars[hit.start] = _rules().config.model.mask
    return "".join(chars)


def model_text(text: str) -> str:
    """What the statistical model reads of a complaint (training and classification alike)."""
    body = normalize(text)
    return _masked(body, _rules().matcher.scan(body))


def train_model(examples: Sequence[Example], corrections: Sequence[Example] = ()) -> NgramModel:
    """A model of the reference examples, and of staff corrections in classes of their own."""
    settings = _rules().config.model
    pairs = [(model_text(example.text), example.category) for example in examples]
    pairs += [(model_text(example.text), example.category + ngram_model.CORRECTIONS) for example in corrections]
    return ngram_model.train(pairs, settings.n_min, settings.n_max, settings.alpha, settings.temperature)


def reference_examples(part: Literal["tuning", "heldout"]) -> list[Example]:
    """The labelled reference set: `tuning` trains the built-in model, `heldout` only measures."""
    lines = reference_data.load_text(f"labelled/{part}.jsonl").splitlines()
    return [Example.model_validate_json(line) for line in lines if line.strip()]


class Accuracy(BaseModel):
    """How often the classifier is right on labelled examples: overall and per labelled category."""

    examples: int
    category: float
    department: float | None  # None when no example names its department (corrections of the category only)
    per_category: dict[str, tuple[int, int]]  # category -> (right, examples)


def evaluate(examples: Sequence[Example], model: NgramModel | None = None) -> Accuracy:
    category_right = department_right = with_department = 0
    per_category: dict[str, tuple[int, int]] = {}
    for example in examples:
        result = classify(example.text, example.respondent, model)
        right, total = per_category.get(example.category, (0, 0))
        hit = result.category == example.category
        per_category[example.category] = (right + hit, total + 1)
        category_right += hit
        if example.department is not None:
            with_department += 1
            department_right += result.department == example.department
    return Accuracy(
        examples=len(examples),
        category=category_right / len(examples) if examples else 0.0,
        department=department_right / with_department if with_department else None,
        per_category=per_category,
    )


@cache
def builtin_model() -> NgramModel:
    return train_model(reference_examples("tuning"))


def _domain(config: _Config, evidence: _Evidence) -> Literal["enterprise", "livelihood", "general"]:
    counts = Counter(term.value for term in {h.term for h in evidence.domain})
    enterprise, livelihood = counts["enterprise"], counts["livelihood"]
    if enterprise == livelihood == 0:
        return "general"
    if enterprise == livelihood:
        return config.domain_tie
    return "enterprise" if enterprise > livelihood else "livelihood"
