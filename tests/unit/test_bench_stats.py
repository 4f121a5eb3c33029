"""The interval the benchmarks print beside a ratio of medians (bench/stats.py)."""

import random

import pytest

from bench.stats import ratio_interval


def turns(count: int, ratio: float, seed: int = 1) -> tuple[list[float], list[float]]:
    """`count` turns of a route `ratio` times as slow as its floor, on a machine whose speed drifts between turns."""
    draw = random.Random(seed)
    floors, routes = [], []
    for _ in range(count):
        speed = draw.uniform(0.8, 1.3)  # the machine, alike for both routes of a turn
        floors.append(10.0 * speed * draw.gauss(1, 0.1))
        routes.append(10.0 * ratio * speed * draw.gauss(1, 0.1))
    return routes, floors


def test_the_interval_holds_the_true_ratio_and_narrows_with_more_turns() -> None:
    # given runs of 100 and of 1,000 turns of a route 1.15 times as slow as its floor
    few, many = turns(100, 1.15), turns(1000, 1.15)
    # when their intervals are taken
    few_low, few_high = ratio_interval(*few)
    many_low, many_high = ratio_interval(*many)
    # then both hold the true ratio, and more turns give a narrower one
    assert few_low < 1.15 < few_high
    assert many_low < 1.15 < many_high
    assert many_high - many_low < (few_high - few_low) / 2


def test_the_same_samples_give_a_ratio_of_one_exactly() -> None:
    # given a route timed against itself
    routes, _ = turns(200, 1.0)
    # when the interval is taken / then it is x1 at both ends
    assert ratio_interval(routes, routes) == (1.0, 1.0)


def test_samples_of_different_runs_are_refused() -> None:
    # given samples that were not taken in the same turns / when the interval is asked / then it is refused
    with pytest.raises(ValueError, match="same turns"):
        ratio_interval([1.0, 2.0], [1.0])
