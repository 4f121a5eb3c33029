"""Intake latency per channel through the local gateway, beside GET /intake/health and the floor route in the
same run.

Starts its own local stack on free loopback ports, with the floor app (bench/floor_app.py: one S3 put, one
conditional DynamoDB put, one SQS send) behind the same gateway, and stops it when done. After a warm-up every
route gets REQUESTS sequential requests, taken in turns (one of each route, then again), so that a slower moment
of the machine weighs on all of them alike; every SMS comes from its own number (follow-ups would be appended).
Printed: the JSON POST and the web form over the floor, each SMS webhook over the JSON POST (the goals), and beside
it over a JSON POST that gives a phone number, which stores what a text does but the provider's message id. Each
goal's ratio comes with its 95% interval (bench/stats.py ratio_interval): on this machine another run of the same
code lands a few hundredths away, which is as much as some ratios are from their goal, so REQUESTS is large enough
to keep the interval within about ±0.02. Mail is measured as the SMTP submission to the local listener (filing it is
asynchronous, like SES).

On AWS a route's Lambda answers alone: the queue consumers (routing its complaint; for Aliyun and Tencent, sending
the reply SMS) run in other functions. The local stack would run them in the gateway's process, beside moto on the
same two cores: a consumer long-polling the intake queue wakes as the request enqueues its complaint and routes it
while the request is still answering (about 3 ms more on a JSON POST, measured), and a request sent while the last
complaint is being routed shares the CPU with that work. The floor's queue has no consumer. So the bench's stack
runs no queue consumers at all (`--pollers 0`), like the floor; after each turn, untimed, it empties every queue, so
that none grows over the run. Each turn takes the routes in a new order (shuffled, with a fixed seed).
"""

import json
import random
import signal
import smtplib
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import boto3
from twilio.request_validator import RequestValidator

from bench.stats import line, ratio_interval, summary
from infra import local_stack
from tests.support import Stack, running_stack

REQUESTS = 500
WARMUP = 10
FLOOR = "POST /floor/complaints (floor)"
JSON_POST = "POST /intake/complaints (JSON)"
# Every text carries its sender's number, which is stored as the complainant's, counted against the number's limit
# and remembered for follow-ups: the same as a JSON POST that gives a phone number does.
JSON_PHONE = "POST /intake/complaints (with phone)"
WEB_FORM = "POST /intake/ (web form)"
SMS = ("POST /intake/sms/twilio", "POST /intake/sms/aliyun", "POST /intake/sms/tencent")
GOALS = {JSON_POST: 1.2, WEB_FORM: 1.2} | dict.fromkeys(SMS, 1.3)
TEXT = "县市场监管局的执法人员一个月内到我们超市检查了三次，每次检查的内容都一样。"


def timed(request: urllib.request.Request) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
    return time.perf_counter() - started


def emptying(stack: Stack) -> Callable[[], None]:
    """Empty every queue of the stack (nothing consumes them here): called between turns, untimed. Received and
    deleted: moto, like SQS, allows a queue one purge a minute."""
    sqs = boto3.client(
        "sqs",
        endpoint_url=stack.moto_url,
        region_name=local_stack.REGION,
        aws_access_key_id=local_stack.MOTO_CREDENTIAL,
        aws_secret_access_key=local_stack.MOTO_CREDENTIAL,
    )

    urls = sqs.list_queues()["QueueUrls"]

    def empty() -> None:
        for url in urls:
            while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
                entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)]
                sqs.delete_message_batch(QueueUrl=url, Entries=entries)

    return empty


def channels(stack: Stack) -> dict[str, Callable[[int], urllib.request.Request]]:
    base = f"{stack.url}/intake"

    def post(path: str, body: bytes, content_type: str, **headers: str) -> urllib.request.Request:
        return urllib.request.Request(
            f"{base}{path}", data=body, method="POST", headers={"Content-Type": content_type, **headers}
        )

    def twilio(n: int) -> urllib.request.Request:
        params = {"MessageSid": f"SM{n:032d}", "From": f"+1555{n:07d}", "To": "+15550000000", "Body": TEXT}
        signature = RequestValidator("local-twilio-token").compute_signature(f"{base}/sms/twilio", params)
        body = urllib.parse.urlencode(params).encode()
        return post("/sms/twilio", body, "application/x-www-form-urlencoded", **{"X-Twilio-Signature": signature})

    def aliyun(n: int) -> urllib.request.Request:
        push = [{"phone_number": f"139{n:08d}", "content": TEXT, "send_time": "2026-11-27 10:00:00", "sequence_id": n}]
        return post("/sms/aliyun?token=local-sms-token", json.dumps(push).encode(), "application/json")

    def tencent(n: int) -> urllib.request.Request:
        # A recent callback: older ones are refused as replays.
        reply = {"mobile": f"137{n:08d}", "nationcode": "86", "text": TEXT, "time": int(time.time()), "sign": "靖宇县"}
        return post("/sms/tencent?token=local-sms-token", json.dumps(reply).encode(), "application/json")

    return {
        FLOOR: lambda n: urllib.request.Request(
            f"{stack.url}/floor/complaints", data=json.dumps({"description": TEXT}).encode(), method="POST"
        ),
        JSON_POST: lambda n: post("/complaints", json.dumps({"description": TEXT}).encode(), "application/json"),
        JSON_PHONE: lambda n: post(
            "/complaints",
            json.dumps({"description": TEXT, "complainant": {"name": "张三", "phone": f"138{n:08d}"}}).encode(),
            "application/json",
        ),
        WEB_FORM: lambda n: post(
            "/",
            urllib.parse.urlencode({"description": TEXT, "who": "anonymous"}).encode(),
            "application/x-www-form-urlencoded",
        ),
        "POST /intake/sms/twilio": twilio,
        "POST /intake/sms/aliyun": aliyun,
        "POST /intake/sms/tencent": tencent,
    }


def smtp_submission(stack: Stack, count: int) -> list[float]:
    samples = []
    for n in range(count):
        mail = EmailMessage()
        mail["From"] = f"bench{n}@example.cn"
        mail["To"] = "tousu@hotspot.localhost"
        mail["Subject"] = "执法检查"
        mail.set_content(TEXT, charset="gbk")
        started = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", stack.smtp_port, timeout=10) as smtp:
            smtp.send_message(mail)
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    # One client sends every request here: lift the per-address limit that protects the public service.
    unlimited = {"SUBMISSIONS_PER_IP_PER_HOUR": "1000000", "LOOKUPS_PER_IP_PER_HOUR": "1000000"}
    with (
        tempfile.TemporaryDirectory() as folder,
        running_stack(
            Path(folder) / "stack.log", "--pollers", "0", environment=unlimited, module="bench.floor_stack"
        ) as stack,
    ):
        routes = {"GET /intake/health (baseline)": lambda n: urllib.request.Request(f"{stack.url}/intake/health")}
        routes |= channels(stack)
        for make in routes.values():
            for n in range(WARMUP):
                timed(make(10_000_000 + n))
        samples: dict[str, list[float]] = {label: [] for label in routes}
        # The order of a benchmark's requests, not a secret: a plain pseudo-random generator is right here.
        order = random.Random(14)  # nosec B311
        empty = emptying(stack)
        for n in range(REQUESTS):
            empty()
            for label in order.sample(list(routes), len(routes)):
                samples[label].append(timed(routes[label](n)))
        print(
            f"intake latency through the local gateway, no queue consumers (as on AWS, where they run in other "
            f"functions), {REQUESTS} sequential requests per route, in shuffled turns"
        )
        base = summary(samples["GET /intake/health (baseline)"])["median"]
        for label, taken in samples.items():
            print(line(label, taken, baseline=None if label.endswith("(baseline)") else base))
        print(line("SMTP submission (mail channel)", smtp_submission(stack, 50), baseline=base))
        medians = {label: summary(taken)["median"] for label, taken in samples.items()}
        for label, goal in GOALS.items():
            over = FLOOR if label in (JSON_POST, WEB_FORM) else JSON_POST
            ratio = medians[label] / medians[over]
            low, high = ratio_interval(samples[label], samples[over])
            like_for_like = ""
            if label in SMS:
                like_for_like = f", x{medians[label] / medians[JSON_PHONE]:.2f} of the JSON POST with a phone"
            print(
                f"  {label} x{ratio:.2f} of {over} (95% interval x{low:.2f}-{high:.2f}; goal at most x{goal:.1f}: "
                f"{'met' if ratio <= goal else 'NOT met'})" + like_for_like
            )
        stack.process.send_signal(signal.SIGINT)
        stack.process.wait(timeout=20)


if __name__ == "__main__":
    main()
