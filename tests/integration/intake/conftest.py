"""The intake service's tests: `http` is its test client."""

import pytest
from chalice.test import Client

from shared.core.settings import Settings
from tests.support import load_service


@pytest.fixture
def http(aws: Settings):
    with Client(load_service("intake").app) as test_client:
        yield test_client.http
