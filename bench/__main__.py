"""`make bench`: every benchmark, one after another."""

from bench import import_time, intake_latency, routing_throughput

for benchmark in (import_time, routing_throughput, intake_latency):
    benchmark.main()
    print()
