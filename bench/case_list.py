"""A page of the staff case list (GET /cases, shared/routing/cases_api.py) with 5 ms added to every DynamoDB request,
as a round trip in region (moto in memory answers at once), beside a bare Query of one index partition.

The list reads one index partition per status. A queue holding few cases of each status fills no page from its
first partition: the page then also waits for the next ones, read in waves of reads sent together (two, then
four...). Measured: a department officer's queue (statuses but `received`, by due time) and the county-wide list
(every status, by receipt), first pages of 50, over the cases of a small county, written straight into moto's
table; the DynamoDB requests a page makes, and the round trips it waits for one after the other (a read on its own,
or a wave).
"""

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

from bench.environment import cases_table, put_straight, round_trips, use_moto_in_process
from bench.stats import line, summary, timed

CASES = int(os.environ.get("BENCH_LIST_CASES", "400"))
RUNS = int(os.environ.get("BENCH_LIST_RUNS", "20"))
ROUND_TRIP_MS = 5
DEPARTMENT = "GAJ"


@contextmanager
def counting_reads() -> Iterator[dict[str, int]]:
    """The case list's index reads made in the block ("reads"), and the round trips its caller waited for one after
    the other ("rounds"): each read made by the caller's own thread, and each wave of reads sent together."""
    from shared.core.concurrent_reads import Reads
    from shared.core.dal.cases import CaseStore
    from shared.routing import cases_api

    counts = {"reads": 0, "rounds": 0}
    lock = threading.Lock()
    page = CaseStore.page
    caller = threading.current_thread()

    def counted(store: CaseStore, *args: Any, **kwargs: Any) -> Any:
        with lock:
            counts["reads"] += 1
            counts["rounds"] += threading.current_thread() is caller
        return page(store, *args, **kwargs)

    class CountedReads(Reads):
        def __enter__(self) -> Reads:
            counts["rounds"] += 1
            return super().__enter__()

    CaseStore.page = counted  # type: ignore[method-assign,assignment]
    cases_api.Reads = CountedReads  # type: ignore[misc]
    try:
        yield counts
    finally:
        CaseStore.page = page  # type: ignore[method-assign]
        cases_api.Reads = Reads  # type: ignore[misc]


def main() -> None:
    use_moto_in_process()
    from moto import mock_aws

    from bench.report_generation import synthetic_cases
    from infra import moto_patches
    from infra.provision import provision
    from shared.core.auth import Principal, Role
    from shared.core.aws import client, reset_clients
    from shared.core.dal.cases import case_item
    from shared.core.settings import get_settings
    from shared.routing.cases_api import list_cases

    moto_patches.apply()
    reset_clients()
    now = datetime(2026, 10, 20, 12, tzinfo=UTC)
    with mock_aws():
        settings = get_settings()
        provision(settings)
        table = cases_table(settings)
        for case in synthetic_cases(CASES, now):
            put_straight(table, case_item(case))
        viewers = {
            f"{DEPARTMENT} officer's queue": Principal(
                subject="bench", name="测试", role=Role.dept_officer, department=DEPARTMENT
            ),
            "county-wide list": Principal(subject="bench", name="测试", role=Role.county_admin),
        }

        def bare_query() -> Any:
            return client("dynamodb").query(
                TableName=settings.cases_table,
                IndexName="gsi1",
                KeyConditionExpression="gsi1pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"DEPT#{DEPARTMENT}#accepted"}},
                Limit=50,
            )

        print(
            f"staff case list, first page of 50, {CASES} cases of a small county (moto in memory), "
            f"{ROUND_TRIP_MS} ms added to every DynamoDB request as a round trip in region"
        )
        with round_trips(ROUND_TRIP_MS):
            baseline = timed(bare_query, RUNS)
            base = summary(baseline)["median"]
            print(line(f"bare Query DEPT#{DEPARTMENT}#accepted", baseline))
            for label, principal in viewers.items():
                first_page = partial(list_cases, settings, principal, {})
                shown = len(first_page()["items"])  # and warm
                with counting_reads() as reads:
                    taken = timed(first_page, RUNS)
                print(line(label, taken, baseline=base))
                print(
                    f"  {shown} cases on the page; {reads['reads'] / RUNS:.0f} index reads a page, in "
                    f"{reads['rounds'] / RUNS:.0f} round trips one after the other"
                )


if __name__ == "__main__":
    main()
