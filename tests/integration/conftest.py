"""moto-backed AWS for the service integration tests: fresh, provisioned resources per test (`aws`) or per module
(`aws_module`, for modules whose tests only read or add)."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from moto import mock_aws

from infra import moto_patches
from infra.provision import provision
from shared.core import queues
from shared.core.aws import reset_clients
from shared.core.settings import Settings, get_settings
from shared.routing import learning

moto_patches.apply()


@contextmanager
def provisioned_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    with mock_aws():
        # moto patches only clients made after it starts: forget those of earlier tests.
        reset_clients()
        queues.reset()
        learning.reset()
        settings = get_settings()
        provision(settings)
        yield settings
    reset_clients()
    queues.reset()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    with provisioned_aws(monkeypatch) as settings:
        yield settings


@pytest.fixture(scope="module")
def aws_module() -> Iterator[Settings]:
    """The same, shared by the tests of one module that only read or add (many cheap requests, one setup)."""
    with pytest.MonkeyPatch.context() as monkeypatch, provisioned_aws(monkeypatch) as settings:
        yield settings
