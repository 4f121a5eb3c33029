"""SMS out. One interface, the provider chosen by configuration (DESIGN.md, section 2).

A message is a kind and its values (`Sms`), not a text: SNS sends our Chinese text (shared/data/sms_templates.json),
while the domestic providers, which AWS's China regions need since SNS cannot text from there, send only templates
approved in their consoles, so each kind maps to a template code and its parameters (the same file).

- SNS: `Publish` to the phone number, transactional.
- Aliyun Dysms `SendSms` (RPC API, version 2017-05-25): a form POST whose parameters are signed with HMAC-SHA1
  (signature version 1.0) over `POST&%2F&` + the percent-encoded canonical query string, keyed with the
  AccessKey secret followed by `&`. Success is `{"Code": "OK", "BizId": ...}`; anything else is an error.
- Tencent Cloud SMS `SendSms` (API 3.0, version 2021-01-11): a JSON POST signed with TC3-HMAC-SHA256 (a canonical
  request over the content-type and host headers and the body's SHA-256, a key derived from the secret key, the
  UTC date, the service and `tc3_request`). Errors are `{"Response": {"Error": {...}}}`, and each number has its
  own status in `SendStatusSet` (`Code` "Ok" when sent).

Credentials come from a Secrets Manager secret (`sms_secret`), read at the first send. A provider error raises
`SmsError`, so that the notification consumer fails the message: retried, then dead-lettered.
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
