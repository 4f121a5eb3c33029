"""Helpers shared by the unit, integration and end-to-end tests."""

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from shared.core.aws import client
from shared.core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def load_service(service: str) -> ModuleType:
    """Import services/<service>/app.py under its own module name: every service's module is `app`."""
    name = f"hotspot_{service}_app"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "services" / service / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def read_jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def raw_keys(settings: Settings) -> list[str]:
    """The keys of every raw payload archived (raw/ of the raw bucket)."""
    listed = client("s3").list_objects_v2(Bucket=settings.raw_bucket, Prefix="raw/")
    return [item["Key"] for item in listed.get("Contents", [])]


def receive_all(queue_url: str, sqs) -> list[dict]:
    """Every message now visible on a queue (removed from it), with attributes."""
    messages: list[dict] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
            "Messages", []
        )
        if not batch:
            return messages
        for message in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        messages += batch


def sqs_event(bodies: list[str], queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:q") -> dict:
    """A Lambda SQS event with a distinct message id per record (Chalice's generator reuses one id)."""
    return {
        "Records": [
            {
                "messageId": f"msg-{index}",
                "receiptHandle": f"handle-{index}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for index, body in enumerate(bodies)
        ]
    }


def scheduled_event() -> dict:
    """What EventBridge sends a scheduled function."""
    return {
        "version": "0",
        "id": "scheduled",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-27T16:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/schedule"],
        "detail": {},
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def requests_made(*services: str) -> Iterator[list[tuple[str, dict]]]:
    """The AWS requests the code's clients of `services` make inside the block, in order: each its operation
    (`dynamodb.Query`) and the parameters it was called with (GetQueueUrl, a client's own lookup, left out)."""
    made: list[tuple[str, dict]] = []

    def note(event_name: str, params: dict, **_: object) -> None:
        operation = event_name.split(".", 1)[1]
        if operation != "sqs.GetQueueUrl":
            made.append((operation, dict(params)))

    for service in services:
        client(service).meta.events.register(f"provide-client-params.{service}", note)
    try:
        yield made
    finally:
        for service in services:
            client(service).meta.events.unregister(f"provide-client-params.{service}", note)


@dataclass
class Stack:
    """A running `hotspot run` subprocess on free loopback ports, its output in a log file."""

    url: str
    moto_url: str
    smtp_port: int
    process: subprocess.Popen[bytes]
    log_file: Path

    def log(self) -> str:
        return self.log_file.read_text("utf-8", errors="replace")


@contextmanager
def running_stack(
    log_file: Path,
    *options: str,
    environment: dict[str, str] | None = None,
    ready_seconds: float = 30,
    module: str = "infra.cli",
) -> Iterator[Stack]:
    """Start the local stack as `make run` does (with extra environment variables, e.g. settings; `module` the
    command line that runs it), wait until its gateway answers, and kill it afterwards."""
    port, moto_port, smtp_port = free_port(), free_port(), free_port()
    ports = ["--port", str(port), "--moto-port", str(moto_port), "--smtp-port", str(smtp_port)]
    command = [sys.executable, "-m", module, "run", *ports, *options]
    with log_file.open("wb") as log:
        # A session of its own, so that cleaning up after a failed test can end moto with it.
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(environment or {})},
        )
    stack = Stack(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{moto_port}", smtp_port, process, log_file)
    try:
        deadline = time.monotonic() + ready_seconds
        while True:
            assert process.poll() is None, f"hotspot run exited early:\n{stack.log()}"
            assert time.monotonic() < deadline, f"hotspot run not ready within {ready_seconds} s:\n{stack.log()}"
            try:
                with urllib.request.urlopen(f"{stack.url}/", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.1)
        yield stack
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def staff_token(stack: Stack, role: str, department: str | None = None) -> str:
    """A development token from `hotspot token`, signed with the running stack's key."""
    moto_port = stack.moto_url.rsplit(":", 1)[1]
    command = [sys.executable, "-m", "infra.cli", "token", "--role", role, "--moto-port", moto_port]
    result = subprocess.run(
        [*command, *(["--dept", department] if department else [])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout.strip()
