"""Seeded random streams.

Every part of the world draws from its own stream, keyed by a label such as
("arrests", day).  Keying by label rather than sharing one generator keeps each feed's
output stable when another feed's logic changes, and lets a day be generated without
replaying every earlier draw.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def stream(seed: int, *labels: object) -> random.Random:
    """An independent generator for one labelled part of the world."""
    key = "|".join([str(seed), *(str(label) for label in labels)])
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def scaled(rng: random.Random, low: float, high: float, scale: float) -> int:
    """A count drawn from [low, high] times scale, rounded stochastically.

    Stochastic rounding keeps the expected volume proportional to scale even when
    scale * low is below one (small test worlds still see the rare events on average).
    """
    value = rng.uniform(low, high) * scale
    whole = int(value)
    return whole + (1 if rng.random() < value - whole else 0)


def weighted(rng: random.Random, table: Sequence[tuple[T, float]]) -> T:
    """One value from (value, weight) pairs."""
    values = [value for value, _ in table]
    weights = [weight for _, weight in table]
    return rng.choices(values, weights=weights, k=1)[0]
