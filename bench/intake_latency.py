"""Intake latency through the local gateway: 200 POST /intake/complaints against GET /intake/health.

Starts its own local stack on free loopback ports and stops it when done.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.stats import line, summary

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = 200
WARMUP = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def timed(request: urllib.request.Request) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
    return time.perf_counter() - started


def wait_until_up(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"local stack did not answer at {url}")


def main() -> None:
    port, moto_port = free_port(), free_port()
    stack = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "run", "--port", str(port), "--moto-port", str(moto_port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    try:
        base = f"http://127.0.0.1:{port}/intake"
        wait_until_up(f"{base}/health")
        body = json.dumps(
            {"description": "县市场监管局的执法人员一个月内到我们超市检查了三次，每次检查的内容都一样。"},
            ensure_ascii=False,
        ).encode()

        def post() -> urllib.request.Request:
            return urllib.request.Request(
                f"{base}/complaints", data=body, method="POST", headers={"Content-Type": "application/json"}
            )

        for _ in range(WARMUP):
            timed(post())
            timed(urllib.request.Request(f"{base}/health"))
        health = [timed(urllib.request.Request(f"{base}/health")) for _ in range(REQUESTS)]
        posts = [timed(post()) for _ in range(REQUESTS)]
        print(f"intake latency through the local gateway, {REQUESTS} sequential requests each")
        print(line("GET /intake/health (baseline)", health))
        print(line("POST /intake/complaints", posts, baseline=summary(health)["median"]))
    finally:
        stack.send_signal(signal.SIGINT)
        stack.wait(timeout=20)


if __name__ == "__main__":
    main()
