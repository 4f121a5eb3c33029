"""Summaries printed by every benchmark."""

import statistics


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
