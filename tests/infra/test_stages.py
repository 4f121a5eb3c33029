"""Stage files and the deploy commands' checks, without an AWS account."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from infra import deploy
from infra.cdk.stages import STAGES_DIR, Stage, load

CHINA = {
    "name": "county",
    "region": "cn-northwest-1",
    "mail_address": "tousu@county.example.cn",
    "sms_provider": "tencent",
    "mail": "imap",
    "sign_in": "own",
    "tracing": False,
    "alarm_email": "it@county.example.cn",
}


@pytest.mark.parametrize("path", sorted(STAGES_DIR.glob("*.json")), ids=lambda path: path.stem)
def test_every_committed_stage_file_is_valid(path: Path) -> None:
    # given a stage file in the repository
    # when it is loaded
    stage = load(path.stem)
    # then its resources are named for it
    assert stage.prefix == f"hotspot-{path.stem}"


@pytest.mark.parametrize(
    "choice",
    [{"sms_provider": "sns"}, {"mail": "ses"}, {"sign_in": "cognito"}, {"tracing": True}],
    ids=lambda choice: next(iter(choice)),
)
def test_a_china_stage_refuses_what_china_regions_lack(choice: dict) -> None:
    # given a China stage that asks for a service AWS's China regions do not have
    # when it is validated
    # then it is refused, naming what is missing
    with pytest.raises(ValidationError, match="China regions offer none of"):
        Stage.model_validate({**CHINA, **choice})


def test_a_certificate_must_be_in_the_stage_region() -> None:
    # given a China stage whose certificate is in a global region
    domain = {
        "name": "tousu.county.example.cn",
        "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/ab-12",
    }
    # then the stage is refused
    with pytest.raises(ValidationError, match="not in the stage's region"):
        Stage.model_validate({**CHINA, "domain": domain})


def test_schedules_follow_production_unless_the_stage_says() -> None:
    assert not Stage.model_validate(CHINA).schedules
    assert Stage.model_validate({**CHINA, "production": True}).schedules
    assert not Stage.model_validate({**CHINA, "production": True, "schedules_enabled": False}).schedules


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_deploy_without_credentials_fails_fast_in_one_line(
    no_credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a shell with no AWS credentials
    # when `make deploy STAGE=dev` runs its check
    status = deploy.main(["deploy", "dev"])
    # then it stops before the CDK CLI with one line naming what is missing
    error = capsys.readouterr().err
    assert status == 2
    assert error.count("\n") == 1 and "no AWS credentials" in error and "AWS_PROFILE" in error


def test_destroy_refuses_a_production_stage(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a stage marked production
    monkeypatch.setattr(deploy, "load", lambda name: Stage.model_validate({**CHINA, "production": True}))
    # when `make destroy` runs for it
    status = deploy.main(["destroy", "county"])
    # then it refuses before anything else
    assert status == 2 and "production" in capsys.readouterr().err


def test_duty_phones_are_e164_and_only_china_stages_run_the_alarm_notifier() -> None:
    # given a China stage with a duty mobile written without its country code
    # when it is validated / then it is refused
    with pytest.raises(ValidationError, match=r"E\.164"):
        Stage.model_validate({**CHINA, "duty_phones": ["13900000000"]})
    # and with E.164 numbers it is accepted, the notifier texting them; a global stage has the topic mail instead
    assert Stage.model_validate({**CHINA, "duty_phones": ["+8613900000000"]}).alarm_notifier
    assert not load("global-example").alarm_notifier
    # and a production China stage that names nobody for the notifier to tell is refused
    with pytest.raises(ValidationError, match="names duty_phones or alarm_email"):
        Stage.model_validate({**CHINA, "production": True, "alarm_email": None})
