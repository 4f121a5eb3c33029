"""Cost per complaint, counted (moto in memory): complaints driven through their whole life by the functions
themselves, every AWS request counted by service and operation (bench/requests.py), priced at list prices
(bench/prices.json) for cn-north-1 and us-east-1.

The life: filed on the JSON API (with a phone, so the complainant is told), routed (batches of 10), a due-today
reminder run, accepted, investigated, decided, replied and closed on the staff API, every notice sent
(send_notifications) and every case event counted (count_case_events), then one county report. The reminders
run and the report are runs of their own, shared by every complaint of the run and divided among them.

Lambda: one request per API call, per batch of a queue consumer and per scheduled run; GB-seconds from each
function's measured duration here (moto in the process, so on the high side) and its configured memory
(services/*/.chalice/config.json). The requests Lambda's event source mappings make to take a batch off a queue
(a ReceiveMessage and a DeleteMessageBatch per batch) are not seen by the hooks and are added per batch; empty
long polls are not. SMS is priced apart, per message.
"""

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import time as clock
from pathlib import Path
from typing import Any

from moto import mock_aws

from bench.environment import use_moto_in_process
from bench.requests import RequestCounter

COMPLAINTS = int(os.environ.get("BENCH_LIFECYCLE_COMPLAINTS", "20"))
BATCH = 10
ROOT = Path(__file__).resolve().parent.parent
PRICES = json.loads((Path(__file__).with_name("prices.json")).read_text(encoding="utf-8"))
TEXT = "县市场监管局的执法人员一个月内到我们超市检查了三次，每次检查的内容都一样。"
# The workflow a complaint goes through on the staff API after routing, with each action's fields.
ACTIONS: list[tuple[str, dict[str, Any]]] = [
    ("accept", {}),
    ("start_investigation", {}),
    ("decide", {"finding": "unsubstantiated", "measures": [], "summary": "经调查核实，不属实"}),
    ("reply", {"message": "经调查核实，反映的情况不属实。"}),
    ("close", {}),
]
# SQS operations of Lambda's event source mapping per batch taken off a queue.
POLLING = ("ReceiveMessage", "DeleteMessageBatch")
S3_PUT_CLASS = ("PutObject", "CopyObject", "PostObject", "ListObjects", "ListObjectsV2", "CreateMultipartUpload")
S3_FREE = ("DeleteObject", "DeleteObjects")


def memory_mb(service: str, function: str) -> int:
    """A function's configured memory: its own entry in the service's .chalice/config.json, else the service's."""
    config = json.loads((ROOT / "services" / service / ".chalice" / "config.json").read_text(encoding="utf-8"))
    own = config.get("lambda_functions", {}).get(function, {})
    return int(own.get("lambda_memory_size", config["lambda_memory_size"]))


@dataclass
class Ledger:
    """What the run cost: AWS requests, DynamoDB units, Lambda requests and GB-seconds, SMS messages."""

    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    units: dict[str, float] = field(default_factory=lambda: {"write": 0.0, "read": 0.0})
    invocations: Counter[str] = field(default_factory=Counter)
    gb_seconds: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)

    def requests_of(self, service: str, operations: tuple[str, ...] | None = None) -> int:
        return sum(
            number
            for (counted, operation), number in self.requests.items()
            if counted == service and (operations is None or operation in operations)
        )

    def cost(self, prices: dict[str, Any]) -> dict[str, float]:
        """Cost of the run by service at `prices`."""
        s3_put = self.requests_of("s3", S3_PUT_CLASS)
        s3_other = self.requests_of("s3") - s3_put - self.requests_of("s3", S3_FREE)
        return {
            "dynamodb": self.units["write"] * prices["dynamodb_write_request_unit_per_million"] / 1e6
            + self.units["read"] * prices["dynamodb_read_request_unit_per_million"] / 1e6,
            "sqs": self.requests_of("sqs") * prices["sqs_request_per_million"] / 1e6,
            "s3": s3_put * prices["s3_put_copy_post_list_per_thousand"] / 1e3
            + s3_other * prices["s3_get_and_other_per_thousand"] / 1e3,
            "lambda": sum(self.invocations.values()) * prices["lambda_request_per_million"] / 1e6
            + self.gb_seconds * prices["lambda_gb_second"],
            "secretsmanager": self.requests_of("secretsmanager") * prices["secretsmanager_call_per_ten_thousand"] / 1e4,
        }


class Meter:
    """Accounts the requests made inside `stage` blocks to the ledger; the bench's own plumbing stays outside."""

    def __init__(self) -> None:
        self.counter = RequestCounter(with_units=True)
        self.ledger = Ledger()

    @contextmanager
    def stage(self, name: str, service: str, function: str, invocations: int, batches: int = 0) -> Iterator[None]:
        self.counter.reset()
        started = time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        self.ledger.requests.update(self.counter.counts)
        for unit, amount in self.counter.units.items():
            self.ledger.units[unit] += amount
        self.ledger.requests.update({("sqs", operation): batches for operation in POLLING})
        self.ledger.invocations[name] += invocations
        self.ledger.seconds[name] = self.ledger.seconds.get(name, 0.0) + seconds
        self.ledger.gb_seconds += seconds * memory_mb(service, function) / 1024


def run_lifecycle(count: int) -> tuple[Ledger, int]:
    """Drive `count` complaints through their life; the ledger and the number of SMS messages sent."""
    from chalice.test import Client

    from infra import moto_patches
    from infra.provision import provision
    from shared.core import queues
    from shared.core.auth import Role, issue_development_token
    from shared.core.aws import client
    from shared.core.dal.cases import CaseStore
    from shared.core.reference_data import county_timezone
    from shared.core.settings import get_settings
    from shared.routing import reminders
    from tests.support import load_service, receive_all, sqs_event

    moto_patches.apply()
    with mock_aws():
        settings = get_settings()
        provision(settings)
        meter = Meter()
        token = {"Authorization": f"Bearer {issue_development_token(settings, Role.county_admin)}"}
        intake, routing, reporting = (Client(load_service(name).app) for name in ("intake", "routing", "reporting"))

        def taken(queue: str) -> list[str]:
            return [message["Body"] for message in receive_all(queues.queue_url(queue), client("sqs"))]

        def consume(name: str, service: str, app: Client, queue: str) -> None:
            bodies = taken(queue)
            batches = [bodies[start : start + BATCH] for start in range(0, len(bodies), BATCH)]
            with meter.stage(name, service, name, len(batches), len(batches)):
                for batch in batches:
                    answer = app.lambda_.invoke(name, sqs_event(batch)).payload
                    assert not answer["batchItemFailures"], answer

        def drain() -> None:
            consume("send_notifications", "routing", routing, settings.notify_queue)
            consume("count_case_events", "reporting", reporting, settings.events_queue)

        numbers = []
        with meter.stage("intake POST /complaints", "intake", "api_handler", count):
            for number in range(count):
                body = {"description": TEXT, "complainant": {"name": "张三", "phone": f"139{number:08d}"}}
                headers = {"Content-Type": "application/json", "X-Forwarded-For": f"198.51.100.{number % 250}"}
                answer = intake.http.post("/complaints", body=json.dumps(body), headers=headers)
                assert answer.status_code == 201, answer.body
                numbers.append(json.loads(answer.body)["tracking_no"])
        consume("route_complaint", "routing", routing, settings.intake_queue)
        drain()
        # One reminders run on the day the acceptance deadlines fall, mid-morning county time (out of quiet hours).
        routed = CaseStore(settings).get(numbers[0])
        assert routed is not None and routed.acceptance_due_at is not None
        due = routed.acceptance_due_at
        zone = county_timezone()
        at = datetime.combine(due.astimezone(zone).date(), clock(10), tzinfo=zone).astimezone(UTC)
        with meter.stage("remind_deadlines", "routing", "remind_deadlines", 1):
            reminders.remind_deadlines(settings, now=at)
        drain()
        versions = {number: CaseStore(settings).get(number).version for number in numbers}  # type: ignore[union-attr]
        for action, fields in ACTIONS:
            with meter.stage("staff actions", "routing", "api_handler", count):
                for number in numbers:
                    answer = routing.http.post(
                        f"/{number}/actions/{action}",
                        body=json.dumps({"version": versions[number], **fields}, ensure_ascii=False),
                        headers={**token, "Content-Type": "application/json"},
                    )
                    assert answer.status_code == 200, answer.body
                    versions[number] = json.loads(answer.body)["case"]["version"]
            drain()
        with meter.stage("POST /reports (county)", "reporting", "api_handler", 1):
            answer = reporting.http.post("/", body=json.dumps({"period": "year:2026"}), headers=token)
            assert answer.status_code == 201, answer.body
        sms = meter.ledger.requests_of("sns", ("Publish",))
        return meter.ledger, sms


def floor(state_changes: int) -> Ledger:
    """The fewest writes the lives of BATCH complaints need: each raw payload archived once, one DynamoDB
    transaction of two items (the case and its audit event) per state change, each complaint queued for routing
    once and one case event per state change, taken off their queues in batches of BATCH."""
    ledger = Ledger()
    ledger.requests[("s3", "PutObject")] = BATCH
    ledger.requests[("dynamodb", "TransactWriteItems")] = BATCH * state_changes
    ledger.units["write"] = BATCH * 2 * 2 * state_changes
    ledger.requests[("sqs", "SendMessage")] = BATCH * (1 + state_changes)
    for operation in POLLING:
        ledger.requests[("sqs", operation)] = 1 + state_changes
    return ledger


def main() -> None:
    use_moto_in_process()
    os.environ["SUBMISSIONS_PER_IP_PER_HOUR"] = str(10 * COMPLAINTS)
    started = time.perf_counter()
    ledger, sms = run_lifecycle(COMPLAINTS)
    per = 1 / COMPLAINTS
    total = sum(ledger.requests.values())
    print(
        f"cost per complaint over its whole life, {COMPLAINTS} complaints (moto in memory, "
        f"{time.perf_counter() - started:.0f}s)"
    )
    print(f"  {total * per:.1f} AWS requests per complaint:")
    for service in sorted({service for service, _ in ledger.requests}):
        operations = {op: n for (svc, op), n in ledger.requests.items() if svc == service}
        listed = ", ".join(f"{op} {n * per:.2f}" for op, n in sorted(operations.items(), key=lambda item: -item[1]))
        print(f"    {service:<15} {sum(operations.values()) * per:6.2f}   ({listed})")
    print(
        f"  DynamoDB request units per complaint: {ledger.units['write'] * per:.1f} write, "
        f"{ledger.units['read'] * per:.1f} read (by the sizes of the items read and written)"
    )
    print(
        f"  Lambda per complaint: {sum(ledger.invocations.values()) * per:.2f} requests, "
        f"{ledger.gb_seconds * per:.3f} GB-s; seconds by function: "
        + ", ".join(f"{name} {seconds:.1f}" for name, seconds in ledger.seconds.items())
    )
    print(f"  SMS messages per complaint: {sms * per:.2f} (priced apart)")
    state_changes = 1 + 1 + len(ACTIONS)  # received, routed, then each action
    least = floor(state_changes)
    print(
        f"  floor: {sum(least.requests.values()) / BATCH:.1f} requests per complaint ({state_changes} state changes: "
        f"1 S3 put, {state_changes} DynamoDB transactions, {1 + state_changes} SQS sends, each message taken off "
        f"its queue in a batch of {BATCH})"
    )
    for region, prices in PRICES["regions"].items():
        currency = prices["currency"]
        costs = {service: amount * per * 1e6 for service, amount in ledger.cost(prices).items()}
        floor_cost = sum(least.cost(prices).values()) / BATCH * 1e6
        print(
            f"  {region}: {sum(costs.values()):,.0f} {currency} per million complaints ("
            + ", ".join(f"{service} {amount:,.0f}" for service, amount in costs.items())
            + f"), SMS {sms * per * prices['sms_message'] * 1e6:,.0f} {currency} apart; "
            f"floor {floor_cost:,.0f} {currency}"
        )
    print(f"  prices: bench/prices.json, read {PRICES['read_on']} (some marked unverified there)")


if __name__ == "__main__":
    main()
