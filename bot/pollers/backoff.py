"""Back-off after failed polls, and jitter for regular poll intervals, as pure values.

The scheduler keeps the count of consecutive failures of a source; these functions turn it into
the next delay and into the decision to pause the source until someone looks at it. The random
generator is passed in, so tests (and replays) are deterministic.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass

logger = logging.getLogger(__name__)

JITTER = 0.10  # ±10 %


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential back-off: ``base * factor ** (failures - 1)`` seconds, capped at ``max``.

    ``pause_after`` consecutive failures pause the source (``should_pause``).
    """

    base: float = 60
    factor: float = 2
    max: float = 6 * 3600
    pause_after: int = 8

    def __post_init__(self) -> None:
        if self.base <= 0 or self.factor < 1 or self.max < self.base or self.pause_after < 1:
            raise ValueError(
                "Backoff needs base > 0, factor >= 1, max >= base and pause_after >= 1"
            )

    def next_delay(self, failures: int, jitter: random.Random) -> float:
        """Seconds to wait after ``failures`` consecutive failures (0 when there were none).

        The delay is jittered by ±10 % and never exceeds ``max``.
        """
        if failures <= 0:
            return 0.0
        exponent = failures - 1
        if self.factor > 1:
            # Past this exponent the raw delay is over the cap anyway; never compute huge powers.
            exponent = min(exponent, math.ceil(math.log(self.max / self.base, self.factor)) + 1)
        raw = min(self.max, self.base * self.factor**exponent)
        return min(self.max, raw * jitter.uniform(1 - JITTER, 1 + JITTER))

    def should_pause(self, failures: int) -> bool:
        """True once ``failures`` consecutive failures reach ``pause_after``."""
        return failures >= self.pause_after


def jittered_interval(interval: float, rng: random.Random) -> float:
    """``interval`` seconds ±10 %, so sources polled on the same schedule spread out."""
    return interval * rng.uniform(1 - JITTER, 1 + JITTER)
