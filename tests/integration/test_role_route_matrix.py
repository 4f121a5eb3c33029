"""Role x route matrix (issue 4): every staff route of the three services, called by every role and with every
kind of bad token, answers exactly as the table below says.

The table is the specification of who may do what; the code's checks (shared/core/auth.py and the logic modules) must
agree with it. A route the apps declare that is neither in the table nor listed as public fails the first test,
so that a new staff route cannot ship without its row. Writes carry a stale case version (or a minimal body) so
that the allowed roles get past the role and scope checks without changing anything: one set of cases serves
the whole module.
"""

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest
from chalice.test import Client
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shared.core import auth, staff_pages
from shared.core.auth import Principal, Role
from shared.core.aws import client
from shared.core.settings import Settings
from shared.routing import cases_api, publication, staff, workflow
from tests.integration.routing.test_confidentiality import routed
from tests.support import load_service

SERVICES = ("intake", "routing", "reporting")
# The callers of every row, in the order of the expectation tuples: the case's department is JJDD (traffic
# police); `other_dept` is an officer of SCJG (market supervision), i.e. a valid token for another department.
CALLERS = ("county_admin", "dept_head", "dept_officer", "other_dept", "auditor", "media")
PRINCIPALS = {
    "county_admin": (Role.county_admin, None),
    "dept_head": (Role.dept_head, "JJDD"),
    "dept_officer": (Role.dept_officer, "JJDD"),
    "other_dept": (Role.dept_officer, "SCJG"),
    "auditor": (Role.auditor, None),
    "media": (Role.media, None),
}
# A refusal: 403 with this machine code (the console shows its error page with the same 403).
FORBIDDEN = "forbidden"
F_SCOPE = "forbidden_scope"  # a department asking for another scope's report


@dataclass(frozen=True)
class See:
    """Allowed, and a console page sends the caller on: 303 to this console page."""

    page: str


@dataclass(frozen=True)
class AsMissing:
    """Refused, and answered exactly as for a case that does not exist: 404 not_found (the console's error page)."""


# An int: allowed, answered with exactly this status; a str: refused with 403 and this code.
Outcome = int | str | See | AsMissing
STALE = {"version": 999}  # passes the role and scope checks, then 409: nothing changes
NO_HOTSPOT, NO_RECORD = "7d-0000-1", "0" * 32  # well-formed ids of nothing


DASHBOARD = ("reporting", "GET", "/dashboard")


@dataclass(frozen=True)
class Row:
    service: str
    method: str
    path: str  # as the app declares it
    expected: tuple[Outcome, ...]  # per CALLERS
    # the request path; {case}: a routed case of JJDD, {published}: a published typical case of JJDD, {other}: a
    # routed case of SCJG
    url: str = ""
    body: dict[str, Any] | None = None  # the JSON body, or the form fields of a console POST

    @property
    def route(self) -> tuple[str, str, str]:
        return self.service, self.method, self.path

    @property
    def console(self) -> bool:
        """A page for signed-in staff: the console, and the reporting service's dashboard and survey pages."""
        console_service = self.service in ("routing", "reporting")
        return (console_service and self.path.startswith("/console")) or self.route == DASHBOARD

    def name(self) -> str:
        shown = self.url or self.path
        return f"{self.service} {self.method} {shown}"


F, M = FORBIDDEN, AsMissing()
# Each workflow action through POST /{tracking_no}/actions/{action}: a body its model accepts, and the roles of
# shared/data/workflow.json (scoped actions answer the other department as for a missing case; county-wide roles
# pass scope; a role that may not take the action is refused before the case is read).
#                                                                     admin head officer other auditor media
ACTIONS: dict[str, tuple[dict[str, Any], tuple[Outcome, ...]]] = {
    "accept": ({}, (409, 409, 409, M, F, F)),
    "not_accept": ({"reason": "不属于受理范围"}, (409, 409, 409, M, F, F)),
    "transfer": ({"reason": "非本部门职责"}, (F, 409, 409, M, F, F)),
    "arbitrate": ({"department": "GAJ"}, (409, F, F, F, F, F)),
    "merge": ({"into": "ZF000000000000"}, (409, 409, 409, M, F, F)),
    "request_extension": ({"days": 10, "reason": "需要调取监控录像"}, (F, 409, 409, M, F, F)),
    "approve_extension": ({}, (409, F, F, F, F, F)),
    "refuse_extension": ({"reason": "理由不充分"}, (409, F, F, F, F, F)),
    "start_investigation": ({}, (409, 409, 409, M, F, F)),
    "decide": ({"finding": "unsubstantiated", "summary": "经查不属实"}, (409, 409, 409, M, F, F)),
    "reply": ({"message": "经查不属实，特此答复。"}, (409, 409, 409, M, F, F)),
    "start_rectification": ({}, (409, 409, 409, M, F, F)),
    "verify_rectification": ({}, (409, 409, F, F, F, F)),
    "close": ({}, (409, 409, 409, M, F, F)),
    "reopen_for_review": ({"reason": "对答复不满意"}, (409, 409, 409, M, F, F)),
    "correct_category": ({"category": "fees"}, (409, 409, 409, M, F, F)),
    "reassign": ({"handler": "张三"}, (409, 409, F, F, F, F)),
    "flag_media": ({}, (409, F, F, F, F, F)),
    "mark_typical": ({"kind": "positive"}, (409, F, F, F, F, F)),
    "record_callback": ({"rating": "satisfied"}, (409, 409, 409, M, F, F)),
    "answer": ({"answer": "可向县人民政府申请行政复议。"}, (409, 409, 409, M, F, F)),
    "change_kind": ({"kind": "question"}, (409, 409, 409, M, F, F)),
}

MATRIX: tuple[Row, ...] = (
    # --- routing: the case API (shared/routing/cases_api.py, shared/routing/operator_entry.py) ---
    Row("routing", "GET", "/", (200, 200, 200, 200, 200, F), "/"),  # a department lists its own queue
    Row("routing", "GET", "/", (200, 200, 200, F, 200, F), "/?department=JJDD"),
    Row("routing", "POST", "/", (422, 422, 422, 422, F, F), "/", {}),  # operator entry, any department
    Row("routing", "GET", "/{tracking_no}", (200, 200, 200, M, 200, F), "/{case}"),
    *(
        Row("routing", "POST", "/{tracking_no}/actions/{action}", expected, f"/{{case}}/actions/{action}", body)
        for action, (fields, expected) in ACTIONS.items()
        for body in [{**STALE, **fields}]
    ),
    # --- routing: a survey answer filed as a complaint (shared/routing/survey_complaints.py): county legal office ---
    Row(
        "routing",
        "POST",
        "/surveys/{survey_id}/answers/{number}/complaint",
        (404, F, F, F, F, F),
        "/surveys/20260101-000000/answers/1/complaint",
        {},
    ),
    # --- routing: the complainant's compartment (shared/routing/confidentiality.py; the complainant consented) ---
    Row(
        "routing",
        "POST",
        "/{tracking_no}/complainant/reveal",
        (200, 200, 200, M, M, M),
        "/{case}/complainant/reveal",
        {"reason": "核实投诉人身份"},
    ),
    Row(
        "routing",
        "POST",
        "/{tracking_no}/complainant/message",
        (202, 202, 202, M, F, F),
        "/{case}/complainant/message",
        {"text": "请补充材料"},
    ),
    # --- routing: typical cases and media notes (shared/routing/publication.py) ---
    Row("routing", "GET", "/{tracking_no}/publication", (200, F, F, F, 200, 200), "/{published}/publication"),
    Row("routing", "POST", "/{tracking_no}/publication", (409, F, F, F, F, F), "/{published}/publication", STALE),
    *(
        Row(
            "routing",
            "POST",
            "/{tracking_no}/publication/{step}",
            (409, F, F, F, F, F),
            f"/{{published}}/publication/{step}",
            STALE,
        )
        for step in ("approve", "publish", "unpublish")
    ),
    Row("routing", "GET", "/{tracking_no}/media-notes", (200, F, F, F, 200, 200), "/{published}/media-notes"),
    Row(
        "routing",
        "POST",
        "/{tracking_no}/media-notes",
        (201, F, F, F, F, 201),
        "/{published}/media-notes",
        {"text": "记者回访了投诉人"},
    ),
    # --- routing: who am I (shared/routing/staff.py) ---
    Row("routing", "GET", "/auth/me", (200, 200, 200, 200, 200, 200), "/auth/me"),
    Row(
        "routing", "POST", "/auth/accounts/{username}/unlock", (404, F, F, F, F, F), "/auth/accounts/nobody/unlock", {}
    ),
    Row("routing", "GET", "/classifier", (200, F, F, F, 200, F), "/classifier"),
    Row("routing", "POST", "/classifier/retrain", (200, F, F, F, F, F), "/classifier/retrain", {}),
    # --- routing: the staff console (shared/routing/console.py): the token in the session cookie, CSRF on POST ---
    # The media role has no queue: it is sent to its follow-up notes page.
    Row("routing", "GET", "/console", (200, 200, 200, 200, 200, See("/media")), "/console"),
    Row("routing", "GET", "/console", (200, 200, 200, F, 200, See("/media")), "/console?department=JJDD"),
    Row("routing", "GET", "/console/{tracking_no}", (200, 200, 200, M, 200, F), "/console/{case}"),
    Row(
        "routing",
        "POST",
        "/console/{tracking_no}/{action}",
        (409, 409, 409, M, F, F),
        "/console/{case}/accept",
        {"version": "999"},
    ),
    # The console's other forms on a case: reveal, relay, publication steps, reassignment to another department,
    # a merge into another department's case; each refused caller writes nothing (checked for every refusal).
    Row(
        "routing",
        "POST",
        "/console/{tracking_no}/{action}",
        (200, 200, 200, M, M, M),
        "/console/{case}/reveal_complainant",
        {"reason": "核实投诉人身份"},
    ),
    Row(
        "routing",
        "POST",
        "/console/{tracking_no}/{action}",
        (See("/{case}"), See("/{case}"), See("/{case}"), M, F, F),
        "/console/{case}/relay_message",
        {"text": "请补充材料"},
    ),
    *(
        Row(
            "routing",
            "POST",
            "/console/{tracking_no}/{action}",
            (409, F, F, F, F, F),
            f"/console/{{published}}/{form}",
            {"version": "999", "note": "审核"},
        )
        for form in ("publication_draft", "publication_approve", "publication_publish", "publication_unpublish")
    ),
    Row(
        "routing",
        "POST",
        "/console/{tracking_no}/{action}",
        (409, 409, F, F, F, F),
        "/console/{case}/reassign",
        {"version": "999", "department": "SCJG"},
    ),
    Row(
        "routing",
        "POST",
        "/console/{tracking_no}/{action}",
        (409, 409, 409, M, F, F),
        "/console/{case}/merge",
        {"version": "999", "into": "{other}"},
    ),
    # The intake quarantine (shared/core/quarantine.py), and the media follow-up notes of a case
    # (shared/routing/publication.py).
    Row("routing", "GET", "/console/quarantine", (200, F, F, F, 200, F), "/console/quarantine"),
    Row("routing", "GET", "/console/media", (200, F, F, F, 200, 200), "/console/media?tracking_no={published}"),
    Row(
        "routing",
        "POST",
        "/console/media",
        (See("/media?tracking_no={published}"), F, F, F, F, See("/media?tracking_no={published}")),
        "/console/media",
        {"tracking_no": "{published}", "text": "记者回访了投诉人"},
    ),
    # The opinion forms' pages (shared/reporting/survey_pages.py; filing an answer: shared/routing/console.py): the
    # county legal office creates and files, auditors read.
    Row("reporting", "GET", "/console/surveys", (200, F, F, F, 200, F), "/console/surveys"),
    Row("reporting", "POST", "/console/surveys", (422, F, F, F, F, F), "/console/surveys", {"title": "", "links": "0"}),
    Row("reporting", "GET", "/console/surveys/{survey_id}", (404, F, F, F, 404, F), "/console/surveys/20260101-000000"),
    Row(
        "routing",
        "POST",
        "/console/surveys/{survey_id}/{number}",
        (404, F, F, F, F, F),
        "/console/surveys/20260101-000000/1",
        {},
    ),
    # The dashboard (shared/reporting/dashboard.py): every staff role but the media, each in its own scope.
    Row("reporting", "GET", "/dashboard", (200, 200, 200, 200, 200, F), "/dashboard"),
    # Signing out clears the cookie whoever asks: it cannot be told apart from a refused token, and needs not be.
    Row("routing", "POST", "/console/logout", (See("/login"),) * len(CALLERS), "/console/logout", {}),
    # --- reporting (shared/reporting/reports.py): the county legal office and auditors any scope, a department its own
    Row("reporting", "POST", "/", (201, 201, 201, F_SCOPE, 201, F), "/", {"scope": "JJDD", "formats": ["json"]}),
    Row(
        "reporting",
        "POST",
        "/",
        (201, F_SCOPE, F_SCOPE, F_SCOPE, 201, F),
        "/",
        {"scope": "county", "formats": ["json"]},
    ),
    Row("reporting", "GET", "/", (200, 200, 200, 200, 200, F), "/"),
    # Hotspots (shared/reporting/hotspots.py): everyone lists those they may see (media: tracked ones); one they may
    # not see
    # is not found rather than forbidden; the county legal office moves them on.
    Row("reporting", "GET", "/hotspots", (200,) * len(CALLERS), "/hotspots"),
    Row("reporting", "GET", "/hotspots/{hotspot_id}", (404,) * len(CALLERS), f"/hotspots/{NO_HOTSPOT}"),
    Row(
        "reporting",
        "POST",
        "/hotspots/{hotspot_id}/status",
        (404, F, F, F, F, F),
        f"/hotspots/{NO_HOTSPOT}/status",
        {**STALE, "status": "tracking", "note": "持续跟踪"},
    ),
    # Records the county legal office enters (shared/reporting/records.py): departments read their own.
    Row("reporting", "POST", "/records/{kind}", (422, F, F, F, F, F), "/records/lawsuits", {}),
    Row("reporting", "GET", "/records/{kind}", (200, 200, 200, 200, 200, F), "/records/lawsuits"),
    Row("reporting", "GET", "/records/{kind}", (200, 200, 200, F, 200, F), "/records/lawsuits?department=JJDD"),
    Row("reporting", "PUT", "/records/{kind}/{record_id}", (422, F, F, F, F, F), f"/records/lawsuits/{NO_RECORD}", {}),
    Row("reporting", "DELETE", "/records/{kind}/{record_id}", (404, F, F, F, F, F), f"/records/lawsuits/{NO_RECORD}"),
    # Opinion forms for enterprises (shared/reporting/surveys.py): the county legal office creates, auditors read.
    Row("reporting", "POST", "/surveys", (422, F, F, F, F, F), "/surveys", {}),
    Row("reporting", "GET", "/surveys", (200, F, F, F, 200, F), "/surveys"),
    Row("reporting", "GET", "/surveys/{survey_id}", (404, F, F, F, 404, F), "/surveys/20260101-000000"),
    # Campaign materials (shared/reporting/records.py): every reader sees where things stand; departments submit their
    # own.
    Row("reporting", "GET", "/materials", (200, 200, 200, 200, 200, F), "/materials"),
    Row(
        "reporting", "POST", "/materials/{material}/uploads", (F, 422, 422, 422, F, F), "/materials/summary/uploads", {}
    ),
    Row(
        "reporting",
        "POST",
        "/materials/{material}/submissions",
        (F, 422, 422, 422, F, F),
        "/materials/summary/submissions",
        {},
    ),
)

# Routes anyone may call, without a token: health checks, the citizen's pages and API, the SMS webhooks (checked
# by their provider's signature or token), the public lists of typical cases and answers, the login and the public
# keys.
PUBLIC: frozenset[tuple[str, str, str]] = frozenset(
    {
        ("intake", "POST", "/complaints"),
        ("intake", "GET", "/complaints/{tracking_no}"),
        ("intake", "POST", "/sms/{provider}"),
        ("intake", "GET", "/"),
        ("intake", "POST", "/"),
        ("intake", "GET", "/status"),
        ("intake", "POST", "/complaints/{tracking_no}/feedback"),
        ("intake", "GET", "/feedback"),
        ("intake", "POST", "/feedback"),
        ("intake", "GET", "/surveys/{survey_id}"),
        ("intake", "POST", "/surveys/{survey_id}"),
        ("intake", "POST", "/uploads"),
        ("intake", "GET", "/assets/{name}"),
        ("intake", "GET", "/cases/published"),
        ("intake", "GET", "/cases/published.json"),
        ("intake", "GET", "/answers"),
        ("intake", "GET", "/answers.json"),
        ("intake", "GET", "/openapi.json"),
        ("routing", "GET", "/openapi.json"),
        ("reporting", "GET", "/openapi.json"),
        ("intake", "GET", "/health"),
        ("routing", "GET", "/health"),
        ("routing", "POST", "/auth/login"),
        ("routing", "GET", "/auth/jwks.json"),
        ("routing", "GET", "/console/login"),
        ("routing", "POST", "/console/login"),
        ("routing", "GET", "/console/assets/console.css"),
        ("reporting", "GET", "/health"),
    }
)


def _first_row_of_each_route() -> tuple[Row, ...]:
    first: dict[tuple[str, str, str], Row] = {}
    for row in MATRIX:
        first.setdefault(row.route, row)
    return tuple(first.values())


# One request per staff route for the bad-token cases.
ROUTES = _first_row_of_each_route()
# Bad tokens -> the 401 code of the JSON API (the console sends the caller to its login page instead).
BAD_TOKENS = {
    "missing": "unauthenticated",
    "expired": "token_expired",
    "other_key": "token_invalid",  # signed with another key under the real key id
    "alg_none": "token_invalid",  # unsigned
    "alg_hs256": "token_invalid",  # HMAC keyed with the public key (algorithm confusion)
    "tampered": "token_invalid",  # a department officer's token edited to say county_admin
}


def test_every_route_is_in_the_matrix_or_listed_as_public() -> None:
    # given the routes the three apps declare
    declared = {
        (service, method, path)
        for service in SERVICES
        for path, methods in load_service(service).app.routes.items()
        for method in methods
    }
    # when they are compared with the matrix and the public list
    rows = {row.route for row in MATRIX}
    missing = sorted(declared - rows - PUBLIC)
    gone = sorted((rows | PUBLIC) - declared)
    # then every declared route is in exactly one of them, and neither names a route that does not exist
    assert not missing, "\n".join(
        f"route {service} {method} {path} has no row: add Row({service!r}, {method!r}, {path!r}, (one outcome "
        f"per {', '.join(CALLERS)}), url, body) to MATRIX in tests/integration/test_role_route_matrix.py, or "
        f"({service!r}, {method!r}, {path!r}) to PUBLIC if it needs no token"
        for service, method, path in missing
    )
    assert not gone, f"MATRIX or PUBLIC name routes the apps no longer declare: {gone}"
    assert not rows & PUBLIC, f"routes both public and in the matrix: {sorted(rows & PUBLIC)}"


def test_every_workflow_action_is_in_the_matrix() -> None:
    # given the actions of the transition table; then each has its row, and no row names an unknown action
    assert list(workflow.table().actions) == list(ACTIONS), "add the new action to ACTIONS, with its body and roles"


# --- the module's AWS, cases and callers ----------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    settings: Settings
    clients: dict[str, Any]  # service -> Chalice test client's http
    numbers: dict[str, str]  # {case}, {published}, {other}
    tokens: dict[str, str]  # caller or bad-token case -> token ("" for none)


def _published(settings: Settings) -> str:
    """A routed case of JJDD, decided, marked typical, flagged for the media, and its publication published."""
    number = routed(settings)
    admin = Principal(subject="matrix-admin", name="法制办", role=Role.county_admin)
    steps: list[tuple[str, dict[str, Any]]] = [
        ("accept", {}),
        ("start_investigation", {}),
        ("decide", {"finding": "unsubstantiated", "summary": "经查不属实"}),
        ("mark_typical", {"kind": "negative"}),
        ("flag_media", {}),
    ]
    version = 2
    for action, fields in steps:
        cases_api.act(settings, admin, number, action, json.dumps({"version": version, **fields}).encode())
        version += 1
    publication.draft(settings, admin, number, json.dumps({"version": version}).encode())
    for step in ("approve", "publish"):
        publication.step(settings, admin, number, step, json.dumps({"version": version + 1}).encode())
        version += 1
    return number


def _of_another_department(settings: Settings) -> str:
    """A routed case that the county legal office reassigned to SCJG."""
    number = routed(settings)
    admin = Principal(subject="matrix-admin", name="法制办", role=Role.county_admin)
    cases_api.act(settings, admin, number, "reassign", json.dumps({"version": 2, "department": "SCJG"}).encode())
    return number


def _segment(value: dict[str, Any] | bytes) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad_tokens(settings: Settings) -> dict[str, str]:
    officer = auth.issue_development_token(settings, Role.dept_officer, "JJDD")
    header, claims = jwt.get_unverified_header(officer), jwt.decode(officer, options={"verify_signature": False})
    kid, (signed_header, _, signature) = header["kid"], officer.split(".")
    # What anyone can fetch from /auth/jwks.json, used as an HMAC secret.
    public_key = jwt.PyJWK(staff.public_keys(settings)["keys"][0]).key
    public_pem = public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    hs256_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{_segment(claims)}"
    hs256_signature = hmac.new(public_pem, hs256_input.encode(), hashlib.sha256).digest()
    return {
        "missing": "",
        "expired": auth.issue_development_token(
            settings, Role.county_admin, ttl_seconds=60, now=datetime.now(UTC) - timedelta(hours=2)
        ),
        "other_key": jwt.encode(
            claims, auth.new_signing_key().private_key_pem, algorithm="ES256", headers={"kid": kid}
        ),
        "alg_none": f"{_segment({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{_segment(claims)}.",
        "alg_hs256": f"{hs256_input}.{_segment(hs256_signature)}",
        "tampered": f"{signed_header}.{_segment({**claims, 'custom:role': 'county_admin'})}.{signature}",
    }


@pytest.fixture(scope="module")
def world(aws_module: Settings) -> Iterator[World]:
    settings = aws_module
    numbers = {
        "case": routed(settings, consent=True),
        "published": _published(settings),
        "other": _of_another_department(settings),
    }
    tokens = {
        caller: auth.issue_development_token(settings, role, department, name="开发人员")
        for caller, (role, department) in PRINCIPALS.items()
    }
    with Client(load_service("routing").app) as routing_client, Client(load_service("reporting").app) as reports:
        yield World(
            settings,
            {"routing": routing_client.http, "reporting": reports.http},
            numbers,
            tokens | _bad_tokens(settings),
        )


def call(world: World, row: Row, token: str) -> Any:
    """The row's request with `token` as the bearer token, or for the console as its session cookie."""
    url = row.url.format(**world.numbers)
    http = world.clients[row.service]
    headers: dict[str, str] = {}
    body = b""
    if row.console:
        if token:
            headers["Cookie"] = f"{staff_pages.SESSION_COOKIE}={token}"
        if row.method == "POST":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            fields = {name: value.format(**world.numbers) for name, value in (row.body or {}).items()}
            body = urlencode({**fields, "csrf": staff_pages.csrf_token(token)}).encode()
    else:
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if row.body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(row.body, ensure_ascii=False).encode()
    return http.request(row.method, url, headers=headers, body=body)


def _error_code(response: Any) -> str | None:
    try:
        return str(json.loads(response.body)["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


# --- the matrix -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "caller", "expected"),
    [
        pytest.param(row, caller, expected, id=f"{row.name()} as {caller}")
        for row in MATRIX
        for caller, expected in zip(CALLERS, row.expected, strict=True)
    ],
)
def test_each_role_gets_exactly_what_the_matrix_says(world: World, row: Row, caller: str, expected: Outcome) -> None:
    # given a caller with a valid token of its role (and department), and everything stored and queued so far
    token = world.tokens[caller]
    before = stored_and_queued(world.settings)
    # when it calls the route
    response = call(world, row, token)
    # then the answer is the one in the matrix: the exact status when allowed, 403 with the code when refused, the
    # answer to a missing case when refused as one
    if isinstance(expected, AsMissing):
        if row.console:
            assert response.status_code == 404 and b'id="error"' in response.body, response.status_code
        else:
            assert (response.status_code, _error_code(response)) == (404, "not_found"), response.body[:300]
    elif isinstance(expected, See):
        assert response.status_code == 303, response.status_code
        page = expected.page.format(**world.numbers)
        assert response.headers["Location"] == f"{world.settings.cases_base_path}/console{page}"
    elif isinstance(expected, int):
        assert response.status_code == expected, (response.status_code, response.body[:300])
    elif row.console:
        assert response.status_code == 403 and b'id="error"' in response.body, response.status_code
    else:
        assert (response.status_code, _error_code(response)) == (403, expected), response.body[:300]
    # and a refused caller wrote nothing and queued nothing
    if isinstance(expected, str | AsMissing):
        assert stored_and_queued(world.settings) == before


def stored_and_queued(settings: Settings) -> dict[str, Any]:
    """Every item of every table, every object key and how many messages each queue holds."""
    dynamodb, sqs, s3 = client("dynamodb"), client("sqs"), client("s3")
    state: dict[str, Any] = {}
    for table in dynamodb.list_tables()["TableNames"]:
        items = [item for page in dynamodb.get_paginator("scan").paginate(TableName=table) for item in page["Items"]]
        state[table] = sorted(json.dumps(item, sort_keys=True) for item in items)
    for url in sqs.list_queues().get("QueueUrls", []):
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        state[url] = attributes
    for bucket in s3.list_buckets()["Buckets"]:
        listed = s3.list_objects_v2(Bucket=bucket["Name"])
        state[bucket["Name"]] = sorted(item["Key"] for item in listed.get("Contents", []))
    return state


@pytest.mark.parametrize(
    ("row", "case"),
    [pytest.param(row, case, id=f"{row.name()} {case} token") for row in ROUTES for case in BAD_TOKENS],
)
def test_a_missing_expired_or_forged_token_is_refused(world: World, row: Row, case: str) -> None:
    # given no token, an expired one, or one that was not signed by the issuer's current key as it stands
    token = world.tokens[case]
    # when it is sent to a staff route
    response = call(world, row, token)
    # then the API answers 401 with the code for that case; the console sends the caller to its login page
    # and clears the session cookie
    if row.console:
        assert response.status_code == 303
        assert response.headers["Location"] == f"{world.settings.cases_base_path}/console/login"
        assert f"{staff_pages.SESSION_COOKIE}=;" in response.headers["Set-Cookie"]
    else:
        assert (response.status_code, _error_code(response)) == (401, BAD_TOKENS[case]), response.body[:300]
