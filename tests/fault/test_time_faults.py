"""Times as stored and answered: every stored time in UTC, whatever offset a caller gave (an operator's
`+08:00` sorted 8 hours wrong in the index the sweeper reads), and every answer in RFC 3339."""

import json
import re
from datetime import datetime, timedelta

from chalice.test import Client

from shared.core.auth import Role
from shared.core.aws import client
from shared.core.dal.cases import case_key
from shared.core.reference_data import county_timezone
from shared.core.settings import Settings
from tests.integration.routing.test_operator_entry import bearer, enter
from tests.support import load_service

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def test_an_operators_local_time_is_stored_in_utc_and_answered_in_rfc3339(aws: Settings) -> None:
    # given a call taken at 10:00 county time yesterday, entered with the county's offset
    taken = (datetime.now(county_timezone()) - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    with Client(load_service("routing").app) as routing:
        headers = bearer(aws, Role.dept_officer, "JJDD")
        status, body = enter(routing.http, headers, received_at=taken.isoformat())
        assert status == 201, body
        number = body["tracking_no"]
        # when the case is stored
        item = client("dynamodb").get_item(TableName=aws.cases_table, Key=case_key(number))["Item"]
        # then its time and its index key are in UTC
        assert datetime.fromisoformat(item["received_at"]["S"]).utcoffset() == timedelta(0)
        assert item["gsi2sk"]["S"].startswith(item["received_at"]["S"]) and "+08:00" not in item["gsi2sk"]["S"]
        # when the case is listed and read
        admin = bearer(aws, Role.county_admin)
        listed = json.loads(routing.http.get(f"/?tracking_no={number}", headers=admin).body)
        detail = json.loads(routing.http.get(f"/{number}", headers=admin).body)
    # then both answer the same instant in RFC 3339, UTC
    listed_at = next(case["received_at"] for case in listed["items"] if case["tracking_no"] == number)
    detail_at = detail["case"]["received_at"]
    assert RFC3339_UTC.match(listed_at) and listed_at == detail_at
    assert datetime.fromisoformat(detail_at) == taken
