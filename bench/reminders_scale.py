"""The reminders run at scale (moto in memory): 100 cases due among 1,000 / 10,000 / 100,000 open ones.

The run reads the due index one UTC month at a time (the lookback's months up to the furthest reminder point), so
its DynamoDB requests are a handful of queries plus at most two per due case, whatever the number of open cases.
Requests are counted with a botocore `before-call` hook. Open cases not due are written straight into moto's
in-process backend (fast), with deadlines spread over days years ahead, so that no run finds them.

moto answers a GSI query by going over every item of the table, so time in moto grows with the table even when
the requests do not; DynamoDB reads only the queried partition. Both are printed. Also the latency of a workflow
action (accept, through shared/routing/cases_api.py) with the largest table.
"""

import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from moto import mock_aws

from bench.environment import cases_table, put_straight, use_moto_in_process
from bench.stats import line

DUE_CASES = 100
SIZES = [int(size) for size in os.environ.get("BENCH_OPEN_CASES", "1000,10000,100000").split(",")]
ACTIONS = 20
GOAL_QUERIES, GOAL_PER_DUE_CASE = 10, 2


def main() -> None:
    use_moto_in_process()

    from infra import moto_patches
    from infra.provision import provision
    from shared.core.auth import Principal, Role
    from shared.core.aws import client
    from shared.core.dal.cases import case_item  # the stored form of a case, to write it without a request
    from shared.core.models import Case, Channel, DueKind, Status
    from shared.core.reference_data import county_timezone
    from shared.core.settings import get_settings
    from shared.routing import cases_api, reminders

    zone = county_timezone()
    now = datetime(2026, 11, 27, 10, 0, tzinfo=zone)  # a Friday morning, out of quiet hours
    end_of_today = datetime(2026, 11, 27, 23, 59, 59, tzinfo=zone)

    def case(number: int, status: Status, due_at: datetime) -> Case:
        return Case(
            tracking_no=f"ZF{number:012d}",
            channel=Channel.web,
            received_at=now - timedelta(days=30),
            description="执法人员态度恶劣",
            raw_key=f"raw/web/{number}.json",
            verification_hash="0" * 64,
            status=status,
            department="JJDD",
            due_at=due_at.astimezone(UTC),
            due_kind=DueKind.reply if status == Status.accepted else DueKind.acceptance,
        )

    def not_due(number: int) -> Case:
        # Deadlines spread over 1,000 days from 2030 on: open, indexed, never found by a run in 2026.
        return case(number, Status.accepted, end_of_today.replace(year=2030) + timedelta(days=number % 1000))

    def due(number: int) -> Case:
        # A third due today, the others overdue by up to 60 days.
        return case(number, Status.accepted, end_of_today - timedelta(days=number % 3 and number % 60))

    moto_patches.apply()
    with mock_aws():
        settings = get_settings()
        provision(settings)
        table = cases_table(settings)

        def put(stored: Case) -> None:
            put_straight(table, case_item(stored))

        requests: Counter[str] = Counter()

        def count(event_name: str, **kwargs: Any) -> None:
            requests[event_name.rsplit(".", 1)[-1]] += 1

        client("dynamodb").meta.events.register("before-call.dynamodb", count)
        print(f"reminders run over open cases, {DUE_CASES} of them due (moto in memory)")
        print(f"{'open cases':>10} {'DynamoDB requests':>18} {'(queries)':>10} {'per due':>8} {'run time':>10}  queued")
        seeded, first_due = 0, 10**9
        for size in SIZES:
            started = time.perf_counter()
            for number in range(seeded, size - DUE_CASES):
                put(not_due(number))
            # Fresh due cases each round (not reminded yet); the last round's are no longer due.
            for number in range(first_due - DUE_CASES, first_due):
                put(not_due(number))
            for number in range(first_due, first_due + DUE_CASES):
                put(due(number))
            seeded, first_due = size - DUE_CASES, first_due + DUE_CASES
            seed_seconds = time.perf_counter() - started
            requests.clear()
            started = time.perf_counter()
            summary = reminders.remind_deadlines(settings, now=now.astimezone(UTC))
            run_seconds = time.perf_counter() - started
            queued = summary.due_today + summary.overdue + summary.escalated
            per_due = (sum(requests.values()) - requests["Query"]) / DUE_CASES
            met = requests["Query"] <= GOAL_QUERIES and per_due <= GOAL_PER_DUE_CASE
            print(
                f"{size:>10} {sum(requests.values()):>18} {requests['Query']:>10} {per_due:>8.2f} {run_seconds:>9.2f}s"
                f"  {queued}   (seeding {seed_seconds:.1f}s; goal at most {GOAL_QUERIES} queries and "
                f"{GOAL_PER_DUE_CASE} requests per due case: {'met' if met else 'NOT met'})"
            )

        officer = Principal(subject="bench", name="测试", role=Role.dept_officer, department="JJDD")
        samples = []
        for number in range(ACTIONS):
            routed = case(2 * 10**9 + number, Status.routed, end_of_today + timedelta(days=10))
            put(routed)
            started = time.perf_counter()
            cases_api.act(settings, officer, routed.tracking_no, "accept", b'{"version": 1}')
            samples.append(time.perf_counter() - started)
        print(line(f"action accept ({SIZES[-1]} cases)", samples))


if __name__ == "__main__":
    main()
