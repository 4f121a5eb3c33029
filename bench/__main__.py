"""`make bench`: every benchmark, one after another."""

from bench import import_time, intake_latency, reminders_scale, routing_throughput

for benchmark in (import_time, routing_throughput, intake_latency, reminders_scale):
    benchmark.main()
    print()
