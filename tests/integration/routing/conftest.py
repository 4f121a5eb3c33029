"""The routing service's tests: `http` is its test client, `public` the intake service's (what citizens see),
`routing_app` the whole test client (HTTP and the functions) with the campaign's mail address verified."""

import pytest
from chalice.test import Client

from shared.core.aws import client
from shared.core.settings import Settings
from tests.support import load_service


@pytest.fixture
def http(aws: Settings):
    with Client(load_service("routing").app) as test_client:
        yield test_client.http


@pytest.fixture
def public(aws: Settings):
    with Client(load_service("intake").app) as test_client:
        yield test_client.http


@pytest.fixture
def routing_app(aws: Settings):
    client("ses").verify_email_identity(EmailAddress=aws.mail_address)
    with Client(load_service("routing").app) as test_client:
        yield test_client
