"""Replaying a quarantined payload after a fix (shared/intake/replay.py): through the same intake logic, once."""

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from shared.core import filing, quarantine
from shared.core.dal.cases import CaseStore
from shared.core.errors import ApiError
from shared.core.mailer import mail_sender
from shared.core.models import Channel
from shared.core.settings import Settings
from shared.intake import replay

RECEIVED = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
COMPLAINT = {"description": "县市场监管局检查时索要好处费。", "complainant": {"phone": "13912345678"}}


def quarantined(settings: Settings, channel: Channel, body: bytes, content_type: str, code: str) -> str:
    """A payload archived and quarantined as intake does it (here: refused by a check since found wrong)."""
    raw_key = filing.archive_raw(settings, channel, body, content_type, RECEIVED)
    filing.reject(settings, channel, raw_key, ApiError(422, code, "提交的内容有误"), RECEIVED)
    return filing.raw_ref(raw_key)


def month() -> str:
    return f"{RECEIVED:%Y-%m}"


def test_a_replayed_payload_is_filed_once_as_of_when_it_came(aws: Settings) -> None:
    # given a JSON complaint quarantined by a check that has since been fixed
    reference = quarantined(aws, Channel.web, json.dumps(COMPLAINT).encode(), "application/json", "check_bug")
    # when it is replayed, twice
    entry = replay.find(aws, month(), reference)
    first = replay.replay(aws, entry, mail_sender(aws), datetime.now(UTC))
    second = replay.replay(aws, entry, mail_sender(aws), datetime.now(UTC))
    # then it is filed once, received when it came, and the second replay answers the same receipt
    assert first.status == 201 and second.replayed and second.body == first.body
    case = CaseStore(aws).get(first.body["tracking_no"])
    assert case is not None and case.received_at == RECEIVED and case.raw_key.endswith(reference)
    assert case.channel == Channel.web
    # and the quarantine entry names the complaint it became
    [listed] = [item for item in quarantine.month(aws, month()) if item.raw_key == entry.raw_key]
    assert listed.replayed_as == first.body["tracking_no"]


def test_a_quarantined_web_form_is_replayed_from_its_archived_fields(aws: Settings) -> None:
    # given a web form quarantined by a check that has since been fixed, archived with the form's content type
    form = urlencode({"description": COMPLAINT["description"], "who": "person", "phone": "13912345678"}).encode()
    reference = quarantined(aws, Channel.web, form, replay.FORM, "check_bug")
    # when it is replayed
    answer = replay.replay(aws, replay.find(aws, month(), reference), mail_sender(aws), datetime.now(UTC))
    # then the complaint is filed from the fields as they were sent
    assert answer.status == 201
    case = CaseStore(aws).get(answer.body["tracking_no"])
    assert case is not None and case.description == COMPLAINT["description"] and case.has_complainant


def test_a_payload_still_not_acceptable_is_quarantined_again(aws: Settings) -> None:
    # given a payload that is not JSON at all
    reference = quarantined(aws, Channel.web, b"not json", "application/json", "malformed_json")
    # when it is replayed
    answer = replay.replay(aws, replay.find(aws, month(), reference), mail_sender(aws), datetime.now(UTC))
    # then it is refused as intake refuses it, and listed again with today's reason
    assert (answer.status, answer.body["error"]["code"]) == (400, "malformed_json")
    again = [
        entry for entry in quarantine.month(aws, f"{datetime.now(UTC):%Y-%m}") if entry.raw_key.endswith(reference)
    ]
    assert again and again[-1].code == "malformed_json"


def test_sms_and_unknown_references_are_not_replayed(aws: Settings) -> None:
    # given a quarantined SMS push
    reference = quarantined(aws, Channel.sms, b"{}", "application/json", "invalid_push")
    # when it, and a reference nobody quarantined, are replayed / then each is refused with the reason
    with pytest.raises(replay.NotReplayable, match="operator entry"):
        replay.replay(aws, replay.find(aws, month(), reference), mail_sender(aws), datetime.now(UTC))
    with pytest.raises(replay.NotReplayable, match="no quarantined payload"):
        replay.find(aws, month(), "0000")
