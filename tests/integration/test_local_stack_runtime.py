"""The local stack's runtime around a tiny Chalice app: gateway, SQS poller, schedules, redrive, shutdown.

Runs against a real moto server (a subprocess on a free loopback port), as `hotspot run` does.
"""

import http.client
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from chalice.app import Chalice, CloudWatchEvent, Response, SQSEvent

from infra.cli import redrive
from infra.local_stack import MAX_REQUEST_BYTES, MotoServer, Runtime, Service, use_local_environment
from shared.core.aws import client, reset_clients

QUEUE = "tiny-work"
DLQ = f"{QUEUE}-dlq"
MAX_RECEIVES = 2
# The tiny functions' timeout, as a service's .chalice/config.json gives it.
TIMEOUT_SECONDS = 1

app = Chalice(app_name="tiny", configure_logs=False)


class Recorder:
    """What the tiny app's event handlers saw, from the runtime's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.batches: list[list[tuple[str, dict[str, Any], int]]] = []  # (message id, body, receive count)
        self.failed_batches: list[int] = []  # indexes into batches of those failed as a whole
        self.ticks: list[tuple[dict[str, Any], str]] = []  # (event, invoked function ARN)
        self.healed: set[str] = set()  # poison message ids that succeed from now on
        self.running = 0  # invocations in progress now
        self.most_running = 0  # the most at once

    def reset(self) -> None:
        with self._lock:
            self.batches.clear()
            self.failed_batches.clear()
            self.ticks.clear()
            self.healed.clear()
            self.running = self.most_running = 0

    def receive_counts(self, body_id: str) -> list[int]:
        with self._lock:
            return [count for batch in self.batches for _, body, count in batch if body["id"] == body_id]


seen = Recorder()


@app.route("/")
def index() -> dict[str, Any]:
    return {"root": True}


@app.route("/items/{item_id}")
def item(item_id: str) -> dict[str, Any]:
    request = app.current_request
    assert request is not None
    query = request.query_params
    return {"item": item_id, "q": query.get("q") if query else None}


@app.route("/echo", methods=["POST"], content_types=["application/octet-stream"])
def echo() -> Response:
    request = app.current_request
    assert request is not None
    return Response(body=request.raw_body, headers={"Content-Type": "application/octet-stream"})


@app.route("/boom")
def boom() -> None:
    raise RuntimeError("张三 13800000000")


@app.on_sqs_message(queue=QUEUE, batch_size=10)
def work(event: SQSEvent) -> dict[str, Any]:
    # Each body says how to behave: ok, fail_once (reported failure), raise_once, fail (until healed),
    # unknown_once (a failure report naming a message not in the batch), slow_once (past the function's timeout
    # on its first receive), hold (a moment's work, to see batches run at once).
    records = [record.to_dict() for record in event]
    batch = [
        (record["messageId"], json.loads(record["body"]), int(record["attributes"]["ApproximateReceiveCount"]))
        for record in records
    ]
    actions = {(body["action"], count) for _, body, count in batch}
    if ("slow_once", 1) in actions:
        time.sleep(TIMEOUT_SECONDS + 1)
    if any(action == "hold" for action, _ in actions):
        with seen._lock:
            seen.running += 1
            seen.most_running = max(seen.most_running, seen.running)
        time.sleep(0.5)
        with seen._lock:
            seen.running -= 1
    with seen._lock:
        seen.batches.append(batch)
        first_receives = {body["action"] for _, body, count in batch if count == 1}
        if "raise_once" in first_receives:
            seen.failed_batches.append(len(seen.batches) - 1)
            raise RuntimeError("handler crashed")
        failed = [
            message_id
            for message_id, body, count in batch
            if (body["action"] == "fail_once" and count == 1)
            or (body["action"] == "fail" and body["id"] not in seen.healed)
        ]
        if "unknown_once" in first_receives:
            seen.failed_batches.append(len(seen.batches) - 1)
            failed.append("no-such-message")
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


@app.schedule("rate(1 hour)")
def tick(event: CloudWatchEvent) -> None:
    with seen._lock:
        context: Any = event.context
        seen.ticks.append((event.to_dict(), context.invoked_function_arn))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(condition: Callable[[], bool], timeout_seconds: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout_seconds} s")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    saved_environment = dict(os.environ)
    moto = MotoServer(free_port())
    moto.start()
    try:
        use_local_environment(moto.endpoint)
        yield moto.endpoint
    finally:
        moto.stop()
        os.environ.clear()
        os.environ.update(saved_environment)
        reset_clients()


@pytest.fixture
def queue_urls(moto_endpoint: str) -> dict[str, str]:
    """Fresh queues for each test (moto, like SQS, allows one purge a minute, so reset it instead)."""
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=5).raise_for_status()
    sqs = client("sqs")
    dlq_url = sqs.create_queue(QueueName=DLQ)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # A one-second visibility timeout, so failed messages come back quickly.
    redrive_policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES)})
    queue_url = sqs.create_queue(
        QueueName=QUEUE, Attributes={"VisibilityTimeout": "1", "RedrivePolicy": redrive_policy}
    )["QueueUrl"]
    return {QUEUE: queue_url, DLQ: dlq_url}


@pytest.fixture
def runtime(queue_urls: dict[str, str]) -> Iterator[Runtime]:
    """A runtime for the tiny app under /tiny, not started yet, so a test can queue messages first."""
    seen.reset()
    service = Service("tiny", "tiny", app, default_timeout=TIMEOUT_SECONDS)
    runtime = Runtime([service], "127.0.0.1", free_port(), fire_schedules_now=True)
    yield runtime
    runtime.stop()


def queue_is_empty(url: str) -> bool:
    attributes = client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def send(queue_url: str, *bodies: dict[str, str]) -> None:
    entries = [{"Id": str(index), "MessageBody": json.dumps(body)} for index, body in enumerate(bodies)]
    client("sqs").send_message_batch(QueueUrl=queue_url, Entries=entries)


def test_gateway_strips_the_base_path_and_returns_the_app_response(runtime: Runtime) -> None:
    # given the tiny app under /tiny
    runtime.start()
    # when calling its routes through the gateway
    item = requests.get(f"{runtime.url}/tiny/items/42?q=x", timeout=5)
    root = requests.get(f"{runtime.url}/tiny", timeout=5)
    root_slash = requests.get(f"{runtime.url}/tiny/", timeout=5)
    # then the app saw its own paths
    assert item.status_code == 200
    assert item.json() == {"item": "42", "q": "x"}
    assert root.json() == {"root": True}
    assert root_slash.json() == {"root": True}
    assert item.headers["Content-Type"] == "application/json"


def test_concurrent_requests_each_see_their_own_request(runtime: Runtime) -> None:
    # given a running gateway
    runtime.start()

    # when many requests run at once
    def fetch(n: int) -> Any:
        return requests.get(f"{runtime.url}/tiny/items/{n}?q={n}", timeout=5).json()

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(fetch, range(64)))
    # then no request got another one's query
    assert answers == [{"item": str(n), "q": str(n)} for n in range(64)]


def test_gateway_answers_unknown_paths_and_app_errors_with_json(runtime: Runtime) -> None:
    # given a running gateway
    runtime.start()
    # when calling the landing page, unknown places and a route that crashes
    landing = requests.get(f"{runtime.url}/", timeout=5)
    unknown_base = requests.get(f"{runtime.url}/nowhere/items/1", timeout=5)
    unknown_route = requests.get(f"{runtime.url}/tiny/nothing/here", timeout=5)
    crash = requests.get(f"{runtime.url}/tiny/boom", timeout=5)
    # then every answer is JSON, with no stack trace and nothing of the exception's message
    assert landing.json()["base_paths"] == ["/tiny"]
    assert unknown_base.status_code == 404
    assert unknown_base.json()["error"]["code"] == "not_found"
    assert unknown_route.status_code == 404
    assert unknown_route.json()["error"]["code"] == "not_found"
    assert crash.status_code == 500
    assert crash.json()
    assert "Traceback" not in crash.text
    assert "张三" not in crash.text


def test_gateway_passes_binary_and_utf8_bodies_untouched(runtime: Runtime) -> None:
    # given a running gateway and a body that is neither ASCII nor valid UTF-8 throughout
    runtime.start()
    body = "投诉材料".encode() + bytes(range(256))
    # when the app echoes it
    response = requests.post(
        f"{runtime.url}/tiny/echo", data=body, headers={"Content-Type": "application/octet-stream"}, timeout=5
    )
    # then the same bytes come back
    assert response.status_code == 200
    assert response.content == body


def test_gateway_refuses_a_body_over_the_api_gateway_limit_without_reading_it(runtime: Runtime) -> None:
    # given a running gateway
    runtime.start()
    host, port = runtime.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    # when a request announces a body larger than API Gateway accepts, and sends none of it
    connection.putrequest("POST", "/tiny/echo")
    connection.putheader("Content-Type", "application/octet-stream")
    connection.putheader("Content-Length", str(MAX_REQUEST_BYTES + 1))
    connection.endheaders()
    response = connection.getresponse()
    # then it is answered at once with 413 and a JSON error
    assert response.status == 413
    assert json.loads(response.read())["error"]["code"] == "payload_too_large"
    connection.close()


def test_poller_deletes_successes_and_keeps_reported_failures(runtime: Runtime, queue_urls: dict[str, str]) -> None:
    # given a good message and one the handler reports as failed on its first receive
    send(queue_urls[QUEUE], {"id": "good", "action": "ok"}, {"id": "flaky", "action": "fail_once"})
    # when the poller runs until the queue is empty
    runtime.start()
    wait_until(lambda: len(seen.receive_counts("flaky")) == 2 and queue_is_empty(queue_urls[QUEUE]))
    # then the good one was handled once and deleted; the failed one came back after the visibility timeout
    assert seen.receive_counts("good") == [1]
    assert seen.receive_counts("flaky") == [1, 2]


def assert_batch_received_again(batch_index: int) -> None:
    for _, body, _ in seen.batches[batch_index]:
        assert any(body == later for batch in seen.batches[batch_index + 1 :] for _, later, _ in batch), body


@pytest.mark.parametrize(
    "trigger",
    [
        pytest.param("raise_once", id="handler-raises"),
        pytest.param("unknown_once", id="failure-report-names-a-message-not-in-the-batch"),
    ],
)
def test_a_batch_failed_as_a_whole_deletes_nothing(runtime: Runtime, queue_urls: dict[str, str], trigger: str) -> None:
    # given a batch in which one message makes the handler fail the whole batch on its first receive
    send(queue_urls[QUEUE], {"id": "bystander", "action": "ok"}, {"id": "trigger", "action": trigger})
    # when the poller runs until the queue is empty
    runtime.start()
    wait_until(lambda: queue_is_empty(queue_urls[QUEUE]) and len(seen.receive_counts("trigger")) == 2)
    # then every message of that batch was received again, as Lambda retries a failed invocation
    assert len(seen.failed_batches) == 1
    assert_batch_received_again(seen.failed_batches[0])
    assert seen.receive_counts("trigger") == [1, 2]


def test_a_poison_message_reaches_the_dlq_and_redrive_brings_it_back(
    runtime: Runtime, queue_urls: dict[str, str]
) -> None:
    # given a message the handler always fails
    send(queue_urls[QUEUE], {"id": "poison", "action": "fail"})
    runtime.start()
    # when it has failed maxReceiveCount times
    wait_until(lambda: not queue_is_empty(queue_urls[DLQ]))
    # then the queue's redrive policy moved it to the dead-letter queue
    assert seen.receive_counts("poison") == list(range(1, MAX_RECEIVES + 1))
    assert queue_is_empty(queue_urls[QUEUE])
    # when the cause is fixed and the queue is redriven
    seen.healed.add("poison")
    moved = redrive(QUEUE)
    # then the message is handled again, as a fresh delivery, and both queues end empty
    assert moved == 1
    wait_until(lambda: len(seen.receive_counts("poison")) == MAX_RECEIVES + 1 and queue_is_empty(queue_urls[QUEUE]))
    assert seen.receive_counts("poison")[-1] == 1
    assert queue_is_empty(queue_urls[DLQ])


def test_schedules_fire_at_start_up_with_an_eventbridge_event(runtime: Runtime) -> None:
    # given a runtime told to fire schedules at start-up
    # when it starts
    runtime.start()
    wait_until(lambda: len(seen.ticks) == 1)
    # then the handler got a Scheduled Event from its rule, in the China partition, with a Lambda context
    event, function_arn = seen.ticks[0]
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["region"] == "cn-north-1"
    assert event["resources"] == ["arn:aws-cn:events:cn-north-1:123456789012:rule/tiny-dev-tick"]
    assert function_arn == "arn:aws-cn:lambda:cn-north-1:123456789012:function:tiny-dev-tick"


def test_stop_ends_every_thread_and_closes_the_gateway(runtime: Runtime) -> None:
    # given a running runtime that has answered a request
    runtime.start()
    assert requests.get(f"{runtime.url}/tiny", timeout=5).status_code == 200
    # when it is stopped
    runtime.stop()
    # then none of its threads is left and the gateway refuses connections
    assert [thread.name for thread in runtime.threads if thread.is_alive()] == []
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{runtime.url}/tiny", timeout=5)


def test_a_handler_past_its_timeout_is_abandoned_and_its_batch_comes_back(
    runtime: Runtime, queue_urls: dict[str, str]
) -> None:
    # given a message whose first handling runs past the function's one-second timeout
    send(queue_urls[QUEUE], {"id": "slow", "action": "slow_once"})
    # when the runtime polls
    runtime.start()
    # then, as on Lambda, the timed-out batch is not deleted: it comes back after the visibility timeout and its
    # second handling succeeds
    wait_until(lambda: sorted(seen.receive_counts("slow")) == [1, 2] and queue_is_empty(queue_urls[QUEUE]))


def test_a_queue_is_worked_by_several_batches_at_once(runtime: Runtime, queue_urls: dict[str, str]) -> None:
    # given more messages than one batch holds, each taking a moment
    for start in range(0, 30, 10):
        send(queue_urls[QUEUE], *({"id": f"h{n}", "action": "hold"} for n in range(start, start + 10)))
    # when the runtime polls with Lambda's concurrency
    runtime.start()
    wait_until(lambda: queue_is_empty(queue_urls[QUEUE]))
    # then batches ran at the same time, as Lambda runs them
    assert seen.most_running >= 2
