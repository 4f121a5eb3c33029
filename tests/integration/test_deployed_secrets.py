"""Deployed functions take the contact hash key and the webhook tokens from Secrets Manager, and refuse to serve
on Lambda while a local default would be in force (shared/core/settings.py)."""

import json
from collections.abc import Iterator

import pytest
from chalice.test import Client

from shared.core import identity, secrets
from shared.core.aws import client
from shared.core.settings import SECRET_SETTINGS, SecretsNotConfigured, Settings, environment_settings, get_settings
from tests.support import load_service, scheduled_event, sqs_event

COMPLAINT = {"description": "城管执法人员收了摊位费不开票据。", "complainant": {"phone": "13912345678"}}
CONTACT = "phone:13912345678"


@pytest.fixture
def deployed(aws: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A function on Lambda whose environment names its secrets (as the CDK service stacks set it); returns
    setting -> secret name. The secrets themselves are the test's to create."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "hotspot-test-intake-APIHandler")
    names = {setting: f"hotspot-test-{setting.replace('_', '-')}" for setting in SECRET_SETTINGS}
    for setting, name in names.items():
        monkeypatch.setenv(f"{setting.upper()}_SECRET", name)
    environment_settings.cache_clear()
    secrets.forget_cached()
    yield names
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    environment_settings.cache_clear()
    secrets.forget_cached()


def create_secrets(names: dict[str, str]) -> dict[str, str]:
    values = {setting: f"deployed-{setting}-0123456789abcdef" for setting in names}
    for setting, name in names.items():
        client("secretsmanager").create_secret(Name=name, SecretString=values[setting])
    return values


def stored_items(settings: Settings) -> int:
    return int(client("dynamodb").scan(TableName=settings.cases_table, Select="COUNT")["Count"])


def test_a_deployed_function_uses_the_secrets_values(deployed: dict[str, str], aws: Settings) -> None:
    # given the three secrets in Secrets Manager
    values = create_secrets(deployed)
    # when the intake function takes a complaint with a phone number and an Aliyun push with each token
    with Client(load_service("intake").app) as test_client:
        answer = test_client.http.post(
            "/complaints", headers={"Content-Type": "application/json"}, body=json.dumps(COMPLAINT).encode()
        )
        by_local = test_client.http.post("/sms/aliyun?token=local-sms-token", body=b"[]", headers={})
        by_secret = test_client.http.post(
            f"/sms/aliyun?token={values['sms_webhook_token']}",
            body=b"[]",
            headers={"Content-Type": "application/json"},
        )
    # then the complaint is filed and its contact hashed with the secret key, not the local one
    assert answer.status_code == 201
    settings = get_settings()
    assert settings.contact_hash_key == values["contact_hash_key"]
    assert settings.twilio_auth_token == values["twilio_auth_token"]
    hashes = json.dumps(client("dynamodb").scan(TableName=aws.cases_table)["Items"])
    assert identity.contact_hash(CONTACT, values["contact_hash_key"]) in hashes
    assert identity.contact_hash(CONTACT, "local-contact-hash-key") not in hashes
    # and the webhook accepts the secret token only (an empty push is a 400, a wrong token a 403)
    assert by_local.status_code == 403
    assert by_secret.status_code == 400


def test_without_its_secrets_a_deployed_function_refuses_to_serve(
    deployed: dict[str, str], aws: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # given a function on Lambda whose secrets do not exist (a stage deployed without them, or not allowed to read)
    # when citizens call the intake API and its health route
    with Client(load_service("intake").app) as test_client:
        answer = test_client.http.post(
            "/complaints", headers={"Content-Type": "application/json"}, body=json.dumps(COMPLAINT).encode()
        )
        health = test_client.http.get("/health")
    # then both get 503 with a machine code and a Chinese message, and nothing is stored
    for response in (answer, health):
        assert response.status_code == 503
        error = json.loads(response.body)["error"]
        assert error["code"] == "service_not_configured"
        assert "暂时无法提供服务" in error["message"]
    assert stored_items(aws) == 0
    # and the log says which settings are missing
    [refusal, *_] = [record for record in caplog.records if "secrets not configured" in record.getMessage()]
    assert refusal.levelname == "ERROR"
    assert refusal.missing_secrets == list(SECRET_SETTINGS)


def test_without_its_secrets_queue_and_schedule_handlers_fail(deployed: dict[str, str], aws: Settings) -> None:
    # given the routing functions on Lambda without their secrets
    routing = load_service("routing").app
    # when a queued complaint and the reminders schedule reach them
    with Client(routing) as test_client:
        # then each invocation fails (the message goes back to its queue, the run to its failure destination)
        with pytest.raises(SecretsNotConfigured):
            test_client.lambda_.invoke("route_complaint", sqs_event(["{}"]))
        with pytest.raises(SecretsNotConfigured):
            test_client.lambda_.invoke("remind_deadlines", scheduled_event())


def test_on_lambda_a_secret_named_nowhere_is_missing_too(aws: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a function on Lambda whose environment names no secrets (the plain local defaults would be in force)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "hotspot-test-reporting-APIHandler")
    environment_settings.cache_clear()
    # when its settings are read, then it refuses; outside Lambda the local defaults are the ones meant
    with pytest.raises(SecretsNotConfigured):
        get_settings()
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    assert get_settings().sms_webhook_token == "local-sms-token"
