"""The county workbook and the dashboard over counters for 1,000 and 100,000 cases (moto in memory).

Seeding (timed apart, not part of the targets): synthetic case snapshots spread over departments, categories,
channels, domains, statuses, findings and measures, received across the campaign's phases; each one's
`shared.reporting.stats.contribution` summed in memory, then every counter item written through StatsStore's rebuild
writer (`put_row`), as the live consumer would have left them. Cases themselves and their per-case STATS items
are not written: reports never read them (so the typical-case sheet stays empty).

Hotspots only with BENCH_REPORT_HOTSPOTS=1: the cluster items of the days hotspot detection reads are written
straight into moto's table, then one detection run opens the hotspots the reports list. Not cheap: for 100,000
cases about 20,000 cluster items and some 800 hotspots linking 20,000 cases; detection then takes minutes in
moto, and listing the hotspots (every item with its case numbers) about 10 s per report and dashboard.

Measured: the county workbook of the whole campaign (`build_document` + `to_xlsx`), the PDF summary, CSV and
JSON of the same document, and `dashboard.build` county-wide and for one department's officer, each beside a
bare Query of the campaign's counter partition in the same run. Peak memory of one generation is read in a
fresh subprocess (peak RSS above its baseline after imports and seeding, and tracemalloc's peak). moto
serialises every attribute value of a response slowly (a fraction of a millisecond each; botocore parses the
same response in a tenth of the time), so the time spent in DynamoDB requests is printed apart. moto in memory
answers at once, where each request in region is a round trip of several milliseconds: the workbook and the
dashboards are timed again with ROUND_TRIP_MS added to every DynamoDB request, which shows the reads they wait for
one after the other (those sent together, shared/core/concurrent_reads.py, wait once).

The county workbook is timed in turns with the bare Query (one of each, then again), so that a slower moment of the
machine weighs on both alike, and its ratio is printed with a 95% interval (bench/stats.py ratio_interval): a few
runs alone put the ratio a few tenths from where another run puts it. moto's table, which lives in this process,
is kept out of the garbage collector's walks while reports are timed (`seeded_table_frozen`).

BENCH_REPORT_CASES (default 1000,100000), BENCH_REPORT_RUNS (default 21: the workbook and bare Query turns) and
BENCH_DASHBOARD_RUNS (default 5) set the sizes and the numbers of runs.
"""

import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from bench.environment import cases_table, put_straight, round_trips, use_moto_in_process
from bench.stats import line, ratio_interval, summary, timed

SIZES = [int(size) for size in os.environ.get("BENCH_REPORT_CASES", "1000,100000").split(",")]
RUNS = int(os.environ.get("BENCH_REPORT_RUNS", "21"))
DASHBOARD_RUNS = int(os.environ.get("BENCH_DASHBOARD_RUNS", "5"))
WITH_HOTSPOTS = os.environ.get("BENCH_REPORT_HOTSPOTS") == "1"
RENDER_RUNS = 3
# A DynamoDB round trip in region (moto in memory adds none): the reads a report waits for one after the other show.
ROUND_TRIP_MS = 5
TARGET_SECONDS, TARGET_MB = 5.0, 256
# Issue 14, point 7: the county workbook of 100,000 cases within this many times the bare Query of its counter
# partition. Smaller counties' partitions are smaller (806 counter items for 1,000 cases, 1,141 for 100,000) while the
# workbook's own work stays the same, so their ratio is printed without the goal.
TARGET_RATIO, TARGET_RATIO_CASES = 3.0, 100_000
OFFICER_DEPARTMENT = "GAJ"

# Shares of the synthetic cases; departments follow departments.json's order, falling off (see _departments).
CATEGORY_WEIGHTS = {
    "inspection": 12,
    "credentials": 5,
    "penalty": 15,
    "licensing": 12,
    "fees": 8,
    "coercion": 6,
    "abuse": 5,
    "inaction": 14,
    "livelihood": 10,
    "economy": 8,
    "other": 5,
}
CHANNEL_WEIGHTS = {
    "web": 30,
    "sms": 12,
    "email": 4,
    "hotline": 28,
    "letter": 5,
    "visit": 8,
    "survey": 5,
    "inspection": 5,
    "media": 3,
}
DOMAIN_WEIGHTS = {"enterprise": 40, "livelihood": 35, "general": 25}
PHASE_WEIGHTS = (5, 85, 10)  # publicity, implementation, summary and acceptance
FINDING_WEIGHTS = {"substantiated": 35, "partly": 20, "unsubstantiated": 45}
MEASURE_CHANCES = {"correct": 0.6, "revoke": 0.1, "order_rectification": 0.4, "hold_accountable": 0.08}
# Where a case accepted in time for it got to: (status, share).
STAGES = (
    ("accepted", 4),
    ("investigating", 8),
    ("decided", 4),
    ("replied", 6),
    ("rectifying", 4),
    ("reviewing", 1),
    ("closed", 73),
)


# --- synthetic cases ------------------------------------------------------------------------------------------


def _departments() -> tuple[list[str], list[float]]:
    """Departments in file order, the first ones most complained about; the county legal office triages few."""
    from shared.core import reference_data

    codes = [department.code for department in reference_data.departments()]
    weights = [0.3 if code == "FZB" else 1 / (rank + 1) ** 0.9 for rank, code in enumerate(codes)]
    return codes, weights


def _units() -> dict[str, list[str]]:
    """Names a respondent is written as, per department: some of its aliases, one with spacing and a full stop
    (the same unit once normalised), and its officers."""
    from shared.core import reference_data

    found = {}
    for department in reference_data.departments():
        aliases = list(department.aliases[:4]) or [department.name]
        found[department.code] = [*aliases, f"县 {aliases[0]}。", f"{aliases[0]}执法人员"]
    return found


def synthetic_cases(count: int, now: datetime, seed: int = 5) -> Iterator[Any]:
    """`count` case snapshots (shared.core.models.Case) received across the campaign, as they stand at `now`."""
    from shared.core import reference_data
    from shared.core.models import Case
    from shared.reporting import periods

    rng = random.Random(seed)
    zone = reference_data.county_timezone()
    codes, weights = _departments()
    units = _units()
    phases = periods.campaign_periods()[1:]

    def pick(shares: dict[str, int]) -> str:
        return rng.choices(list(shares), list(shares.values()))[0]

    for number in range(count):
        phase = rng.choices(phases, PHASE_WEIGHTS)[0]
        day = phase.start + timedelta(days=rng.randrange((phase.end - phase.start).days + 1))
        local = datetime(day.year, day.month, day.day, 8, tzinfo=zone) + timedelta(minutes=rng.randrange(600))
        received = local.astimezone(UTC)
        department = rng.choices(codes, weights)[0]
        values: dict[str, Any] = {
            "tracking_no": f"ZF{number:012d}",
            "channel": pick(CHANNEL_WEIGHTS),
            "received_at": received,
            "description": "执法检查",
            "raw_key": f"raw/bench/{number}.json",
            "verification_hash": "0" * 64,
            "category": pick(CATEGORY_WEIGHTS),
            "domain": pick(DOMAIN_WEIGHTS),
            "department": department,
            "respondent": rng.choice(units[department]) if rng.random() < 0.7 else None,
            "routed_at": received + timedelta(minutes=1),
            "acceptance_due_at": received + timedelta(days=15),
            "version": 3,
        }
        if rng.random() < 0.03:
            values["transferred_from"] = rng.choices(codes, weights)[0]
        draw = rng.random()
        accepted_at = received + timedelta(days=rng.uniform(0.5, 18))
        if draw < 0.02:
            values.update(status="merged", merged_into=f"ZF{rng.randrange(max(number, 1)):012d}")
        elif draw < 0.07:
            values["status"] = "not_accepted"
        elif draw < 0.10 or accepted_at > now:
            values["status"] = "routed"
        else:
            values.update(_handled(rng, accepted_at, now))
        yield Case.model_validate(values)


def _handled(rng: random.Random, accepted_at: datetime, now: datetime) -> dict[str, Any]:
    """The fields of an accepted case at `now`: how far it got, the finding, measures and reply."""
    status = rng.choices([stage for stage, _ in STAGES], [share for _, share in STAGES])[0]
    replied_at = accepted_at + timedelta(days=rng.uniform(5, 70))
    if status in ("replied", "rectifying", "reviewing", "closed") and replied_at > now:
        status = "investigating"  # not replied yet
    values: dict[str, Any] = {
        "status": status,
        "accepted_at": accepted_at,
        "reply_due_at": accepted_at + timedelta(days=60),
        "handler": "bench",
    }
    if rng.random() < 0.04:
        values["escalated_at"] = accepted_at + timedelta(days=61)
    if status in ("accepted", "investigating"):
        return values
    finding = rng.choices(list(FINDING_WEIGHTS), list(FINDING_WEIGHTS.values()))[0]
    values["finding"] = finding
    if finding != "unsubstantiated":
        values["measures"] = [measure for measure, chance in MEASURE_CHANCES.items() if rng.random() < chance]
        if "hold_accountable" in values["measures"]:
            values["accountable_persons"] = rng.randint(1, 3)
    if status == "decided":
        return values
    values["replied_at"] = replied_at
    if status == "closed":
        values["closed_at"] = replied_at + timedelta(days=1)
        values["typical"] = rng.choices([None, "positive", "negative"], [993, 3, 4])[0]
    return values


# --- seeding --------------------------------------------------------------------------------------------------


def counted(count: int, now: datetime) -> tuple[dict[tuple[str, str], dict[str, int]], dict[tuple[str, str], set]]:
    """The counter items ((period, department) -> counters) and cluster items ((day, key) -> tracking numbers)
    that `count` cases add up to, summed from each one's contribution."""
    from shared.reporting.stats import contribution

    rows: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    clusters: dict[tuple[str, str], set[str]] = defaultdict(set)
    for case in synthetic_cases(count, now):
        added = contribution(case)
        for (period, department, name), amount in added.counts.items():
            row = rows[(period, department)]
            row[name] = row.get(name, 0) + amount
        for cluster in added.clusters:
            clusters[cluster].add(case.tracking_no)
    return rows, clusters


def detection_days(today: date) -> set[str]:
    """The county days one hotspot detection run reads: each window and the one before it."""
    from shared.reporting import hotspots

    days = hotspots.rules().windows
    return {day.isoformat() for size in days for back in (0, 1) for day in hotspots.window(today, size, back)}


def seed(settings: Any, count: int, now: datetime) -> dict[str, Any]:
    """Write the counters of `count` cases (and open their hotspots if asked); what was written, and how long
    it took."""
    from shared.core.dal.hotspots import HotspotStore
    from shared.core.dal.items import to_item  # to_item: the stored form, to write it directly
    from shared.core.dal.stats import StatsStore
    from shared.reporting import hotspots, periods

    started = time.perf_counter()
    rows, clusters = counted(count, now)
    summed = time.perf_counter()
    store = StatsStore(settings)
    for (period, department), counters in rows.items():
        store.put_row(period, department, counters)
    written = time.perf_counter()
    print(
        f"seeded {count} cases: {len(rows)} counter items   (contributions summed {summed - started:.1f}s, "
        f"counters written {written - summed:.1f}s)"
    )
    seeded: dict[str, Any] = {
        "rows": [[period, department, counters] for (period, department), counters in rows.items()],
        "hotspots": [],
    }
    if not WITH_HOTSPOTS:
        return seeded
    table = cases_table(settings)
    read_days = detection_days(periods.county_day(now))
    cluster_items = 0
    for (day, key), cases in clusters.items():
        if day in read_days:  # what StatsStore.put_cluster writes, without a request each
            put_straight(table, to_item({"pk": f"CLUSTER#{day}", "sk": key, "count": len(cases), "cases": cases}))
            cluster_items += 1
    detection = hotspots.detect(settings, now)
    listed = HotspotStore(settings).listed()
    seeded["hotspots"] = [hotspots.Hotspot.model_validate(item).model_dump(mode="json") for item in listed]
    print(
        f"  {cluster_items} cluster items, {len(detection.opened)} hotspots opened linking "
        f"{sum(len(item['cases']) for item in seeded['hotspots'])} cases ({time.perf_counter() - written:.1f}s)"
    )
    return seeded


def restore(settings: Any, seeded: dict[str, Any]) -> None:
    """Write what `seed` returned again (in the memory subprocess): the counter items and hotspots."""
    from shared.core.dal.hotspots import HotspotStore
    from shared.core.dal.stats import StatsStore

    for period, department, counters in seeded["rows"]:
        StatsStore(settings).put_row(period, department, counters)
    for values in seeded["hotspots"]:
        HotspotStore(settings).open(values)


# --- measuring ------------------------------------------------------------------------------------------------


class RequestClock:
    """Counts DynamoDB requests and the time spent in them (botocore before-call / after-call), also of requests
    sent together from several threads (a report's reads): each thread's request timed on its own."""

    def __init__(self) -> None:
        from shared.core.aws import client

        self.requests, self.seconds = 0, 0.0
        self._started = threading.local()
        self._lock = threading.Lock()
        events = client("dynamodb").meta.events
        events.register("before-call.dynamodb", self._before)
        events.register("after-call.dynamodb", self._after)

    def _before(self, **kwargs: Any) -> None:
        self._started.at = time.perf_counter()

    def _after(self, **kwargs: Any) -> None:
        taken = time.perf_counter() - self._started.at
        with self._lock:
            self.requests += 1
            self.seconds += taken

    def reset(self) -> None:
        self.requests, self.seconds = 0, 0.0


def bare_query(settings: Any, period_key: str) -> Callable[[], Any]:
    """The baseline: one Query of a period's counter partition, nothing parsed."""
    from shared.core.aws import client

    def query() -> Any:
        return client("dynamodb").query(
            TableName=settings.cases_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"STATS#{period_key}"}},
        )

    return query


def county_workbook(settings: Any, now: datetime) -> tuple[Any, bytes]:
    from shared.reporting import periods, reports, workbook
    from shared.reporting.report_document import COUNTY_SCOPE

    document = reports.build_document(settings, periods.campaign_periods()[0], COUNTY_SCOPE, now, "bench")
    return document, workbook.to_xlsx(document)


def measure_size(count: int, now: datetime, folder: Path, full: bool) -> float:
    """Seed `count` cases and measure; the median time of the county workbook."""
    from moto import mock_aws

    from infra.provision import provision
    from shared.core.aws import reset_clients
    from shared.core.settings import get_settings

    reset_clients()  # fresh clients (and request hooks) for this size's moto
    with mock_aws():
        settings = get_settings()
        provision(settings)
        seeded = seed(settings, count, now)
        with seeded_table_frozen():
            median = measure_seeded(settings, count, now, seeded, folder, full)
    return median


@contextmanager
def seeded_table_frozen() -> Iterator[None]:
    """moto's seeded table kept out of the collector's walks while the reports are timed: it lives in this process,
    where on AWS it is DynamoDB's, and full collections walking its 100,000 cases' items paused some runs by 100 ms
    and more, as no Lambda would be paused."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def measure_seeded(settings: Any, count: int, now: datetime, seeded: dict[str, Any], folder: Path, full: bool) -> float:
    """The county workbook (its median time, returned), its sizes and formats, and the dashboards, over `seeded`."""
    from shared.core.auth import Principal, Role
    from shared.reporting import dashboard, periods, reports, summary_pdf, workbook
    from shared.reporting.report_document import COUNTY_SCOPE

    campaign = periods.campaign_periods()[0]
    clock = RequestClock()
    query = bare_query(settings, campaign.key)
    query()
    county_workbook(settings, now)  # warm-up: reference data cached
    baseline, totals, builds, xlsx = [], [], [], []
    requests = in_requests = 0.0
    for _ in range(RUNS):
        # In turns with the bare Query, so that a slower moment of the machine weighs on both alike.
        baseline += timed(query, 1)
        clock.reset()
        started = time.perf_counter()
        document = reports.build_document(settings, campaign, COUNTY_SCOPE, now, "bench")
        built = time.perf_counter()
        workbook.to_xlsx(document)
        totals.append(time.perf_counter() - started)
        builds.append(built - started)
        xlsx.append(time.perf_counter() - built)
        requests, in_requests = requests + clock.requests / RUNS, in_requests + clock.seconds / RUNS
    base, median = summary(baseline)["median"], summary(totals)["median"]
    low, high = ratio_interval(totals, baseline)
    interval = f"95% interval x{low:.2f}-{high:.2f}"
    if count == TARGET_RATIO_CASES:
        met = "met" if median <= TARGET_RATIO * base else "NOT met"
        ratio = f"at most x{TARGET_RATIO:.0f} of the bare Query ({interval}): {met}"
    else:
        ratio = f"{interval}; the goal of at most x{TARGET_RATIO:.0f} is for {TARGET_RATIO_CASES:,} cases"
    print(line(f"bare Query STATS#{campaign.key}", baseline))
    print(line(f"county workbook, {count} cases", totals, baseline=base))
    print(line("  of which build_document", builds, baseline=base))
    print(line("  of which to_xlsx", xlsx, baseline=base))
    print(
        f"  {requests:.0f} DynamoDB requests a workbook, {1000 * in_requests:.0f} ms in them (moto; summed, though "
        f"most are sent together); {len(document.hotspots)} hotspots listed; "
        f"target under {TARGET_SECONDS:.0f} s: {'met' if median < TARGET_SECONDS else 'NOT met'}; {ratio}"
    )
    peak = peak_memory(seeded, now, folder / f"seeded-{count}.json")
    print(
        f"  peak memory (fresh process): RSS +{peak['rss_mb']:.1f} MB over the baseline after imports (moto, "
        f"its table and the seeding included; the generation itself +{peak['generation_mb']:.1f} MB), "
        f"tracemalloc peak {peak['traced_mb']:.1f} MB, whole process {peak['peak_mb']:.0f} MB; "
        f"target under {TARGET_MB} MB: "
        f"{'met' if max(peak['rss_mb'], peak['traced_mb']) < TARGET_MB else 'NOT met'}"
    )
    if not full:
        return median
    print(line("PDF summary (same document)", timed(lambda: summary_pdf.to_pdf(document), RENDER_RUNS), "s", 1.0))
    print(line("CSV (same document)", timed(lambda: workbook.to_csv(document), RENDER_RUNS), baseline=base))
    print(line("JSON (same document)", timed(lambda: workbook.to_json(document), RENDER_RUNS), baseline=base))
    viewers = {
        "dashboard, county_admin": Principal(subject="bench", name="测试", role=Role.county_admin),
        f"dashboard, dept_officer {OFFICER_DEPARTMENT}": Principal(
            subject="bench", name="测试", role=Role.dept_officer, department=OFFICER_DEPARTMENT
        ),
    }
    dashboards = {
        label: partial(dashboard.build, settings, principal, campaign.key, now) for label, principal in viewers.items()
    }
    for label, build in dashboards.items():
        build()  # warm-up
        clock.reset()
        print(line(label, timed(build, DASHBOARD_RUNS), baseline=base))
        print(
            f"  {clock.requests / DASHBOARD_RUNS:.0f} DynamoDB requests a build, "
            f"{1000 * clock.seconds / DASHBOARD_RUNS:.0f} ms in them (moto; summed, though sent together)"
        )
    with round_trips(ROUND_TRIP_MS):
        print(f"with {ROUND_TRIP_MS} ms added to every DynamoDB request, as a round trip in region:")
        trip_baseline = timed(query, 20)
        trip_base = summary(trip_baseline)["median"]
        print(line(f"  bare Query STATS#{campaign.key}", trip_baseline))
        print(line("  county workbook", timed(lambda: county_workbook(settings, now), RUNS), baseline=trip_base))
        for label, build in dashboards.items():
            print(line(f"  {label}", timed(build, DASHBOARD_RUNS), baseline=trip_base))
    return median


# --- peak memory, in a fresh process ----------------------------------------------------------------------------


def peak_memory(seeded: dict[str, Any], now: datetime, path: Path) -> dict[str, float]:
    path.write_text(json.dumps({"now": now.isoformat(), **seeded}, ensure_ascii=False))
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-m", "bench.report_generation", "--memory", str(path)],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _rss_mb() -> float:
    """This process's peak resident set so far (VmHWM). Not getrusage's ru_maxrss: Linux carries that over from
    the parent through fork and exec, so a child of `make bench` (whose process holds every earlier benchmark's
    moto) reported the parent's peak."""
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024  # kB


def memory_child(path: Path) -> None:
    """Seed from the file, then generate the county workbook once (peak RSS) and once more under tracemalloc."""
    use_moto_in_process()
    from moto import mock_aws

    from infra import moto_patches
    from infra.provision import provision
    from shared.core.settings import get_settings
    from shared.reporting import reports, workbook  # noqa: F401  (imported by county_workbook)

    imported = _rss_mb()
    seeded = json.loads(path.read_text())
    now = datetime.fromisoformat(seeded["now"])
    moto_patches.apply()
    with mock_aws():
        settings = get_settings()
        provision(settings)
        restore(settings, seeded)
        del seeded
        gc.collect()
        before = _rss_mb()
        county_workbook(settings, now)
        peak = _rss_mb()
        gc.collect()
        tracemalloc.start()
        county_workbook(settings, now)
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    measured = {"rss_mb": peak - imported, "generation_mb": peak - before, "traced_mb": traced, "peak_mb": peak}
    print(json.dumps(measured))


def main() -> None:
    use_moto_in_process()
    from infra import moto_patches
    from shared.core import reference_data

    moto_patches.apply()
    # The evening the campaign ends (quiet hours: detection opens hotspots without sending SMS).
    now = datetime(2026, 10, 20, 22, 0, tzinfo=reference_data.county_timezone()).astimezone(UTC)
    print(f"county report and dashboard over the counters of the whole campaign (moto in memory), now {now:%Y-%m-%d}")
    with tempfile.TemporaryDirectory() as folder:
        medians = {count: measure_size(count, now, Path(folder), full=count == max(SIZES)) for count in SIZES}
    print(
        "county workbook by cases counted (the counters grow with departments and periods, not cases): "
        + ", ".join(f"{count} cases {1000 * median:.0f} ms" for count, median in medians.items())
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--memory"]:
        memory_child(Path(sys.argv[2]))
    else:
        main()
