"""Hotspots against moto: detection from the cluster days, the county legal office told once, the lifecycle with
its version guard, and GET /reports/hotspots ranked and scoped by role."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from chalice.app import ScheduledEventConfig
from chalice.test import Client

from infra import cli
from infra.local_stack import parse_schedule
from shared.core import auth, notices, queues
from shared.core.auth import Principal, Role
from shared.core.aws import client
from shared.core.dal.cases import CaseStore
from shared.core.dal.hotspots import HotspotStore
from shared.core.dal.stats import StatsStore
from shared.core.errors import ApiError
from shared.core.messages import Envelope
from shared.core.settings import Settings
from shared.intake.complaints import submit_complaint
from shared.reporting import hotspots
from shared.routing import cases_api, router
from tests.support import load_service, receive_all, requests_made, scheduled_event, sqs_event

# 10:00 in the county (UTC+8), outside the quiet hours.
NOW = datetime(2026, 6, 10, 2, tzinfo=UTC)
TODAY = date(2026, 6, 10)
PENALTIES = "deptcat:JJDD#penalty"
FEES = "deptcat:GAJ#fees"
LICENSING = "deptcat:SCJG#licensing"
OFFICER = "unit:县交警大队张三"
ADMIN = Principal(subject="fzb-1", name="李法制", role=Role.county_admin)


def put_days(settings: Settings, key: str, per_day: dict[int, int], tag: str = "A") -> None:
    """Cluster days as the statistics keep them: days back from TODAY -> complaints received that day."""
    store = StatsStore(settings)
    for back, count in per_day.items():
        day = TODAY - timedelta(days=back)
        store.put_cluster(day.isoformat(), key, {f"ZF{tag}{day:%m%d}{number:02d}" for number in range(count)})


def queued_notices(settings: Settings) -> list[Envelope]:
    bodies = [m["Body"] for m in receive_all(queues.queue_url(settings.notify_queue), client("sqs"))]
    return [Envelope.model_validate_json(body) for body in bodies]


def stored(settings: Settings) -> dict[str, hotspots.Hotspot]:
    found = [HotspotStore(settings).get(item["hotspot_id"]) for item in HotspotStore(settings).listed()]
    return {
        item["cluster_key"] + f"@{item['window_days']}": hotspots.Hotspot.model_validate(item) for item in found if item
    }


def test_a_cluster_over_the_threshold_opens_a_hotspot_and_the_county_office_is_told_once(aws: Settings) -> None:
    # given five penalties by the traffic police within the last 7 days
    put_days(aws, PENALTIES, {0: 2, 3: 2, 6: 1})
    # when the hourly detection runs
    summary = hotspots.detect(aws, NOW)
    # then one 7-day hotspot opens (the 30-day rules ask for more), titled in Chinese, linking the five cases
    assert len(summary.opened) == 1 and summary.opened[0].startswith("7d-")
    hotspot = stored(aws)[f"{PENALTIES}@7"]
    assert hotspot.title == "县公安局交通警察大队 · 行政处罚" and hotspot.department == "JJDD"
    assert (hotspot.status, hotspot.count, hotspot.previous_count, len(hotspot.cases)) == ("open", 5, 0, 5)
    assert hotspot.reasons == ["threshold", "rise"] and hotspot.notified_at is not None
    # and the county legal office's phones get one SMS each, naming the hotspot's window and count
    sent = queued_notices(aws)
    assert [message.data["phone"] for message in sent] == notices.legal_office_phones("FZB")
    assert sent[0].data["kind"] == "hotspot_opened"
    assert sent[0].data["values"] == {"title": "县公安局交通警察大队 · 行政处罚", "days": "7", "count": "5"}
    # when another complaint arrives and the next run comes
    put_days(aws, PENALTIES, {0: 3})
    later = hotspots.detect(aws, NOW + timedelta(hours=1))
    # then the same hotspot is updated, with the new case linked, and nobody is told again
    assert later.opened == [] and later.updated == 1
    again = stored(aws)[f"{PENALTIES}@7"]
    assert (again.hotspot_id, again.count, len(again.cases)) == (hotspot.hotspot_id, 6, 6)
    assert queued_notices(aws) == []


def test_a_rise_against_the_previous_window_opens_a_hotspot_below_the_threshold(aws: Settings) -> None:
    # given licensing complaints: 9 in the last 30 days (none in the last 7), 1 in the 30 days before;
    # and fee complaints: 9 now against 7 before
    put_days(aws, LICENSING, {back: 1 for back in range(8, 17)} | {35: 1})
    put_days(aws, FEES, {back: 1 for back in range(8, 17)} | {back: 1 for back in range(31, 38)}, tag="B")
    # when the detection runs
    summary = hotspots.detect(aws, NOW)
    # then the licensing cluster, nine times as many, opens a 30-day hotspot for its rise alone;
    # the fees, up by less than half, open nothing
    assert len(summary.opened) == 1 and summary.opened[0].startswith("30d-")
    hotspot = stored(aws)[f"{LICENSING}@30"]
    assert (hotspot.reasons, hotspot.count, hotspot.previous_count, hotspot.window_days) == (["rise"], 9, 1, 30)
    assert f"{FEES}@30" not in stored(aws)


def test_a_second_run_that_misses_the_open_hotspot_still_does_not_open_it_twice(aws: Settings, monkeypatch) -> None:
    # given a hotspot already opened
    put_days(aws, OFFICER, {0: 3})
    assert len(hotspots.detect(aws, NOW).opened) == 1
    queued_notices(aws)
    # when a run starts whose read of the open hotspots is behind (as an index read may be)
    monkeypatch.setattr(HotspotStore, "listed", lambda self, opened_before=None: [])
    summary = hotspots.detect(aws, NOW + timedelta(minutes=1))
    # then the conditional write refuses the same hotspot again: still one, told once
    assert summary.opened == []
    monkeypatch.undo()
    assert len(stored(aws)) == 1 and queued_notices(aws) == []


def test_a_hotspot_found_in_the_quiet_hours_is_told_after_them(aws: Settings) -> None:
    # given a unit complained about three times, found at 23:00 county time
    put_days(aws, OFFICER, {0: 3})
    night = hotspots.detect(aws, datetime(2026, 6, 10, 15, tzinfo=UTC))
    # then it opens but no SMS goes out at night
    assert night.quiet_hours and len(night.opened) == 1 and queued_notices(aws) == []
    # when the first run after 08:00 comes, and the one after it
    morning = hotspots.detect(aws, datetime(2026, 6, 11, 0, 30, tzinfo=UTC))
    hotspots.detect(aws, datetime(2026, 6, 11, 1, 30, tzinfo=UTC))
    # then the county office is told then, once
    assert morning.notified == 1
    assert len(queued_notices(aws)) == len(notices.legal_office_phones("FZB"))


def test_after_resolution_only_new_complaints_open_a_new_hotspot(aws: Settings) -> None:
    # given a hotspot the county office resolved
    put_days(aws, PENALTIES, {0: 5})
    first = hotspots.detect(aws, NOW).opened[0]
    hotspots.change_status(
        aws, ADMIN, first, json.dumps({"version": 1, "status": "resolved", "note": "已整改"}).encode(), now=NOW
    )
    # when the next run sees the same complaints still in the window
    # then nothing opens again
    assert hotspots.detect(aws, NOW + timedelta(hours=1)).opened == []
    # when five more complaints come in the days after the resolution
    StatsStore(aws).put_cluster("2026-06-11", PENALTIES, {f"ZFN{number}" for number in range(3)})
    StatsStore(aws).put_cluster("2026-06-12", PENALTIES, {f"ZFM{number}" for number in range(2)})
    flare = hotspots.detect(aws, NOW + timedelta(days=2))
    # then a new 7-day hotspot opens for the flare, with only the new complaints (the ten of the month are a
    # 30-day hotspot of their own)
    assert [number for number in flare.opened if number.startswith("7d-")] == [first.removesuffix("-1") + "-2"]
    new = hotspots.Hotspot.model_validate(HotspotStore(aws).get(first.removesuffix("-1") + "-2"))
    assert new.count == 5 and all(number.startswith(("ZFN", "ZFM")) for number in new.cases)
    assert HotspotStore(aws).get(first)["status"] == "resolved"  # type: ignore[index]


def test_complaints_routed_and_counted_by_the_aggregate_consumer_become_a_unit_hotspot(aws: Settings) -> None:
    # given three complaints about one officer, written three ways, received, routed and counted as in production
    texts = ["交警罚款两百元不开收据", "交警罚款后不给罚单", "交警乱罚款，态度恶劣"]
    for text, respondent in zip(texts, ["县交警大队 张三", "县交警大队张三", "县交警大队张三。"], strict=True):
        body = json.dumps({"description": text, "respondent": respondent}).encode()
        assert submit_complaint(aws, body, "application/json", None, now=NOW - timedelta(hours=3)).status == 201
        message = receive_all(queues.queue_url(aws.intake_queue), client("sqs"))[-1]["Body"]
        router.route_complaint(aws, Envelope.model_validate_json(message), now=NOW - timedelta(hours=2))
    events = [m["Body"] for m in receive_all(queues.queue_url(aws.events_queue), client("sqs"))]
    with Client(load_service("reporting").app) as reporting:
        answer = reporting.lambda_.invoke("count_case_events", sqs_event(events))
    assert answer.payload == {"batchItemFailures": []}
    # when the detection runs
    opened = hotspots.detect(aws, NOW).opened
    # then the officer is one hotspot of three cases, under his unit's department
    hotspot = stored(aws)[f"{OFFICER}@7"]
    assert hotspot.hotspot_id in opened and hotspot.kind == "unit"
    assert (hotspot.title, hotspot.department, hotspot.count, len(hotspot.cases)) == ("县交警大队张三", "JJDD", 3, 3)
    # when the county legal office gives one of the cases to the market regulator
    moved = hotspot.cases[0]
    version = CaseStore(aws).get(moved).version  # type: ignore[union-attr]
    cases_api.act(aws, ADMIN, moved, "reassign", json.dumps({"version": version, "department": "SCJG"}).encode())
    # then the unit's department sees the hotspot with its own two cases only, the county office all three
    officer = Principal(subject="jjdd", name="交警", role=Role.dept_officer, department="JJDD")
    shown = hotspots.get_hotspot(aws, officer, hotspot.hotspot_id)
    assert shown["cases"] == hotspot.cases[1:]
    assert hotspots.get_hotspot(aws, ADMIN, hotspot.hotspot_id)["cases"] == hotspot.cases


# --- the API -------------------------------------------------------------------------------------------------------


@pytest.fixture
def reporting(aws: Settings):
    with Client(load_service("reporting").app) as test_client:
        yield test_client.http


def bearer(settings: Settings, role: Role = Role.county_admin, department: str | None = None) -> dict:
    return {"Authorization": f"Bearer {auth.issue_development_token(settings, role, department)}"}


def call(http, method: str, path: str, headers: dict, body: dict | None = None) -> tuple[int, dict]:
    if body is None:
        response = http.get(path, headers=headers)
    else:
        response = http.post(path, headers={**headers, "Content-Type": "application/json"}, body=json.dumps(body))
    return response.status_code, json.loads(response.body)


def three_hotspots(settings: Settings) -> dict[str, str]:
    """Penalties by the traffic police (6), an officer of theirs (3), the police's fees (5, tracked with media)."""
    put_days(settings, PENALTIES, {0: 6})
    put_days(settings, OFFICER, {1: 3}, tag="B")
    put_days(settings, FEES, {2: 5}, tag="C")
    hotspots.detect(settings, NOW)
    ids = {key.split("@")[0]: item.hotspot_id for key, item in stored(settings).items()}
    body = json.dumps({"version": 1, "status": "tracking", "note": "与县电视台联合跟踪"}).encode()
    hotspots.change_status(settings, ADMIN, ids[FEES], body)
    return ids


def test_hotspots_are_ranked_and_each_role_sees_its_own(reporting, aws: Settings) -> None:
    # given three hotspots, one of them tracked with the media
    ids = three_hotspots(aws)

    def listed(role: Role, department: str | None = None, query: str = "") -> list[dict]:
        status, body = call(reporting, "GET", f"/hotspots{query}", bearer(aws, role, department))
        assert status == 200
        return body["items"]

    # when each role lists them
    # then the county office and the auditors see all, open ones first by count, then the tracked one
    expected = [ids[PENALTIES], ids[OFFICER], ids[FEES]]
    assert [item["hotspot_id"] for item in listed(Role.county_admin)] == expected
    assert [item["hotspot_id"] for item in listed(Role.auditor)] == expected
    # and a department sees its own only (the officer files under the traffic police by his unit's name)
    assert [item["hotspot_id"] for item in listed(Role.dept_head, "JJDD")] == [ids[PENALTIES], ids[OFFICER]]
    assert [item["hotspot_id"] for item in listed(Role.dept_officer, "GAJ")] == [ids[FEES]]
    assert listed(Role.dept_officer, "SCJG") == []
    # and the media only the one tracked with them, without case numbers or internal notes
    media = listed(Role.media)
    assert [item["hotspot_id"] for item in media] == [ids[FEES]]
    assert "cases" not in media[0] and "history" not in media[0] and media[0]["status_name"] == "媒体跟踪中"
    # and filters narrow the list; a bad one is a 422
    assert [item["hotspot_id"] for item in listed(Role.county_admin, query="?kind=unit")] == [ids[OFFICER]]
    assert [item["hotspot_id"] for item in listed(Role.county_admin, query="?status=tracking")] == [ids[FEES]]
    assert listed(Role.county_admin, query="?window=30") == []
    status, body = call(reporting, "GET", "/hotspots?window=week", bearer(aws))
    assert status == 422 and body["error"]["fields"][0]["field"] == "window"
    # and one hotspot outside a caller's view is not found, nor is one that does not exist
    assert call(reporting, "GET", f"/hotspots/{ids[PENALTIES]}", bearer(aws, Role.dept_head, "GAJ"))[0] == 404
    assert call(reporting, "GET", f"/hotspots/{ids[PENALTIES]}", bearer(aws, Role.media))[0] == 404
    assert call(reporting, "GET", "/hotspots/7d-nothing-1", bearer(aws))[0] == 404
    assert call(reporting, "GET", "/hotspots", {})[0] == 401


def test_the_lifecycle_is_audited_and_guarded_by_the_version(reporting, aws: Settings) -> None:
    # given an open hotspot
    ids = three_hotspots(aws)
    path = f"/hotspots/{ids[PENALTIES]}"
    # when the county office moves it to tracking with the media
    status, body = call(
        reporting, "POST", f"{path}/status", bearer(aws), {"version": 1, "status": "tracking", "note": "媒体跟进"}
    )
    # then it is tracked, its version counted up and the change in its history with who and why
    assert status == 200 and (body["status"], body["version"]) == ("tracking", 2) and body["tracking_at"]
    assert [(entry["to_status"], entry["note"]) for entry in body["history"]] == [
        ("open", "系统识别为热点"),
        ("tracking", "媒体跟进"),
    ]
    assert body["history"][-1]["actor_role"] == "county_admin"
    # when someone acts on the version they saw before that
    status, body = call(
        reporting, "POST", f"{path}/status", bearer(aws), {"version": 1, "status": "resolved", "note": "已整改"}
    )
    # then it is refused as stale
    assert status == 409 and body["error"]["code"] == "version_conflict"
    # when it is resolved on the current version, and then someone tries to reopen it
    assert (
        call(reporting, "POST", f"{path}/status", bearer(aws), {"version": 2, "status": "resolved", "note": "已整改"})[
            0
        ]
        == 200
    )
    status, body = call(
        reporting, "POST", f"{path}/status", bearer(aws), {"version": 3, "status": "open", "note": "再议"}
    )
    # then resolved is final
    assert status == 409 and body["error"]["code"] == "invalid_transition"
    # and only the county office changes hotspots, always with a note, in JSON
    assert (
        call(
            reporting,
            "POST",
            f"{path}/status",
            bearer(aws, Role.auditor),
            {"version": 3, "status": "open", "note": "x"},
        )[0]
        == 403
    )
    status, body = call(
        reporting, "POST", f"/hotspots/{ids[OFFICER]}/status", bearer(aws), {"version": 1, "status": "tracking"}
    )
    assert status == 422 and body["error"]["fields"][0]["field"] == "note"
    response = reporting.post(f"/hotspots/{ids[OFFICER]}/status", headers=bearer(aws), body=b"{not json")
    assert response.status_code == 400
    with pytest.raises(ApiError) as refused:
        hotspots.change_status(aws, Principal(subject="m", name="记者", role=Role.media), ids[FEES], b"{}")
    assert refused.value.status == 403


def test_the_reports_get_the_hotspots_open_during_their_period(aws: Settings) -> None:
    # given three hotspots opened on 10 June, one of them resolved the same day
    ids = three_hotspots(aws)
    body = json.dumps({"version": 1, "status": "resolved", "note": "已整改"}).encode()
    hotspots.change_status(aws, ADMIN, ids[OFFICER], body, now=NOW + timedelta(hours=1))
    # when the reports ask for periods around it
    june = hotspots.summaries(aws, date(2026, 6, 1), date(2026, 6, 30))
    before = hotspots.summaries(aws, date(2026, 5, 1), date(2026, 6, 9))
    after = hotspots.summaries(aws, date(2026, 6, 11), date(2026, 6, 20))
    police = hotspots.summaries(aws, date(2026, 6, 1), date(2026, 6, 30), department="GAJ")
    # then a period sees the hotspots open in it, ranked (resolved last), with their figures and cases
    assert [item.hotspot_id for item in june] == [ids[PENALTIES], ids[FEES], ids[OFFICER]]
    assert june[0].count == 6 and len(june[0].cases) == 6 and june[0].window_days == 7
    assert before == []
    assert [item.hotspot_id for item in after] == [ids[PENALTIES], ids[FEES]]
    assert [item.hotspot_id for item in police] == [ids[FEES]]


def test_every_status_is_one_query_and_each_status_its_own_part_of_it(aws: Settings) -> None:
    # given three hotspots: two open, one resolved an hour later
    ids = three_hotspots(aws)
    body = json.dumps({"version": 2, "status": "resolved", "note": "已整改"}).encode()
    hotspots.change_status(aws, ADMIN, ids[FEES], body, now=NOW + timedelta(hours=1))
    store = HotspotStore(aws)
    # when a report reads the hotspots of its period, and the store lists one status at a time
    with requests_made("dynamodb") as made:
        summaries = hotspots.summaries(aws, date(2026, 6, 1), date(2026, 6, 30))
    # then one Query read all three, whatever their status
    assert [operation for operation, _ in made] == ["dynamodb.Query"] and len(summaries) == 3
    # and each status lists its own, none of another status with a name that starts the same
    assert {item["hotspot_id"] for item in store.by_status("open")} == {ids[PENALTIES], ids[OFFICER]}
    assert [item["hotspot_id"] for item in store.by_status("resolved")] == [ids[FEES]]
    assert store.by_status("tracking") == []
    # and opened before a time means strictly before it, in one status and in all
    opened = str(store.get(ids[PENALTIES])["opened_at"])  # type: ignore[index]
    assert store.by_status("open", opened_before=opened) == [] and store.listed(opened_before=opened) == []
    later = (NOW + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    assert len(store.by_status("open", opened_before=later)) == 2 and len(store.listed(opened_before=later)) == 3


def test_hotspots_listed_the_earlier_way_are_found_again_once_moved(aws: Settings, capsys) -> None:
    # given three hotspots whose listing keys are one partition per status, as the previous version wrote them
    ids = three_hotspots(aws)
    for hotspot_id in ids.values():
        item = HotspotStore(aws).get(hotspot_id)
        assert item is not None
        earlier = {":pk": {"S": f"HOTSPOTS#{item['status']}"}, ":sk": {"S": f"{item['opened_at']}#{hotspot_id}"}}
        client("dynamodb").update_item(
            TableName=aws.cases_table,
            Key={"pk": {"S": f"HOTSPOT#{hotspot_id}"}, "sk": {"S": "HOTSPOT"}},
            UpdateExpression="SET gsi2pk = :pk, gsi2sk = :sk",
            ExpressionAttributeValues=earlier,
        )
    assert hotspots.summaries(aws, date(2026, 6, 1), date(2026, 6, 30)) == []
    # when the listing is moved, twice (from the command line)
    assert cli.main(["move-hotspot-listing", "--aws"]) == 0
    assert cli.main(["move-hotspot-listing", "--aws"]) == 0
    # then the first moved all three and the second found nothing to move
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[-2:]] == ["3", "0"]
    # and reports, the list by status and the next detection see them again (the detection opens none twice)
    assert len(hotspots.summaries(aws, date(2026, 6, 1), date(2026, 6, 30))) == 3
    assert [item["hotspot_id"] for item in HotspotStore(aws).by_status("tracking")] == [ids[FEES]]
    assert hotspots.detect(aws, NOW + timedelta(hours=1)).opened == []


def test_hotspot_detect_hotspots_runs_the_detection_as_of_a_time(aws: Settings, capsys) -> None:
    # given a cluster over the threshold
    put_days(aws, PENALTIES, {0: 5})
    # when the command runs as of 10:00 county time
    code = cli.main(["detect-hotspots", "--at", "2026-06-10T10:00", "--aws"])
    # then it opens the hotspot and prints its id and the counts, no names
    out = capsys.readouterr().out
    assert code == 0
    opened = next(iter(stored(aws).values())).hotspot_id
    assert f"opened {opened}" in out and "opened 1" in out and "县" not in out


def test_the_detection_runs_hourly_and_the_local_stack_can_fire_it(aws: Settings) -> None:
    # given the reporting app / when its schedules are listed
    app = load_service("reporting").app
    schedules = {s.name: s for s in app.event_sources if isinstance(s, ScheduledEventConfig)}
    # then the detection is an hourly schedule the local stack's clock understands, and it runs as a Lambda
    expression = schedules["detect_hotspots"].schedule_expression
    text = expression if isinstance(expression, str) else expression.to_string()
    assert text == "rate(1 hour)"
    start = datetime(2026, 6, 10, tzinfo=UTC)
    assert parse_schedule(text, origin=start).next_after(start) == start + timedelta(hours=1)
    with Client(app) as test_client:
        result = test_client.lambda_.invoke("detect_hotspots", scheduled_event())
    assert result.payload["opened"] == [] and result.payload["days_read"] == 60
