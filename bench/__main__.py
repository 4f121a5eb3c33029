"""`make bench`: every benchmark, one after another."""

from bench.environment import use_moto_in_process

# Before any benchmark imports the code: its logger takes the level (WARNING) when first made, and a bench that
# logs a line per complaint measures the terminal.
use_moto_in_process()

from bench import (  # noqa: E402
    case_list,
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
    case_list,
):
    benchmark.main()
    print()
