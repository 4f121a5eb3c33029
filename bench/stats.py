"""Summaries printed by every benchmark."""

import random
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


def ratio_interval(numerators: list[float], denominators: list[float], draws: int = 1000) -> tuple[float, float]:
    """A 95% bootstrap interval of median(numerators) / median(denominators), for samples taken in the same turns
    (the n-th of each in the n-th turn): turns are drawn with replacement, both samples of a turn together, so that
    a slower moment of the machine weighs on both as it did in the run. It says how far another run of the same code
    may land from this one."""
    if len(numerators) != len(denominators):
        raise ValueError("samples of the same turns expected")
    # A resampling of a benchmark's numbers, not a secret: a plain pseudo-random generator, seeded, is right here.
    draw = random.Random(14)  # nosec B311
    turns = range(len(numerators))
    ratios = sorted(
        statistics.median(numerators[turn] for turn in chosen)
        / statistics.median(denominators[turn] for turn in chosen)
        for chosen in (draw.choices(turns, k=len(turns)) for _ in range(draws))
    )
    return ratios[round(0.025 * (draws - 1))], ratios[round(0.975 * (draws - 1))]
