"""`make load`: complaints over every channel at several dozen concurrent clients against the local stack (locust,
headless), then the queues drained and the invariants checked: nothing lost, no 5xx, counters equal a recount.

Loopback only, bounded: LOAD_REQUESTS submissions in all (default 3,000) by LOAD_USERS clients (40), stopping
after LOAD_SECONDS (300) whatever is left; the drain waits at most DRAIN_SECONDS (300). Starts its own local stack
on free loopback ports and stops it. Every SMS comes from a number of its own and every mail has a Message-ID of
its own, so that each acknowledged submission is one complaint.
"""

import itertools
import json
import os
import re
import signal
import smtplib
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

# locust patches sockets with gevent when it is imported, before any connection is opened.
import gevent
from locust import FastHttpUser, constant, events, task
from locust.env import Environment
from locust.exception import StopUser

from tests.support import Stack, running_stack

REQUESTS = int(os.environ.get("LOAD_REQUESTS", "3000"))
USERS = int(os.environ.get("LOAD_USERS", "40"))
SECONDS = int(os.environ.get("LOAD_SECONDS", "300"))
DRAIN_SECONDS = int(os.environ.get("DRAIN_SECONDS", "300"))
TEXT = "县市场监管局的执法人员一个月内到我们超市检查了三次，每次检查的内容都一样，还暗示要请客。"
MARK = re.compile(r"L\d{6}")
CHANNELS = ("json", "form", "twilio", "aliyun", "tencent", "smtp")


def main() -> None:
    # One host sends everything: lift the per-address limits that protect the public service from one client.
    unlimited = {"SUBMISSIONS_PER_IP_PER_HOUR": "100000000", "LOOKUPS_PER_IP_PER_HOUR": "100000000"}
    with (
        tempfile.TemporaryDirectory() as folder,
        running_stack(Path(folder) / "stack.log", environment=unlimited) as stack,
    ):
        started = time.perf_counter()
        statuses, accepted, acknowledged, percentiles = run_load(stack)
        elapsed = time.perf_counter() - started
        print(f"load: {sum(statuses.values())} submissions sent in {elapsed:.1f} s; draining", flush=True)
        drained = drain(stack)
        print(f"drained in {drained:.1f} s; checking the invariants", flush=True)
        invariants = check(stack, acknowledged)
        report(statuses, accepted, percentiles, elapsed, drained, invariants)
        stack.process.send_signal(signal.SIGINT)
        stack.process.wait(timeout=30)
    if invariants["lost"] or invariants["duplicated"] or invariants["unrouted"] or invariants["counter_differences"]:
        sys.exit(1)
    if sum(count for (channel, status), count in statuses.items() if status >= 500):
        sys.exit(1)


def run_load(stack: Stack) -> tuple[Counter, Counter, set[str], dict[str, tuple[int, int, int, int]]]:
    """Locust, headless, in this process: status counts by channel, accepted submissions by channel, the marks of
    the acknowledged submissions, and per channel: requests, p50, p95, p99 in ms."""
    from twilio.request_validator import RequestValidator

    base = f"{stack.url}/intake"
    budget = itertools.count()
    statuses: Counter = Counter()
    accepted: Counter = Counter()
    acknowledged: set[str] = set()

    def submission() -> tuple[int, str]:
        """The next submission's number and text, marked with the number so that it can be found once stored; a
        client whose budget is spent stops (its last submission answered)."""
        n = next(budget)
        if n >= REQUESTS:
            raise StopUser
        return n, f"{TEXT}（编号L{n:06d}）"

    def note(channel: str, status: int, text: str) -> None:
        statuses[(channel, status)] += 1
        if 200 <= status < 300:
            accepted[channel] += 1
            acknowledged.add(mark(text))

    class Citizen(FastHttpUser):
        host = base
        wait_time = constant(0)

        def post(self, channel: str, text: str, path: str, body: bytes, content_type: str, **headers: str) -> None:
            with self.client.post(
                path,
                data=body.decode(),
                headers={"Content-Type": content_type, **headers},
                name=channel,
                catch_response=True,
            ) as response:
                note(channel, response.status_code, text)
                if response.status_code < 500:
                    response.success()

        @task
        def json_api(self) -> None:
            _, text = submission()
            self.post("json", text, "/complaints", json.dumps({"description": text}).encode(), "application/json")

        @task
        def web_form(self) -> None:
            _, text = submission()
            form = urllib.parse.urlencode({"description": text, "who": "anonymous"}).encode()
            self.post("form", text, "/", form, "application/x-www-form-urlencoded")

        @task
        def twilio(self) -> None:
            n, text = submission()
            params = {"MessageSid": f"SM{n:032d}", "From": f"+1555{n:07d}", "To": "+15550000000", "Body": text}
            signature = RequestValidator("local-twilio-token").compute_signature(f"{base}/sms/twilio", params)
            body = urllib.parse.urlencode(params).encode()
            form = "application/x-www-form-urlencoded"
            self.post("twilio", text, "/sms/twilio", body, form, **{"X-Twilio-Signature": signature})

        @task
        def aliyun(self) -> None:
            n, text = submission()
            push = [
                {"phone_number": f"139{n:08d}", "content": text, "send_time": "2026-11-27 10:00:00", "sequence_id": n}
            ]
            self.post(
                "aliyun", text, "/sms/aliyun?token=local-sms-token", json.dumps(push).encode(), "application/json"
            )

        @task
        def tencent(self) -> None:
            n, text = submission()
            reply = {
                "mobile": f"137{n:08d}",
                "nationcode": "86",
                "text": text,
                "time": int(time.time()),
                "sign": "靖宇县",
            }
            body = json.dumps(reply).encode()
            self.post("tencent", text, "/sms/tencent?token=local-sms-token", body, "application/json")

        @task
        def smtp(self) -> None:
            n, text = submission()
            mail = EmailMessage()
            mail["From"] = f"load{n}@example.cn"
            mail["To"] = "tousu@hotspot.localhost"
            mail["Subject"] = "执法检查"
            mail["Message-ID"] = make_msgid(domain="example.cn")
            mail.set_content(text, charset="gbk")
            began = time.perf_counter()
            try:
                with smtplib.SMTP("127.0.0.1", stack.smtp_port, timeout=30) as client:
                    client.send_message(mail)
                status, error = 250, None
            except (OSError, smtplib.SMTPException) as failure:
                status, error = 554, failure
            elapsed_ms = (time.perf_counter() - began) * 1000
            events.request.fire(
                request_type="SMTP", name="smtp", response_time=elapsed_ms, response_length=0, exception=error
            )
            note("smtp", 202 if status == 250 else status, text)

    environment = Environment(user_classes=[Citizen], events=events)
    runner = environment.create_local_runner()
    runner.start(USERS, spawn_rate=USERS)
    deadline = time.monotonic() + SECONDS
    gevent.sleep(1)  # every client spawned
    while runner.user_count and time.monotonic() < deadline:
        gevent.sleep(0.2)
    runner.quit()
    percentiles = {}
    for (name, _method), entry in environment.stats.entries.items():
        percentiles[name] = (
            entry.num_requests,
            entry.get_response_time_percentile(0.5),
            entry.get_response_time_percentile(0.95),
            entry.get_response_time_percentile(0.99),
        )
    return statuses, accepted, acknowledged, percentiles


def mark(text: str) -> str:
    """The submission's number in its text (编号L000123), which every channel keeps in the complaint."""
    found = MARK.search(text)
    return found.group(0) if found else ""


def drain(stack: Stack) -> float:
    """Seconds until every queue is empty and no complaint waits to be routed (or DRAIN_SECONDS)."""
    from infra.local_stack import use_local_environment
    from shared.core import queues
    from shared.core.dal.cases import CaseStore
    from shared.core.models import Status
    from shared.core.settings import get_settings

    use_local_environment(stack.moto_url)
    settings = get_settings()
    started = time.perf_counter()
    while time.perf_counter() - started < DRAIN_SECONDS:
        waiting = queues.waiting((settings.mail_queue, settings.intake_queue, settings.events_queue))
        if waiting == 0 and not any(True for _ in CaseStore(settings).by_status(Status.received)):
            break
        time.sleep(2)
    return time.perf_counter() - started


def check(stack: Stack, acknowledged: set[str]) -> dict[str, Any]:
    """Every acknowledged submission is one complaint, routed; the counters equal a recount. A complaint stored for a
    submission its client gave up on before the answer is counted apart: kept, as it should be."""
    from shared.core.dal.cases import CaseStore
    from shared.core.models import Status
    from shared.core.settings import get_settings
    from shared.reporting import stats

    settings = get_settings()
    stored = Counter(mark(case.description) for status in Status for case in CaseStore(settings).by_status(status))
    return {
        "acknowledged": len(acknowledged),
        "stored": sum(stored.values()),
        "lost": len(acknowledged - set(stored)),
        "duplicated": sum(count - 1 for count in stored.values() if count > 1),
        "stored_without_answer": len(set(stored) - acknowledged),
        "unrouted": sum(1 for _ in CaseStore(settings).by_status(Status.received)),
        "counter_differences": len(stats.rebuild(settings, write=False).differences),
    }


def report(
    statuses: Counter,
    accepted: Counter,
    percentiles: dict[str, tuple[int, int, int, int]],
    elapsed: float,
    drained: float,
    invariants: dict[str, Any],
) -> None:
    total = sum(statuses.values())
    print(f"load: {total} submissions by {USERS} concurrent clients in {elapsed:.1f} s = {total / elapsed:.1f}/s")
    for channel in CHANNELS:
        requests, p50, p95, p99 = percentiles.get(channel, (0, 0, 0, 0))
        client_errors = sum(
            count for (name, status), count in statuses.items() if name == channel and 400 <= status < 500
        )
        server_errors = sum(count for (name, status), count in statuses.items() if name == channel and status >= 500)
        print(
            f"  {channel:<8} n={requests:<6} p50 {p50:6.0f} ms  p95 {p95:6.0f} ms  p99 {p99:6.0f} ms  "
            f"accepted {accepted[channel]:<6} 4xx {client_errors:<4} 5xx {server_errors}"
        )
    print(f"drained in {drained:.1f} s; invariants: {json.dumps(invariants)}")


if __name__ == "__main__":
    main()
