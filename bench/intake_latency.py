"""Intake latency through the local gateway: 200 POST /intake/complaints against GET /intake/health.

Starts its own local stack on free loopback ports and stops it when done.
"""

import json
import signal
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.stats import line, summary
from tests.support import running_stack

REQUESTS = 200
WARMUP = 20


def timed(request: urllib.request.Request) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
    return time.perf_counter() - started


def main() -> None:
    # One client sends every request here: lift the per-address limit that protects the public service.
    unlimited = {"SUBMISSIONS_PER_IP_PER_HOUR": "1000000"}
    with (
        tempfile.TemporaryDirectory() as folder,
        running_stack(Path(folder) / "stack.log", environment=unlimited) as stack,
    ):
        base = f"{stack.url}/intake"
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
        stack.process.send_signal(signal.SIGINT)
        stack.process.wait(timeout=20)


if __name__ == "__main__":
    main()
