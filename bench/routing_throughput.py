"""Routing throughput in-process (moto in memory): complaints routed per second through the handler,
beside classification alone on the same texts and a bare DynamoDB GetItem round trip through moto.

With moto in the process the rate is bounded by moto's per-call cost, which the GetItem baseline shows; moto runs
with the local stack's patches (infra/moto_patches.py), which take out costs AWS does not have (serializing each
attribute value through the service model, counting a queue's messages on every send). The AWS requests per
routed complaint are counted by operation (bench/requests.py).

The rate is the median of ROUNDS rounds of COMPLAINTS complaints each, every round beside its own GetItem baseline,
so that one slower moment of the machine does not make the figure; between rounds the messages routing sent are
taken off their queue, untimed, as their consumer would (moto's send looks at every message waiting in the queue).
moto's state seeded before the rounds is frozen out of the garbage collector (gc.freeze): on AWS it is the
services' memory, not the function's."""

import gc
import json
import os
import statistics
import time
from pathlib import Path

from moto import mock_aws

from bench.environment import use_moto_in_process
from bench.requests import RequestCounter

COMPLAINTS = int(os.environ.get("BENCH_COMPLAINTS", "300"))
ROUNDS = int(os.environ.get("BENCH_ROUTING_ROUNDS", "3"))
BATCH = 10
SAMPLES = Path(__file__).resolve().parent.parent / "tests" / "data" / "sample_complaints.jsonl"


def main() -> None:
    use_moto_in_process()
    # One caller files every complaint here: lift the per-address limit that protects the public service.
    os.environ["SUBMISSIONS_PER_IP_PER_HOUR"] = str(10 * COMPLAINTS)
    from chalice.test import Client

    from infra import moto_patches
    from infra.provision import provision
    from shared.core import queues
    from shared.core.classifier import classify
    from shared.core.settings import get_settings
    from shared.intake.complaints import submit_complaint
    from tests.support import load_service, receive_all, sqs_event

    texts = [json.loads(line)["text"] for line in SAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [texts[index % len(texts)] for index in range(COMPLAINTS)]
    started = time.perf_counter()
    for text in texts:
        classify(text)
    classify_rate = COMPLAINTS / (time.perf_counter() - started)

    moto_patches.apply()
    with mock_aws():
        settings = get_settings()
        provision(settings)
        for text in texts * ROUNDS:
            submit_complaint(settings, json.dumps({"description": text}).encode(), "application/json", None)
        from shared.core.aws import client

        bodies = [m["Body"] for m in receive_all(queues.queue_url(settings.intake_queue), client("sqs"))]
        # moto's tables and queues, which on AWS are the services' and not in the function's heap, kept out of the
        # collector's way: every full collection would otherwise walk the emulated AWS (here some 1,000 cases).
        gc.collect()
        gc.freeze()
        dynamodb = client("dynamodb")
        key = {"pk": {"S": "CASE#none"}, "sk": {"S": "CASE"}}
        requests = RequestCounter()
        route_rates, get_rates = [], []
        with Client(load_service("routing").app) as test_client:
            for start in range(0, len(bodies), COMPLAINTS):
                round_bodies = bodies[start : start + COMPLAINTS]
                started = time.perf_counter()
                for offset in range(0, len(round_bodies), BATCH):
                    result = test_client.lambda_.invoke(
                        "route_complaint", sqs_event(round_bodies[offset : offset + BATCH])
                    ).payload
                    assert not result["batchItemFailures"], result
                route_rates.append(len(round_bodies) / (time.perf_counter() - started))
                with requests.paused():
                    started = time.perf_counter()
                    for _ in range(COMPLAINTS):
                        dynamodb.get_item(TableName=settings.cases_table, Key=key)
                    get_rates.append(COMPLAINTS / (time.perf_counter() - started))
                    receive_all(queues.queue_url(settings.events_queue), client("sqs"))
        per_complaint = requests.total() / len(bodies)
        counted = requests.by_operation()
    route_rate, get_rate = statistics.median(route_rates), statistics.median(get_rates)
    print(
        f"routing throughput in-process, {ROUNDS} rounds of {COMPLAINTS} complaints in batches of {BATCH} "
        "(moto in memory), the median round"
    )
    print(f"{'classify only (baseline)':<36} {classify_rate:10.0f} complaints/s")
    print(f"{'moto GetItem round trip (baseline)':<36} {get_rate:10.0f} calls/s")
    print(
        f"{'route_complaint handler':<36} {route_rate:10.0f} complaints/s   "
        f"x{route_rate / classify_rate:.3f} of classify, x{route_rate / get_rate:.2f} of a GetItem "
        f"(rounds {', '.join(f'{rate:.0f}' for rate in route_rates)})"
    )
    print(f"  {per_complaint:.1f} AWS requests per routed complaint ({counted})")
    print(f"  goal at least 300 complaints/s: {'met' if route_rate >= 300 else 'NOT met'}")


if __name__ == "__main__":
    main()
