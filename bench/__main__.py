"""`make bench`: every benchmark, one after another, each in a process of its own.

A process of its own, so that no benchmark measures with what an earlier one left behind: moto's tables and queues,
clients, and a heap that the garbage collector walks on every full collection (run in one process after the
others, the county workbook took a third longer than alone). A benchmark that fails is reported at the end, after
the others have run.
"""

import subprocess
import sys

from bench.environment import use_moto_in_process

BENCHMARKS = (
    "classifier_accuracy",
    "import_time",
    "routing_throughput",
    "intake_latency",
    "lifecycle_cost",
    "reminders_scale",
    "report_generation",
    "case_list",
)


def main() -> int:
    # Inherited by every benchmark's process before it imports the code: its logger takes the level (WARNING)
    # when first made, and a bench that logs a line per complaint would measure the terminal.
    use_moto_in_process()
    failed = []
    for name in BENCHMARKS:
        if subprocess.run([sys.executable, "-m", f"bench.{name}"], check=False).returncode:
            failed.append(name)
        print(flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
