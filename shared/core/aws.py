"""Lazily created boto3 clients, one per service per process.

Clients are made on first use so that importing a Lambda module stays cheap (cold start) and so that
moto, started by a test, patches every client the code uses. `reset_clients()` forgets them.
The endpoint comes from boto3's own `AWS_ENDPOINT_URL` setting, which the local stack points at moto.
"""

import threading
from functools import cache
from typing import Any

import boto3
import botocore.handlers
import botocore.loaders
import botocore.session
from botocore.config import Config

from shared.core.concurrent_reads import POOLS, THREADS

# A connection for each thread that may send at once: the request's own and those of the concurrent reads. With
# botocore's default of 10, a report's reads overflowed the pool and each connection over it was closed after its
# request ("Connection pool is full, discarding connection"), to be opened again, TLS and all, by the next read.
_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=2,
    read_timeout=10,
    max_pool_connections=1 + POOLS * THREADS,
)


_LOCK = threading.Lock()


@cache
def _data_loader() -> botocore.loaders.Loader:
    # botocore's service models and endpoint data, parsed once per process, whatever sessions reset_clients()
    # starts afresh (every test's moto does).
    return botocore.loaders.create_loader()


@cache
def _session() -> boto3.session.Session:
    # One session for the clients of the process until reset_clients(): botocore registers its event handlers and
    # reads its endpoint data for each session, which, with a session per client, a cold start paid once per
    # service it uses.
    loader = _data_loader()
    session = botocore.session.get_session()
    session.register_component("data_loader", loader)
    made = boto3.session.Session(botocore_session=session)
    # boto3 adds its own data folder to the loader's search path with every session: keep it once.
    loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))
    return made


@cache
def client(service: str, region: str | None = None) -> Any:
    """The service's client in the configured region, or in `region` (SES is not in every region)."""
    with _LOCK:  # a botocore session is not thread-safe; its clients are
        made = _session().client(service, region_name=region or None, config=_CONFIG)
    if service == "s3":
        # botocore sends a PutObject's headers alone, waits for S3's "100 Continue", then sends the body: a round
        # trip more for every object we put (archived payloads, generated reports), for a check that only pays off
        # for large uploads refused early. Without the header, headers and body go in one send.
        made.meta.events.unregister("before-call.s3", botocore.handlers.add_expect_header)
    return made


def reset_clients() -> None:
    """Forget the clients and their session: the next ones read credentials, region and endpoint afresh."""
    client.cache_clear()
    _session.cache_clear()
