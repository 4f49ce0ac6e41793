"""Back-off delays grow, cap and pause; poll intervals are jittered by ±10 %."""

from __future__ import annotations

import random

import pytest

from bot.pollers.backoff import Backoff, jittered_interval


def test_delays_grow_from_base_and_double() -> None:
    policy = Backoff()
    rng = random.Random(7)
    for failures, raw in [(1, 60), (2, 120), (3, 240), (4, 480), (8, 7680)]:
        for _ in range(50):
            assert raw * 0.9 <= policy.next_delay(failures, rng) <= raw * 1.1


def test_delays_are_capped() -> None:
    policy = Backoff(base=60, factor=2, max=6 * 3600)
    rng = random.Random(1)
    delays = [policy.next_delay(failures, rng) for failures in (10, 11, 50, 10**9)]
    assert all(6 * 3600 * 0.9 <= delay <= 6 * 3600 for delay in delays)


def test_no_failure_no_delay() -> None:
    assert Backoff().next_delay(0, random.Random(0)) == 0.0


def test_delays_are_jittered_and_reproducible() -> None:
    policy = Backoff()
    first = [policy.next_delay(3, random.Random(42)) for _ in range(3)]
    assert len(set(first)) == 1  # same seed, same delay
    spread = {policy.next_delay(3, rng) for rng in [random.Random(seed) for seed in range(20)]}
    assert len(spread) > 10


def test_pause_after_n_failures() -> None:
    policy = Backoff(pause_after=8)
    assert not policy.should_pause(0)
    assert not policy.should_pause(7)
    assert policy.should_pause(8)
    assert policy.should_pause(9)


def test_jittered_interval_stays_within_ten_percent() -> None:
    rng = random.Random(3)
    values = [jittered_interval(300, rng) for _ in range(200)]
    assert all(270 <= value <= 330 for value in values)
    assert max(values) - min(values) > 30  # it does spread


@pytest.mark.parametrize(
    "kwargs",
    [{"base": 0}, {"factor": 0.5}, {"base": 100, "max": 10}, {"pause_after": 0}],
)
def test_invalid_policy(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="Backoff needs"):
        Backoff(**kwargs)  # type: ignore[arg-type]
