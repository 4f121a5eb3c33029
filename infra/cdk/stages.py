"""Stage files: `infra/stages/<stage>.json`, the non-secret settings of one deployment.

A stage is a name plus its file. The name scopes every resource (`hotspot-<stage>-…`), so two stages live side
by side in one account and region. The file says the region and what differs by partition: AWS's China regions
(aws-cn) have no SNS SMS, no SES, no Cognito user pools and no X-Ray for Lambda, which the model refuses there.
"""

import json
import os
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

STAGES_DIR = Path(__file__).resolve().parents[1] / "stages"

# Bucket names carry the stage, account and region and must stay within S3's 63 characters.
STAGE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,15}$")
# The retention periods CloudWatch Logs offers, from six months on.
LOG_RETENTION_DAYS = (180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
CERTIFICATE_ARN = re.compile(r"^arn:(aws|aws-cn):acm:([a-z0-9-]+):(\d{12}):certificate/([0-9a-f-]+)$")


class Domain(BaseModel):
    """The public address: API Gateway maps /intake, /cases and /reports of this name onto the three APIs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9.-]+\.[a-z]{2,}$")
    # An ACM certificate in the stage's region (in China: for the ICP-filed domain, imported into ACM).
    certificate_arn: str = Field(pattern=CERTIFICATE_ARN.pattern)

    @property
    def certificate_id(self) -> str:
        match = CERTIFICATE_ARN.match(self.certificate_arn)
        assert match
        return match.group(4)


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=STAGE_NAME.pattern)
    region: str = Field(pattern=r"^(cn|us|eu|ap|ca|sa|me|af|il|mx)-[a-z]+-\d$")
    # A production stage cannot be destroyed by `make destroy`, and runs its schedules unless told otherwise.
    production: bool = False
    # Reminders, hotspot detection and scheduled reports text real duty phones: off unless asked for.
    schedules_enabled: bool | None = None
    domain: Domain | None = None
    # The published complaint address: SES receives it in global regions; replies come from it.
    mail_address: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
    sms_provider: Literal["sns", "aliyun", "tencent"]
    # Mail in and out: SES receiving and sending, or the county mailbox's IMAP and SMTP.
    mail: Literal["ses", "imap"]
    # Staff tokens from a Cognito user pool, or from the system's own issuer (shared/core/auth.py).
    sign_in: Literal["cognito", "own"]
    tracing: bool
    # Who gets the alarms by mail: the topic's email subscription, or where SNS cannot text, the alarm notifier's
    # mail (SMTP) and the undelivered-alarms topic's subscription; none: subscribe later.
    alarm_email: str | None = None
    # The duty phones (E.164) the alarm notifier texts where SNS cannot (AWS's China regions).
    duty_phones: list[str] = Field(default=[], max_length=10)
    # How long the functions' logs are kept: China's Cybersecurity Law asks for at least six months.
    log_retention_days: int = Field(default=180, ge=180)

    @property
    def china(self) -> bool:
        return self.region.startswith("cn-")

    @property
    def alarm_notifier(self) -> bool:
        """SNS cannot text from AWS's China regions: there a function on the alarm topic texts the duty phones by the
        stage's SMS provider and mails by SMTP (shared/routing/alarms.py); elsewhere the topic mails by itself."""
        return self.china

    @property
    def prefix(self) -> str:
        return f"hotspot-{self.name}"

    @property
    def schedules(self) -> bool:
        return self.production if self.schedules_enabled is None else self.schedules_enabled

    @model_validator(mode="after")
    def _services_exist_in_the_partition(self) -> "Stage":
        if self.china:
            missing = {
                "sms_provider sns (no SNS SMS)": self.sms_provider == "sns",
                "mail ses (no SES)": self.mail == "ses",
                "sign_in cognito (no Cognito user pools)": self.sign_in == "cognito",
                "tracing (no X-Ray for Lambda)": self.tracing,
            }
            refused = [what for what, chosen in missing.items() if chosen]
            if refused:
                raise ValueError(f"AWS's China regions offer none of: {', '.join(refused)}")
        if any(not E164.match(phone) for phone in self.duty_phones):
            raise ValueError("duty_phones are E.164 numbers, e.g. +8613900000000")
        if self.production and self.alarm_notifier and not (self.duty_phones or self.alarm_email):
            raise ValueError(
                "a production stage names duty_phones or alarm_email: the alarm notifier tells nobody else"
            )
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(f"log_retention_days must be one of CloudWatch's: {LOG_RETENTION_DAYS}")
        if self.domain:
            match = CERTIFICATE_ARN.match(self.domain.certificate_arn)
            assert match
            partition, region = match.group(1), match.group(2)
            if (partition == "aws-cn") != self.china or region != self.region:
                raise ValueError(
                    f"certificate {self.domain.certificate_arn} is not in the stage's region {self.region}"
                )
        return self


def secret_name(stage: Stage, setting: str) -> str:
    """The Secrets Manager secret of a secret setting (shared/core/settings.py) in the stage."""
    return f"{stage.prefix}-{setting.replace('_', '-')}"


def bucket_name(name: str, account: str, region: str) -> str:
    """Bucket names are global: the account and region make them unique, the stage keeps stages apart."""
    return f"{name}-{account}-{region}"


def use_stage(stage: Stage) -> None:
    """Point this process (the `hotspot` CLI) at a deployed stage: its region, and the names its functions are
    given (infra/cdk/service_stack.py). Credentials come from boto3's usual chain; the account from them."""
    from infra.resources import NAMED_RESOURCES, named
    from shared.core.aws import client, reset_clients
    from shared.core.settings import SECRET_SETTINGS, environment_settings

    os.environ.pop("AWS_ENDPOINT_URL", None)
    # The figures the CLI records (`hotspot redrive`) go where the stage's functions put theirs.
    os.environ.update(
        AWS_REGION=stage.region, AWS_DEFAULT_REGION=stage.region, POWERTOOLS_METRICS_NAMESPACE=stage.prefix
    )
    reset_clients()
    account = client("sts").get_caller_identity()["Account"]
    names = named(stage.prefix)
    for field in NAMED_RESOURCES:
        value = getattr(names, field)
        os.environ[field.upper()] = bucket_name(value, account, stage.region) if field.endswith("_bucket") else value
    for setting in SECRET_SETTINGS:
        os.environ[f"{setting.upper()}_SECRET"] = secret_name(stage, setting)
    os.environ["AUTH_SIGNING_SECRET"] = secret_name(stage, "auth_signing_key")
    environment_settings.cache_clear()


def load(name: str) -> Stage:
    path = STAGES_DIR / f"{name}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in STAGES_DIR.glob("*.json")))
        raise SystemExit(f"no stage file infra/stages/{name}.json (stages: {known})")
    document = json.loads(path.read_text(encoding="utf-8"))
    document.pop("_about", None)
    return Stage.model_validate({**document, "name": name})
