"""The process's boto3 clients: made on first use, one botocore session for all of them (a cold start sets one up,
not one per service), and made afresh, with the environment's credentials and endpoint, after reset_clients()."""

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import botocore.session
import pytest

from shared.core.aws import client, reset_clients
from shared.core.concurrent_reads import POOLS, THREADS


@pytest.fixture
def fresh_clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "cn-north-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "first-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "first-secret")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4001")
    reset_clients()
    yield
    reset_clients()


def _sessions_made(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    made: list[Any] = []
    original = botocore.session.get_session

    def counted(*args: Any, **kwargs: Any) -> Any:
        made.append(original(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(botocore.session, "get_session", counted)
    return made


def test_the_clients_of_a_process_share_one_session(fresh_clients: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # given no client made yet
    sessions = _sessions_made(monkeypatch)
    # when a function makes the clients of three services, one of them twice
    made = [client(service) for service in ("s3", "dynamodb", "sqs", "dynamodb")]
    # then one session was set up for all of them, and the second dynamodb client is the first
    assert len(sessions) == 1
    assert made[1] is made[3]


def test_clients_made_after_a_reset_read_the_environment_afresh(
    fresh_clients: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a client made with the first credentials and endpoint
    before = client("sqs")
    assert before._request_signer._credentials.access_key == "first-key"
    # when the environment changes and the clients are reset
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "second-key")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4002")
    unchanged = client("sqs")
    reset_clients()
    after = client("sqs")
    # then the client made before the reset is kept until it, and the one made after uses the new environment
    assert unchanged is before
    assert after._request_signer._credentials.access_key == "second-key"
    assert after.meta.endpoint_url == "http://127.0.0.1:4002"


class _Sent(Exception):
    """Stops a request once its headers and body have been looked at."""


def test_an_s3_put_sends_its_body_with_its_headers(fresh_clients: None) -> None:
    # given the S3 client, and a hook that sees each request as it is about to go
    s3 = client("s3")
    seen: list[Any] = []

    def capture(request: Any, **kwargs: Any) -> None:
        seen.append(request)
        raise _Sent

    s3.meta.events.register("before-send.s3.PutObject", capture)
    # when a payload is archived
    with pytest.raises(_Sent):
        s3.put_object(Bucket="hotspot-raw", Key="raw/web/x", Body="投诉".encode(), ContentType="application/json")
    # then the request does not wait for a "100 Continue" before its body (a round trip more)
    assert "Expect" not in seen[0].headers
    assert seen[0].body.read() == "投诉".encode()


class _SlowDynamoDB(BaseHTTPRequestHandler):
    """Answers every request as DynamoDB answers a GetItem that finds nothing, a little late, on a kept connection."""

    protocol_version = "HTTP/1.1"
    connections: ClassVar[set[tuple[str, int]]] = set()  # each by its client's address and port

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).connections.add(self.client_address)
        time.sleep(0.05)  # every thread's request in flight at once
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        """Quiet."""


def test_every_thread_that_sends_at_once_keeps_its_connection(
    fresh_clients: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a DynamoDB endpoint on loopback, and as many threads as may send at once (a request's and the concurrent
    # reads' pools)
    _SlowDynamoDB.connections = set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowDynamoDB)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")
    reset_clients()
    senders = 1 + POOLS * THREADS

    def read_together() -> None:
        dynamodb = client("dynamodb")
        with ThreadPoolExecutor(senders) as pool:
            list(pool.map(lambda n: dynamodb.get_item(TableName="t", Key={"pk": {"S": str(n)}}), range(senders)))

    try:
        # when they read together twice
        read_together()
        read_together()
    finally:
        server.shutdown()
        server.server_close()
    # then the second time reuses the connections of the first: none was closed for want of room in the pool
    assert len(_SlowDynamoDB.connections) == senders
