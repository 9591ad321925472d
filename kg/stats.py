"""Uncertainty of reported rates: a rate with its n/N gets an interval, so comparisons and charts
show how much a difference between two rates can mean.

The interval is Wilson's score interval. Unlike the normal approximation (p ± z·√(p(1-p)/n)) it
stays inside 0-100 % and still has a width at 0/N and N/N, where trials of immunotherapies often
sit (no grade ≥3 CRS in 20 patients is not a certain 0 %).
"""

from __future__ import annotations

import math


def wilson(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of `successes` out of `n`, as percentages 0-100 (z = 1.96: 95 %).

    `successes` may be fractional: a source that gives only a percentage and n yields
    percentage × n / 100.

    >>> [round(x, 1) for x in wilson(8, 11)]
    [43.4, 90.3]
    >>> [round(x, 1) for x in wilson(0, 20)]
    [0.0, 16.1]
    >>> [round(x, 1) for x in wilson(20, 20)]
    [83.9, 100.0]
    >>> [round(x, 1) for x in wilson(0.52 * 93, 93)]
    [42.0, 61.9]
    >>> wilson(3, 0)
    Traceback (most recent call last):
    ...
    ValueError: n must be positive, got 0
    >>> wilson(12, 11)
    Traceback (most recent call last):
    ...
    ValueError: successes must be between 0 and n (11), got 12
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n ({n}), got {successes}")
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # At 0/N and N/N centre and half are equal up to rounding; keep the bounds inside 0-100.
    return max(0.0, centre - half) * 100, min(1.0, centre + half) * 100
