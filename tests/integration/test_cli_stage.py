"""The runbook's repair commands work on a deployed stage by its name (`--stage`), with the names and region its
functions are given: here a moto account stands in for the stage's."""

import json
import os
from collections.abc import Iterator
from unittest.mock import patch

import pytest
from moto import mock_aws

from infra.cdk.stages import bucket_name, load, secret_name
from infra.cli import main
from infra.provision import provision
from infra.resources import dead_letter_queue, named
from shared.core import queues
from shared.core.aws import client, reset_clients
from shared.core.settings import SECRET_SETTINGS, Settings, environment_settings

STAGE = "dev"


@pytest.fixture
def stage_account() -> Iterator[Settings]:
    """The dev stage's resources in a moto account in the stage's region (the CLI sets the region itself)."""
    stage = load(STAGE)
    names = named(stage.prefix)
    buckets = {
        field: bucket_name(getattr(names, field), "123456789012", stage.region)
        for field in ("raw_bucket", "reports_bucket")
    }
    settings = names.model_copy(update=buckets)
    environment = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": stage.region,
    }
    with patch.dict(os.environ, environment), mock_aws():
        os.environ.pop("AWS_ENDPOINT_URL", None)
        reset_clients()
        queues.reset()
        provision(settings)
        # the secrets the resources stack generates
        for setting in SECRET_SETTINGS:
            client("secretsmanager").create_secret(Name=secret_name(stage, setting), SecretString=f"{setting}-value")
        yield settings
    reset_clients()
    queues.reset()
    environment_settings.cache_clear()


def test_redrive_and_rebuild_stats_work_on_a_stage_by_its_name(stage_account: Settings, capsys) -> None:
    # given a dead-lettered message on the stage's intake queue
    sqs = client("sqs")
    dlq = sqs.get_queue_url(QueueName=dead_letter_queue(stage_account.intake_queue))["QueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"type": "complaint.received"}))
    # when the runbook's commands run with --stage
    redriven = main(["redrive", stage_account.intake_queue, "--stage", STAGE])
    checked = main(["rebuild-stats", "--check", "--stage", STAGE])
    # then the message is back on its queue, and the (empty) statistics agree
    assert redriven == 0 and checked == 0
    intake = sqs.get_queue_url(QueueName=stage_account.intake_queue)["QueueUrl"]
    assert len(sqs.receive_message(QueueUrl=intake, MaxNumberOfMessages=10).get("Messages", [])) == 1
    assert "moved 1 messages" in capsys.readouterr().out
    # and the stage's signing key is made, then rotated, in its secret
    assert main(["keys", "rotate", "--stage", STAGE]) == 0 and main(["keys", "rotate", "--stage", STAGE]) == 0
    keys = json.loads(
        client("secretsmanager").get_secret_value(SecretId=f"hotspot-{STAGE}-auth-signing-key")["SecretString"]
    )
    assert keys["current"] and keys["previous"]
    # and the redrive is recorded in the stage's namespace, for its dashboard
    [metric] = client("cloudwatch").list_metrics(Namespace=f"hotspot-{STAGE}")["Metrics"]
    assert metric["MetricName"] == "DlqRedriven"
    # and the functions' settings name the stage's resources, buckets with the account and region
    settings = environment_settings()
    assert settings.cases_table == stage_account.cases_table
    assert settings.reports_bucket == stage_account.reports_bucket
    assert settings.contact_hash_key_secret == f"hotspot-{STAGE}-contact-hash-key"
