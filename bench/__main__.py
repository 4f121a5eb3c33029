"""`make bench`: every benchmark, one after another."""

from bench import (
    classifier_accuracy,
    import_time,
    intake_latency,
    lifecycle_cost,
    reminders_scale,
    report_generation,
    routing_throughput,
)

for benchmark in (
    classifier_accuracy,
    import_time,
    routing_throughput,
    intake_latency,
    lifecycle_cost,
    reminders_scale,
    report_generation,
):
    benchmark.main()
    print()
