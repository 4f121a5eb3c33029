"""Summaries printed by every benchmark."""

import statistics
import time
from collections.abc import Callable
from typing import Any


def timed(action: Callable[[], Any], runs: int) -> list[float]:
    """The seconds each of `runs` calls of `action` took."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median": statistics.median(ordered), "p95": p95, "n": len(ordered)}


def line(
    label: str, samples: list[float], unit: str = "ms", scale: float = 1000.0, baseline: float | None = None
) -> str:
    result = summary(samples)
    median, p95 = result["median"] * scale, result["p95"] * scale
    text = f"{label:<36} median {median:8.1f} {unit}   p95 {p95:8.1f} {unit}   n={result['n']}"
    if baseline:
        text += f"   x{result['median'] / baseline:.2f} of baseline"
    return text
