"""Schemathesis over the OpenAPI documents of the three services (issue 13 item 8): generated requests, staff routes
with a token of each role, through the local gateway in this process (moto behind it). No answer may be a server
error or fall outside the document (status, content type, body schema).

Bounded: a few examples per operation, derandomized (a fixed seed), so `make test` stays short and repeatable.
"""

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests.adapters import BaseAdapter
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from urllib3 import HTTPHeaderDict, HTTPResponse

from infra.local_stack import Gateway, Service
from shared.core import auth, staff_pages
from shared.core.auth import Role
from shared.core.settings import Settings
from tests.integration.routing.test_confidentiality import routed
from tests.support import load_service

EXAMPLES = 3
BASE_URL = "http://gateway.test"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SERVICES = {"intake": "intake", "routing": "cases", "reporting": "reports"}
# Every role of the system (shared/core/auth.py Role): a test below fails when one is added without a token here.
ROLES = {
    "county_admin": (Role.county_admin, None),
    "dept_head": (Role.dept_head, "JJDD"),
    "dept_officer": (Role.dept_officer, "JJDD"),
    "auditor": (Role.auditor, None),
    "media": (Role.media, None),
}


class GatewayAdapter(BaseAdapter):
    """requests -> the local gateway's `handle`, in this process: no port, no thread."""

    def __init__(self, gateway: Gateway) -> None:
        super().__init__()
        self._gateway = gateway

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        target = str(request.url).removeprefix(BASE_URL)
        body = request.body.encode() if isinstance(request.body, str) else request.body
        headers = {name.lower(): value for name, value in request.headers.items()}
        answer = self._gateway.handle(str(request.method), target, headers, body)
        response = requests.Response()
        response.status_code = answer.status
        response.headers.update(dict(answer.headers))
        # schemathesis reads the headers from the raw response, as a socket would have given them.
        response.raw = HTTPResponse(body=b"", headers=HTTPHeaderDict(answer.headers), status=answer.status, version=11)
        response._content = answer.body
        response.url = str(request.url)
        response.request = request
        return response

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def session(aws_module: Settings) -> Iterator[requests.Session]:
    services = [Service(name, base, load_service(name).app) for name, base in SERVICES.items()]
    with requests.Session() as http:
        http.mount(BASE_URL, GatewayAdapter(Gateway(services)))
        yield http


@pytest.fixture(scope="module")
def case(aws_module: Settings) -> str:
    """A case routed to the traffic police (JJDD, the department of the department roles' tokens)."""
    return routed(aws_module)


def fuzz(http: requests.Session, base_path: str, headers: dict[str, str], case: str | None = None) -> None:
    # The document as the service publishes it, without a token.
    published = http.get(f"{BASE_URL}/{base_path}/openapi.json")
    assert published.status_code == 200
    schema = schemathesis.openapi.from_dict(published.json())
    schema.config.base_url = BASE_URL
    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = operation.as_strategy()
        if case is not None and "{tracking_no}" in operation.path:
            # Some tracking numbers those of a real case, so that the logic past the lookup is probed too.
            strategy = st.one_of(strategy, operation.as_strategy(path_parameters={"tracking_no": case}))

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(generated=strategy)
        def call(generated: Any) -> None:
            response = generated.call(base_url=f"{BASE_URL}/{base_path}", session=http, headers=headers)
            generated.validate_response(response, checks=CHECKS)

        call()


@pytest.mark.parametrize("service", ["intake"])
def test_the_public_api_answers_within_its_document(session: requests.Session, service: str) -> None:
    # given generated requests for every operation of the intake document / then none fails a check
    fuzz(session, SERVICES[service], {})


def test_every_role_is_fuzzed() -> None:
    assert set(ROLES) == {role.value for role in Role}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("service", ["routing", "reporting"])
def test_the_staff_apis_answer_within_their_documents(
    session: requests.Session, aws_module: Settings, case: str, service: str, role: str
) -> None:
    # given a token of the role, as bearer token and as console session
    token = auth.issue_development_token(aws_module, *ROLES[role])
    headers = {"Authorization": f"Bearer {token}", "Cookie": f"{staff_pages.SESSION_COOKIE}={token}"}
    # when every operation of the service's document gets generated requests / then none fails a check
    fuzz(session, SERVICES[service], headers, case)
