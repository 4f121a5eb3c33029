"""The words of every SMS the system sends: a message is a kind and its values (`Sms`), not a text.

`shared/data/sms_templates.json` holds the Chinese text of each kind (what SNS sends, and what the Twilio reply
carries) and, per domestic provider, the approved template code each kind is sent as and which value fills which
variable; the file is checked when read. Used by the routing service's senders (shared/routing/sms.py) and by
intake's SMS replies (shared/intake/sms_inbound.py).
"""

import string
from functools import cache

from pydantic import BaseModel, model_validator

from shared.core import reference_data


class Sms(BaseModel):
    """One message: its kind (a key of the templates file) and the values of its placeholders."""

    kind: str
    values: dict[str, str] = {}


class AliyunTemplate(BaseModel):
    code: str
    params: dict[str, str]  # Aliyun's variable name -> our placeholder


class TencentTemplate(BaseModel):
    code: str
    params: list[str]  # our placeholders for {1}, {2}, ...


class AliyunTemplates(BaseModel):
    templates: dict[str, AliyunTemplate]


class TencentTemplates(BaseModel):
    sdk_app_id: str
    region: str
    templates: dict[str, TencentTemplate]


class Providers(BaseModel):
    aliyun: AliyunTemplates
    tencent: TencentTemplates


class SmsTemplates(BaseModel):
    sign_name: str
    texts: dict[str, str]
    providers: Providers

    @model_validator(mode="after")
    def _every_placeholder_is_mapped(self) -> "SmsTemplates":
        # A template that drops or invents a placeholder would send a different message per provider.
        for kind, text in self.texts.items():
            wanted = placeholders(text)
            aliyun = self.providers.aliyun.templates.get(kind)
            tencent = self.providers.tencent.templates.get(kind)
            if aliyun is None or tencent is None:
                raise ValueError(f"{kind}: no template code for every provider")
            for provider, mapped in (("aliyun", list(aliyun.params.values())), ("tencent", tencent.params)):
                if sorted(mapped) != sorted(wanted):
                    raise ValueError(f"{kind}: {provider} maps {sorted(mapped)}, the text has {sorted(wanted)}")
        return self

    @property
    def signature(self) -> str:
        return f"【{self.sign_name}】"


def placeholders(text: str) -> set[str]:
    """The placeholders a text has, but the signature (which providers add from SignName)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name and name != "signature"}


@cache
def templates() -> SmsTemplates:
    return SmsTemplates.model_validate(reference_data.load_json("sms_templates.json"))


def render(sms: Sms) -> str:
    """The text as the recipient reads it, signature included."""
    rules = templates()
    return rules.texts[sms.kind].format(signature=rules.signature, **sms.values)
