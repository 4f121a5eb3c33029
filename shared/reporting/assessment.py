"""The department assessment (考核): a score per department or town from its figures, items and weights in
shared/data/assessment.json (issue 5, item 5).

Pure computation on the figures it is given (DepartmentRow from the counters, MaterialsStatus from the records
of shared/reporting/records.py): no I/O but reading the rules file. Every ScoreItem says in Chinese which numbers it
comes from (`basis`) and carries them (`numbers`), so that a department can check its score by hand.
The county legal office (the supervisor) and cases not yet routed are not assessed.
"""

from functools import cache
from typing import Annotated, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.core import reference_data
from shared.reporting.report_document import (
    COUNT_FIELDS,
    SATISFACTION_FIELDS,
    DepartmentRow,
    DepartmentScore,
    ScoreItem,
)

ASSESSED_KINDS = ("department", "town")
CountField: TypeAlias = Literal[COUNT_FIELDS + SATISFACTION_FIELDS]  # type: ignore[valid-type]


class MaterialsStatus(BaseModel):
    """Where a department stands with the campaign materials (shared/reporting/records.py), counted per material."""

    required: int = 0
    on_time: int = 0
    late: int = 0
    missing: int = 0  # due date passed, nothing submitted
    pending: int = 0  # not submitted, not yet due: not counted against anyone


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    name: str
    weight: float = Field(ge=0, le=100)


class RateItem(_Item):
    formula: Literal["rate"]
    numerator: tuple[CountField, ...] = Field(min_length=1)
    denominator: tuple[CountField, ...] = Field(min_length=1)
    full_at: float = Field(gt=0, le=1)
    zero_at: float = Field(ge=0, lt=1)
    empty_share: float = Field(ge=0, le=1)
    empty: str

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> "RateItem":
        if self.zero_at >= self.full_at:
            raise ValueError(f"{self.code}: zero_at must be below full_at")
        return self


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    at_least: int = Field(ge=1)
    share: float = Field(gt=0, le=1)


class StepsItem(_Item):
    formula: Literal["steps"]
    fields: tuple[CountField, ...] = Field(min_length=1)
    steps: tuple[Step, ...] = Field(min_length=1)


class DeductionItem(_Item):
    formula: Literal["deduction"]
    per_unit: dict[CountField, float] = Field(min_length=1)


class MaterialsItem(_Item):
    formula: Literal["materials"]
    late_share: float = Field(ge=0, le=1)


class NotWeightedItem(_Item):
    formula: Literal["not_weighted"]
    weight: float = Field(default=0, ge=0, le=0)


Item = Annotated[RateItem | StepsItem | DeductionItem | MaterialsItem | NotWeightedItem, Field(discriminator="formula")]


class Rules(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    labels: dict[str, str]
    items: tuple[Item, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _weights_and_labels(self) -> "Rules":
        total = sum(item.weight for item in self.items)
        if abs(total - 100) > 1e-6:
            raise ValueError(f"the weights add up to {total:g}, not 100")
        if len({item.code for item in self.items}) != len(self.items):
            raise ValueError("item codes must be unique")
        used: set[str] = set()
        for item in self.items:
            if isinstance(item, RateItem):
                used.update(item.numerator + item.denominator)
            elif isinstance(item, StepsItem):
                used.update(item.fields)
            elif isinstance(item, DeductionItem):
                used.update(item.per_unit)
        if unlabelled := sorted(used - set(self.labels)):
            raise ValueError(f"no label for {', '.join(unlabelled)}")
        return self


@cache
def rules() -> Rules:
    return Rules.model_validate(reference_data.load_json("assessment.json"))


def assessed(code: str) -> bool:
    """Departments and towns are assessed; the supervisor (FZB) and unknown codes (UNROUTED) are not."""
    try:
        return reference_data.department(code).kind in ASSESSED_KINDS
    except KeyError:
        return False


def assess(
    rows: list[DepartmentRow], materials: dict[str, MaterialsStatus], config: Rules | None = None
) -> list[DepartmentScore]:
    """A score for each assessed department among `rows`, in their order. A department missing from
    `materials` has no material due; `config` replaces the rules file (tests)."""
    config = config or rules()
    scores = []
    for row in rows:
        if not assessed(row.department):
            continue
        status = materials.get(row.department, MaterialsStatus())
        items = [_score(item, row, status, config.labels) for item in config.items]
        scores.append(
            DepartmentScore(
                department=row.department, name=row.name, total=round(sum(i.score for i in items), 2), items=items
            )
        )
    return scores


def _score(item: Item, row: DepartmentRow, materials: MaterialsStatus, labels: dict[str, str]) -> ScoreItem:
    if isinstance(item, RateItem):
        share, basis, numbers = _rate(item, row, labels)
    elif isinstance(item, StepsItem):
        share, basis, numbers = _steps(item, row, labels)
    elif isinstance(item, DeductionItem):
        return _deduction(item, row, labels)
    elif isinstance(item, MaterialsItem):
        share, basis, numbers = _materials(item, materials)
    else:
        share, basis, numbers = 0.0, "不计分（权重为 0）", {}
    return ScoreItem(
        code=item.code,
        name=item.name,
        weight=item.weight,
        score=round(item.weight * share, 2),
        basis=basis,
        numbers=numbers,
    )


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def _rate(item: RateItem, row: DepartmentRow, labels: dict[str, str]) -> tuple[float, str, dict]:
    numerator = sum(getattr(row, name) for name in item.numerator)
    denominator = sum(getattr(row, name) for name in item.denominator)
    numbers: dict[str, float | int | None] = {name: getattr(row, name) for name in item.numerator + item.denominator}
    if denominator == 0:
        return item.empty_share, item.empty, {**numbers, "rate": None}
    # A case with several measures counts once under each: never more than the cases found substantiated.
    counted = min(numerator, denominator)
    rate = counted / denominator
    share = min(1.0, max(0.0, (rate - item.zero_at) / (item.full_at - item.zero_at)))
    top = "、".join(labels[name] for name in item.numerator)
    bottom = "、".join(labels[name] for name in item.denominator)
    capped = f"（按 {counted} 件计）" if counted < numerator else ""
    basis = f"{top} {numerator} 件{capped} / {bottom} {denominator} 件 = {_percent(rate)}"
    if share < 1:
        basis += f"（{_percent(item.full_at)} 得满分，{_percent(item.zero_at)} 及以下不得分）"
    return share, basis, {**numbers, "rate": round(rate, 4)}


def _steps(item: StepsItem, row: DepartmentRow, labels: dict[str, str]) -> tuple[float, str, dict]:
    count = sum(getattr(row, name) for name in item.fields)
    share = max((step.share for step in item.steps if count >= step.at_least), default=0.0)
    ladder = "，".join(f"{step.at_least} 件得 {_percent(step.share)}" for step in item.steps)
    label = "、".join(labels[name] for name in item.fields)
    return share, f"{label} {count} 件（{ladder}）", {name: getattr(row, name) for name in item.fields}


def _deduction(item: DeductionItem, row: DepartmentRow, labels: dict[str, str]) -> ScoreItem:
    numbers = {name: getattr(row, name) for name in item.per_unit}
    deducted = sum(getattr(row, name) * points for name, points in item.per_unit.items())
    parts = " + ".join(f"{labels[name]} {numbers[name]} 件 × {points:g} 分" for name, points in item.per_unit.items())
    basis = f"{parts} = 扣 {deducted:g} 分"
    if deducted > item.weight:
        basis += f"（最多扣 {item.weight:g} 分）"
    return ScoreItem(
        code=item.code,
        name=item.name,
        weight=item.weight,
        score=round(max(0.0, item.weight - deducted), 2),
        basis=basis,
        numbers={**numbers, "deducted": deducted},
    )


def _materials(item: MaterialsItem, status: MaterialsStatus) -> tuple[float, str, dict]:
    numbers: dict[str, float | int | None] = status.model_dump()
    due = status.on_time + status.late + status.missing
    if due == 0:
        return 1.0, "尚无到期的报送材料，不扣分", {**numbers, "rate": None}
    share = (status.on_time + status.late * item.late_share) / due
    basis = (
        f"按期报送 {status.on_time} 项、逾期报送 {status.late} 项（按 {_percent(item.late_share)} 计）、"
        f"未报送 {status.missing} 项 / 已到期 {due} 项 = {_percent(share)}"
    )
    return share, basis, {**numbers, "rate": round(share, 4)}
