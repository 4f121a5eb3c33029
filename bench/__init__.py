"""Benchmarks: `make bench` prints numbers; nothing here is asserted by tests."""
