"""The product's reference data: the eleven categories, channels, domains, the county and its bodies.

Loaded once per process from the editable JSON files in `shared/data/`. A county changes its organisation
by editing `departments.json`, never code.
"""

import json
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

DATA_DIR = Path(__file__).parents[1] / "data"


def load_json(name: str) -> Any:
    """One data file, by its path relative to `shared/data/`."""
    return json.loads(load_text(name))


def load_text(name: str) -> str:
    return (DATA_DIR / name).read_text(encoding="utf-8")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Category(_Frozen):
    no: int
    code: str
    name: str
    seed: str
    description: str


class Domain(_Frozen):
    code: str
    name: str


class Channel(_Frozen):
    code: str
    name: str


class Department(_Frozen):
    code: str
    name: str
    kind: Literal["supervisor", "department", "town"]
    parent: str | None = None
    aliases: tuple[str, ...] = ()


class County(_Frozen):
    name: str
    prefecture: str
    province: str
    timezone: str


class _Categories(_Frozen):
    categories: tuple[Category, ...]
    domains: tuple[Domain, ...]
    channels: tuple[Channel, ...]


class _Departments(_Frozen):
    county: County
    departments: tuple[Department, ...]
    routing_rules: tuple[str, ...]


@cache
def _categories_file() -> _Categories:
    return _Categories.model_validate(load_json("categories.json"))


@cache
def _departments_file() -> _Departments:
    data = _Departments.model_validate(load_json("departments.json"))
    codes = {d.code for d in data.departments}
    for d in data.departments:
        # A typo in a parent code would silently break "the child wins" routing.
        if d.parent is not None and d.parent not in codes:
            raise ValueError(f"departments.json: {d.code} has unknown parent {d.parent}")
    if sum(d.kind == "supervisor" for d in data.departments) != 1:
        raise ValueError("departments.json: exactly one department must be the supervisor")
    return data


def categories() -> tuple[Category, ...]:
    """The eleven categories in the campaign plan's order."""
    return _categories_file().categories


@cache
def _category_index() -> dict[str, Category]:
    return {c.code: c for c in categories()}


def category(code: str) -> Category:
    """Raises KeyError for an unknown code."""
    return _category_index()[code]


def domains() -> tuple[Domain, ...]:
    return _categories_file().domains


def channels() -> tuple[Channel, ...]:
    return _categories_file().channels


def county() -> County:
    return _departments_file().county


@cache
def county_timezone() -> ZoneInfo:
    """The county's time zone: local dates, deadlines and what people are shown."""
    return ZoneInfo(county().timezone)


def departments() -> tuple[Department, ...]:
    return _departments_file().departments


@cache
def _department_index() -> dict[str, Department]:
    return {d.code: d for d in departments()}


def department(code: str) -> Department:
    """Raises KeyError for an unknown code."""
    return _department_index()[code]


def supervisor() -> Department:
    """The county government legal office (FZB): triage, arbitration and supervision."""
    return next(d for d in departments() if d.kind == "supervisor")


def routing_rules() -> tuple[str, ...]:
    return _departments_file().routing_rules


# --- codes in request bodies: checked against the files, and stated as their enum in the OpenAPI documents ---


def _known_department(code: str) -> str:
    if code not in _department_index():
        raise PydanticCustomError("invalid_department", "不认识的部门代码，请按部门名录选择")
    return code


def _known_category(code: str) -> str:
    if code not in _category_index():
        raise PydanticCustomError("invalid_category", "不认识的问题类别")
    return code


def _department_enum(schema: dict[str, Any]) -> None:
    schema["enum"] = [department.code for department in departments()]


def _category_enum(schema: dict[str, Any]) -> None:
    schema["enum"] = [category.code for category in categories()]


DepartmentCode = Annotated[
    str, Field(max_length=20, json_schema_extra=_department_enum), AfterValidator(_known_department)
]
CategoryCode = Annotated[str, Field(max_length=40, json_schema_extra=_category_enum), AfterValidator(_known_category)]
