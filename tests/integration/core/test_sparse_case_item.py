"""A case's item leaves out its flags and lists at their empty default (dal.cases.SPARSE_FIELDS), and reads back
as the same case: over moto, with the conditions and updates that name those attributes."""

from datetime import UTC, datetime

from shared.core.aws import client
from shared.core.dal.cases import SPARSE_FIELDS, CaseStore, case_item, case_key
from shared.core.models import AuditEvent, Case, Channel
from shared.core.settings import Settings

RECEIVED = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def _case(tracking_no: str, **values: object) -> Case:
    return Case(
        tracking_no=tracking_no,
        channel=Channel.web,
        received_at=RECEIVED,
        description="县市场监管局的执法人员一个月内到我们超市检查了三次。",
        raw_key="raw/web/2026/11/27/x",
        verification_hash="ab" * 32,
        **values,
    )


def _stored(settings: Settings, case: Case) -> dict:
    event = AuditEvent(
        tracking_no=case.tracking_no,
        version=1,
        at=RECEIVED,
        actor="channel:web",
        action="receive",
        to_status=case.status,
    )
    CaseStore(settings).create(case, None, event, None, [])
    return client("dynamodb").get_item(TableName=settings.cases_table, Key=case_key(case.tracking_no))["Item"]


def test_a_new_case_is_stored_without_its_empty_flags_and_lists_and_reads_back_the_same(aws: Settings) -> None:
    # given a new complaint that sets none of the flags and lists
    case = _case("JY2611270001")
    # when it is stored
    item = _stored(aws, case)
    # then its item has none of them, is smaller than with them, and reads back as the same case
    assert {"reminders_sent", "merged_cases", "media_followup", "deadline_provisional"} <= SPARSE_FIELDS
    assert not SPARSE_FIELDS & item.keys()
    assert len(item) < len(case.model_dump(exclude_none=True))
    assert CaseStore(aws).get(case.tracking_no) == case


def test_flags_and_lists_that_are_set_are_stored(aws: Settings) -> None:
    # given a case with attachments, an anonymous sender and a media follow-up
    case = _case("JY2611270002", attachments=["attachments/a.jpg"], anonymous=True, media_followup=True)
    # when it is stored
    item = _stored(aws, case)
    # then those are in its item, and it reads back the same
    assert item["attachments"] == {"L": [{"S": "attachments/a.jpg"}]}
    assert item["anonymous"] == {"BOOL": True} and item["media_followup"] == {"BOOL": True}
    assert "merged_cases" not in item
    assert CaseStore(aws).get(case.tracking_no) == case
    assert case_item(case)["attachments"] == item["attachments"]


def test_a_reminder_is_noted_once_on_a_case_stored_without_any(aws: Settings) -> None:
    # given a case whose item has no reminders_sent at all
    case = _case("JY2611270003")
    assert "reminders_sent" not in _stored(aws, case)
    store = CaseStore(aws)
    # when the same reminder is noted twice
    first, second = store.add_reminder(case.tracking_no, "due-3d"), store.add_reminder(case.tracking_no, "due-3d")
    # then it is noted once: the condition on the absent list held, and on the list written then it did not
    assert (first, second) == (True, False)
    read = store.get(case.tracking_no)
    assert read is not None and read.reminders_sent == ["due-3d"]
