"""
Uncertainty for the numbers the evaluation scripts and the sense analyses report: bootstrap
confidence intervals over units (lines, sentences, word pairs), permutation tests, and the Wilson
interval of a proportion.
All draws come from a seeded generator, so two runs report the same intervals.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np


def bootstrap_ratio_ci(
    numerators: Sequence[float] | np.ndarray,
    denominators: Sequence[float] | np.ndarray,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Confidence interval of sum(numerators) / sum(denominators) (then transform, e.g. exp for
    a perplexity), resampling the units with replacement. Returns (low, high)."""
    num = np.asarray(numerators, dtype=np.float64)
    den = np.asarray(denominators, dtype=np.float64)
    if len(num) == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    stats = np.empty(n_resamples)
    n = len(num)
    for start in range(0, n_resamples, 100):  # in blocks: bounded memory for many units
        stop = min(start + 100, n_resamples)
        picks = rng.integers(0, n, size=(stop - start, n))
        stats[start:stop] = num[picks].sum(axis=1) / np.maximum(den[picks].sum(axis=1), 1e-300)
    if transform is not None:
        stats = transform(stats)
    alpha = (1 - level) / 2
    return (float(np.quantile(stats, alpha)), float(np.quantile(stats, 1 - alpha)))


def bootstrap_mean_ci(
    values: Sequence[float] | np.ndarray, n_resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float] | tuple[np.ndarray, np.ndarray]:
    """Confidence interval of the mean of values (a 1-D array of per-unit numbers), or, for a
    2-D array (units x components), of each component's mean: returns (low, high) arrays."""
    values = np.asarray(values, dtype=np.float64)
    return (
        bootstrap_ratio_ci(values, np.ones(len(values)), n_resamples=n_resamples, level=level, seed=seed)
        if values.ndim == 1
        else _bootstrap_mean_ci_2d(values, n_resamples, level, seed)
    )


def _bootstrap_mean_ci_2d(values, n_resamples, level, seed):
    rng = np.random.default_rng(seed)
    n = len(values)
    means = np.stack([values[rng.integers(0, n, n)].mean(axis=0) for _ in range(n_resamples)])
    alpha = (1 - level) / 2
    return np.quantile(means, alpha, axis=0), np.quantile(means, 1 - alpha, axis=0)


def permutation_test(
    statistic: Callable[[Any], float],
    data: Any,
    permute: Callable[[Any, np.random.Generator], Any],
    n_permutations: int = 1000,
    seed: int = 0,
) -> tuple[float, float, np.ndarray]:
    """One-sided p-value of statistic(data) against statistic(permute(data, rng)) over
    n_permutations relabellings: how often a permuted statistic is at least as large as the
    observed one, with the +1 correction so that p is never 0. Returns (observed, p_value, null),
    null being the n_permutations permuted statistics."""
    rng = np.random.default_rng(seed)
    observed = statistic(data)
    null = np.array([statistic(permute(data, rng)) for _ in range(n_permutations)])
    return observed, (int((null >= observed).sum()) + 1) / (n_permutations + 1), null


def wilson_interval(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (better than the normal one near 0 and 1)."""
    if trials == 0:
        return (math.nan, math.nan)
    z = NormalDist().inv_cdf(1 - (1 - level) / 2)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return (float(low), float(high))


def jensen_shannon_divergence(
    p: Sequence[float] | np.ndarray, q: Sequence[float] | np.ndarray, base: float = 2
) -> float:
    """JSD between two discrete distributions (normalised here), in bits by default: 0 for
    identical distributions, at most 1 bit."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a, b):
        mask = a > 0
        return float((a[mask] * np.log(a[mask] / b[mask])).sum())

    return (kl(p, m) + kl(q, m)) / 2 / math.log(base)


def mcnemar_exact(only_first: int, only_second: int) -> float:
    """Two-sided p-value of the exact McNemar test: two classifiers scored on the same items,
    only_first items right for the first alone, only_second for the second alone. Under the null
    hypothesis each disagreement goes either way with probability 1/2 (a binomial test on the
    disagreements only); 1.0 when they never disagree."""
    n, k = only_first + only_second, min(only_first, only_second)
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return float(min(1.0, 2 * tail))
