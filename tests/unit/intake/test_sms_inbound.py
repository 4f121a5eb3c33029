"""SMS intake logic without AWS: segment counting, reply texts, query parsing, provider formats, signatures."""

import pytest
from pydantic import ValidationError
from twilio.request_validator import RequestValidator

from shared.core import sms_text
from shared.intake import sms_inbound
from shared.intake.sms_inbound import AliyunMessage, Provider, TencentMessage, TwilioMessage


@pytest.mark.parametrize(("length", "expected"), [(0, 0), (1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (160, 3)])
def test_segments_are_counted_as_domestic_providers_count(length: int, expected: int) -> None:
    # given a text of some length / when its segments are counted / then 70 fit one, longer ones go by 67
    assert sms_inbound.segments("字" * length) == expected


def test_the_receipt_reply_fits_one_segment_with_the_signature() -> None:
    # given the longest receipt: a full tracking number and code
    text = sms_text.render(sms_inbound.reply("sms_receipt", tracking_no="ZF261127123456", code="123456"))
    # then it carries both, starts with the signature and fits one SMS
    assert text.startswith("【") and "ZF261127123456" in text and "123456" in text
    assert sms_inbound.segments(text) == 1, len(text)


@pytest.mark.parametrize("name", ["sms_supplement", "sms_not_found", "sms_too_many"])
def test_the_other_fixed_replies_fit_one_segment(name: str) -> None:
    text = sms_text.render(sms_inbound.reply(name, tracking_no="ZF261127123456"))
    assert sms_inbound.segments(text) == 1, len(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("查询 ZF261127123456 123456", ("ZF261127123456", "123456")),
        ("查询zf261127123456，123456", ("ZF261127123456", "123456")),
        ("查询：ＺＦ２６１１２７１２３４５６　１２３４５６", ("ZF261127123456", "123456")),
        ("查询 ZF261127123456", ("ZF261127123456", None)),
        ("查询一下乱罚款的事情", None),
        ("查询", None),
        ("我要投诉 ZF261127123456 123456", None),
        ("查询 ZF261127123456 123456 还有交警乱罚款", None),
    ],
)
def test_query_texts_are_recognised(text: str, expected: tuple[str, str | None] | None) -> None:
    # given a text / when it is read as a query / then only keyword + tracking number (+ code) is one
    assert sms_inbound.parse_query(text) == expected


def test_a_twilio_form_is_read_into_one_model() -> None:
    # given Twilio's parameters for a text from a mainland mobile
    params = {
        "MessageSid": "SM1",
        "From": "+8613912345678",
        "To": "+15005550006",
        "Body": " 交警乱罚款\u200b ",
        "X": "",
    }
    # when it is read
    message = TwilioMessage.model_validate(params).inbound()
    # then the mainland number is normalised and the invisible characters dropped
    assert (message.provider, message.message_id, message.phone, message.text) == (
        Provider.twilio,
        "SM1",
        "13912345678",
        "交警乱罚款",
    )


def test_a_foreign_number_is_kept_as_given() -> None:
    message = TwilioMessage.model_validate({"MessageSid": "SM2", "From": "+14155550100", "Body": "hi"}).inbound()
    assert message.phone == "+14155550100"
    assert sms_inbound.e164(message.phone) == "+14155550100"
    assert sms_inbound.e164("13912345678") == "+8613912345678"


def test_aliyun_sequence_ids_may_be_numbers_or_strings() -> None:
    item = {"phone_number": "13912345678", "send_time": "2026-05-20 10:00:00", "content": "有问题", "dest_code": "1"}
    assert AliyunMessage.model_validate({**item, "sequence_id": 1234567890}).inbound().message_id == "1234567890"
    assert AliyunMessage.model_validate({**item, "sequence_id": "1234567890"}).inbound().message_id == "1234567890"


def test_tencent_messages_get_a_stable_id_from_their_content() -> None:
    # given the same reply callback twice, and one with other text
    body = {"extend": "", "mobile": "13912345678", "nationcode": "86", "sign": "靖宇县", "text": "乱收费", "time": 1}
    first = TencentMessage.model_validate(body).inbound()
    again = TencentMessage.model_validate(dict(body)).inbound()
    other = TencentMessage.model_validate({**body, "text": "乱罚款"}).inbound()
    # then a retry has the same id and another text another one; foreign numbers get their country code
    assert first.message_id == again.message_id != other.message_id
    assert first.phone == "13912345678"
    assert TencentMessage.model_validate({**body, "nationcode": "852", "mobile": "91234567"}).phone() == "+85291234567"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("\u200b\u200d ", "invalid_empty_text"),
        ("\x00\x07\x1b", "invalid_empty_text"),
        ("长" * 1601, "invalid_text_too_long"),
    ],
)
def test_unusable_texts_are_refused(body: str, code: str) -> None:
    with pytest.raises(ValidationError) as raised:
        TwilioMessage.model_validate({"MessageSid": "SM3", "From": "+8613912345678", "Body": body})
    assert raised.value.errors()[0]["type"] == code


def test_control_characters_are_dropped_from_a_text() -> None:
    # given an SMS whose text starts with control characters before a formula
    message = TwilioMessage.model_validate(
        {"MessageSid": "SM5", "From": "+8613912345678", "Body": "\x01\x1b=1+1乱罚款"}
    )
    # then what is kept is the text without them
    assert message.inbound().text == "=1+1乱罚款"


def test_twilio_signature_is_checked_as_the_twilio_package_signs() -> None:
    # given a request signed by Twilio's own validator, URL with and without the default port
    url = "https://example.gov.cn/intake/sms/twilio"
    params = {"MessageSid": ["SM4"], "From": ["+8613912345678"], "Body": ["乱罚款 & <收费>"], "FromCity": [""]}
    flat = {name: values[0] for name, values in params.items()}
    signature = RequestValidator("secret").compute_signature(url, flat)
    with_port = RequestValidator("secret").compute_signature("https://example.gov.cn:443/intake/sms/twilio", flat)
    # then ours accepts both, and refuses another token, URL or body
    assert sms_inbound.valid_twilio_signature("secret", url, params, signature)
    assert sms_inbound.valid_twilio_signature("secret", url, params, with_port)
    assert not sms_inbound.valid_twilio_signature("other", url, params, signature)
    assert not sms_inbound.valid_twilio_signature("secret", url + "x", params, signature)
    assert not sms_inbound.valid_twilio_signature("secret", url, {**params, "Body": ["别的"]}, signature)
