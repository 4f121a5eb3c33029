"""The OpenAPI documents of the staff services (cases, reports) state each route's real constraints (issue 13 item 8):
the body models the logic validates with, path and query parameters with their patterns, every status answered."""

import json
import re

import pytest

from shared.core.models import TRACKING_NO_PATTERN
from shared.reporting import openapi as reports_openapi
from shared.reporting.records import AccountabilityIn, LawsuitUpdate
from shared.routing import openapi as cases_openapi
from shared.routing import workflow
from tests.support import load_service

DOCUMENTS = {"routing": cases_openapi.document, "reporting": reports_openapi.document}


def staff_document(service: str) -> dict:
    return DOCUMENTS[service](load_service(service).app.routes, "/x")


def operations(document: dict) -> list[tuple[str, str, dict]]:
    return [
        (path, method, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


@pytest.mark.parametrize("service", DOCUMENTS)
def test_every_bearer_route_states_its_refusals_with_the_error_envelope(service: str) -> None:
    # given the document of a staff service
    document = staff_document(service)
    bearer = [(path, method, op) for path, method, op in operations(document) if op.get("security") == [{"bearer": []}]]
    assert bearer
    for path, method, operation in bearer:
        # then each route with a bearer token answers 401 and 503 in the error envelope, and names a success
        for status in ("401", "503"):
            schema = operation["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, method, status)
        assert {"200", "201", "202", "204"} & operation["responses"].keys(), (path, method)
    # and every reference points at a schema the document has
    references = set(re.findall(r'"#/components/schemas/(\w+)"', json.dumps(document)))
    assert references <= document["components"]["schemas"].keys()


def test_each_workflow_action_is_its_own_path_with_its_body_model() -> None:
    # given the cases document
    document = staff_document("routing")
    schemas = document["components"]["schemas"]
    # then every action of the workflow table has a path of its own, its body the action's model
    for action in workflow.table().actions:
        operation = document["paths"][f"/{{tracking_no}}/actions/{action}"]["post"]
        model = workflow.BODIES[action].__name__
        assert operation["requestBody"]["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{model}"
        }
        assert {"400", "403", "404", "409", "415", "422"} <= operation["responses"].keys()
    # with the models' constraints: the case version at least 1, reasons not empty, departments from the list
    assert schemas["ActionBody"]["properties"]["version"] == {"minimum": 1, "title": "Version", "type": "integer"}
    assert schemas["ReasonBody"]["properties"]["reason"]["minLength"] == 1
    assert "JJDD" in schemas["ArbitrateBody"]["properties"]["department"]["enum"]
    # and the tracking number in the path has its pattern
    parameter = document["paths"]["/{tracking_no}"]["get"]["parameters"][0]
    assert parameter["schema"]["pattern"] == f"^{TRACKING_NO_PATTERN}$"


def test_queries_and_bodies_state_their_constraints() -> None:
    # given the cases document
    cases = staff_document("routing")
    # then the queue's query parameters are the query model's fields: statuses comma-separated, a bounded limit
    query = {parameter["name"]: parameter for parameter in cases["paths"]["/"]["get"]["parameters"]}
    assert (query["status"]["style"], query["status"]["explode"]) == ("form", False)
    assert query["limit"]["schema"]["maximum"] == 100 and query["view"]["schema"]["const"] == "triage"
    # and operator entry takes the staff channels only, with the Idempotency-Key header
    entry = cases["paths"]["/"]["post"]
    channel = cases["components"]["schemas"]["OperatorComplaintRequest"]["properties"]["channel"]
    assert "web" not in channel["enum"] and "hotline" in channel["enum"]
    assert {"Idempotency-Key"} == {p["name"] for p in entry["parameters"] if p["in"] == "header"}
    assert {"409", "413", "415", "422", "429"} <= entry["responses"].keys()
    # and the login states the lengths of its fields
    login = cases["components"]["schemas"]["LoginRequest"]["properties"]
    assert login["username"]["maxLength"] == 64 and login["totp"]["minLength"] == 1


def test_records_are_one_path_per_kind_and_reports_state_their_keys() -> None:
    # given the reports document
    document = staff_document("reporting")
    # then each kind of record is added and changed with its own model, and the kinds are listed where read
    added = document["paths"]["/records/accountability"]["post"]["requestBody"]["content"]["application/json"]
    assert added["schema"] == {"$ref": f"#/components/schemas/{AccountabilityIn.__name__}"}
    changed = document["paths"]["/records/lawsuits/{record_id}"]["put"]["requestBody"]["content"]["application/json"]
    assert changed["schema"] == {"$ref": f"#/components/schemas/{LawsuitUpdate.__name__}"}
    listed = document["paths"]["/records/{kind}"]["get"]["parameters"][0]
    assert listed["schema"]["enum"] == ["lawsuits", "accountability"]
    # and a report request states the shape of a period key and the scopes
    request = document["components"]["schemas"]["ReportRequest"]["properties"]
    period, scope = request["period"]["anyOf"][0], request["scope"]["anyOf"][0]
    assert re.fullmatch(period["pattern"], "week:2026-W21") and not re.fullmatch(period["pattern"], "week:21")
    assert {"county", "JJDD"} <= set(scope["enum"])
