"""The fault-injection suite: what AWS does and moto does not (issue 12). A handler killed between two calls
(`FunctionKilled`, raised where the kill happens: no `except Exception` of the code under test catches it, just as
nothing runs in a Lambda that timed out), DynamoDB transaction conflicts and throttling, and redeliveries after a
visibility timeout. Runs on moto in-process with the integration tests' provisioned resources."""

import pytest

from shared.core.settings import Settings
from tests.integration.conftest import aws, aws_module  # noqa: F401  (fixtures)


class FunctionKilled(BaseException):
    """The function stopped here: timed out, out of memory, or replaced by a deploy."""


@pytest.fixture
def lease_over(aws: Settings) -> Settings:  # noqa: F811
    """Settings under which every lease has run out by the time a message comes back (as after SQS's visibility
    timeout, 60 s, against a 30 s lease)."""
    return aws.model_copy(update={"delivery_lease_seconds": 0})
