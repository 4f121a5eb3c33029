"""The SMS texts and their templates at the domestic providers (shared/data/sms_templates.json)."""

import pytest
from pydantic import ValidationError

from shared.core import sms_text
from shared.intake.sms_inbound import segments

# The longest values each placeholder takes in practice.
LONG_VALUES = {
    "tracking_no": "ZF261127123456",
    "code": "123456",
    "due": "11月27日17:00",
    "department": "县公安局交警大队",
    "status": "已受理办理中",
    "reason": "不属于行政执法事项范围",
    "outcome": "情况属实已责令整改",
    "message": "请于周五前携票据到交警大队法制室说明情况，电话0439-1234567",
    "material": "总结及经验材料",
    "title": "白山市生态环境局靖宇县分局 · 经济发展环境执…",
    "days": "30",
    "count": "128",
    "alarm": "routing-SendNotifications-thro",
    "state": "运行失败",
}


@pytest.mark.parametrize("kind", sorted(sms_text.templates().texts))
def test_every_text_fits_one_segment_with_the_signature(kind: str) -> None:
    # given a kind of message with long values
    message = sms_text.Sms(
        kind=kind, values={name: LONG_VALUES[name] for name in sms_text.placeholders(sms_text.templates().texts[kind])}
    )
    # when it is rendered as SNS sends it
    text = sms_text.render(message)
    # then it starts with the signature, carries every value and fits one 70-character SMS
    assert text.startswith("【靖宇县法制办】")
    assert all(value in text for value in message.values.values())
    assert segments(text) == 1, len(text)


def test_the_complainant_notices_the_workflow_sends_have_texts_and_templates() -> None:
    # given the notices issue 4 asks for / then each has a text and a template code at both providers
    kinds = {"acknowledgement", "accepted", "not_accepted", "extension", "reply", "review"}
    rules = sms_text.templates()
    assert kinds <= set(rules.texts)
    assert kinds <= set(rules.providers.aliyun.templates) and kinds <= set(rules.providers.tencent.templates)


def test_a_provider_template_that_does_not_map_every_placeholder_is_refused() -> None:
    # given the templates file with Tencent's reminder template missing the due date
    data = sms_text.templates().model_dump()
    data["providers"]["tencent"]["templates"]["acceptance_due_soon"]["params"] = ["tracking_no"]
    # when it is read / then it is refused, naming the kind
    with pytest.raises(ValidationError, match="acceptance_due_soon: tencent"):
        sms_text.SmsTemplates.model_validate(data)


def test_a_text_without_provider_templates_is_refused() -> None:
    # given a new text no provider has a template for
    data = sms_text.templates().model_dump()
    data["texts"]["new_kind"] = "{signature}新的通知{tracking_no}。"
    # when it is read / then it is refused
    with pytest.raises(ValidationError, match="new_kind: no template code"):
        sms_text.SmsTemplates.model_validate(data)
