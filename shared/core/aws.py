"""Lazily created boto3 clients, one per service per process.

Clients are made on first use so that importing a Lambda module stays cheap (cold start) and so that
moto, started by a test, patches every client the code uses. `reset_clients()` forgets them.
The endpoint comes from boto3's own `AWS_ENDPOINT_URL` setting, which the local stack points at moto.
"""

import threading
from functools import cache
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=10)


_LOCK = threading.Lock()


@cache
def _data_loader() -> botocore.loaders.Loader:
    # botocore's service models and endpoint data, parsed once per process: a session of its own per client
    # (credentials and endpoint read afresh) would otherwise parse the same JSON files again each time.
    return botocore.loaders.create_loader()


@cache
def client(service: str, region: str | None = None) -> Any:
    """The service's client in the configured region, or in `region` (SES is not in every region)."""
    with _LOCK:
        loader = _data_loader()
        session = botocore.session.get_session()
        session.register_component("data_loader", loader)
        made = boto3.session.Session(botocore_session=session).client(
            service, region_name=region or None, config=_CONFIG
        )
        # boto3 adds its own data folder to the loader's search path with every session: keep it once.
        loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))
        return made


def reset_clients() -> None:
    client.cache_clear()
