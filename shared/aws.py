"""Lazily created boto3 clients, one per service per process.

Clients are made on first use so that importing a Lambda module stays cheap (cold start) and so that
moto, started by a test, patches every client the code uses. `reset_clients()` forgets them.
The endpoint comes from boto3's own `AWS_ENDPOINT_URL` setting, which the local stack points at moto.
"""

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=10)


@cache
def client(service: str, region: str | None = None) -> Any:
    """The service's client in the configured region, or in `region` (SES is not in every region)."""
    return boto3.session.Session().client(service, region_name=region or None, config=_CONFIG)


def reset_clients() -> None:
    client.cache_clear()
