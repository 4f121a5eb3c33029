"""Staff roles and the caller (Principal) as the logic checks them; apart from token verification
(shared/core/auth.py), so that code checking a role does not load the verifier on a public function's cold start."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, model_validator

from shared.core import reference_data
from shared.core.errors import ApiError


class Role(StrEnum):
    county_admin = "county_admin"  # the county legal office (FZB)
    dept_head = "dept_head"
    dept_officer = "dept_officer"
    auditor = "auditor"  # read-only, county-wide, personal data masked
    media = "media"  # published material only


DEPARTMENT_ROLES = frozenset({Role.dept_head, Role.dept_officer})
COUNTY_WIDE_ROLES = frozenset({Role.county_admin, Role.auditor})


class Principal(BaseModel):
    """Who is calling: from a verified token."""

    model_config = ConfigDict(frozen=True)

    subject: str
    name: str
    role: Role
    department: str | None = None

    def audit_details(self) -> dict[str, str | None]:
        """Who acted, as every audit event records it (the subject is the event's actor)."""
        return {"actor_name": self.name, "actor_role": self.role, "actor_department": self.department}

    @model_validator(mode="after")
    def _department_matches_role(self) -> "Principal":
        if self.role in DEPARTMENT_ROLES:
            if self.department is None:
                raise ValueError("a department role needs a department")
            if self.department not in {known.code for known in reference_data.departments()}:
                raise ValueError("unknown department")
        elif self.department is not None:
            raise ValueError("only department roles have a department")
        return self


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        raise ApiError(403, "forbidden", "您的角色无权进行此操作")


def require_department(principal: Principal, department: str | None) -> None:
    """County-wide roles reach every department; department roles only their own; media none."""
    if principal.role in COUNTY_WIDE_ROLES:
        return
    if principal.role in DEPARTMENT_ROLES and department is not None and principal.department == department:
        return
    raise ApiError(403, "forbidden", "只能查看或处理本部门的案件")


def case_not_found() -> ApiError:
    """What a caller is answered for a case that does not exist, or that it may not know of."""
    return ApiError(404, "not_found", "未找到该案件")


def require_case_scope(principal: Principal, department: str | None) -> None:
    """A case of another department is answered exactly as a missing one: a refused caller learns nothing of it,
    not even that its number exists."""
    try:
        require_department(principal, department)
    except ApiError:
        raise case_not_found() from None
