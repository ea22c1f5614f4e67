"""How sure a run's figures are: 95 % intervals for a setting's success rate and for the
difference between two settings on the same pairs, and pass@k over repeats.

The unit of evidence is the pair, not the run: the repeats of one pair share its difficulty,
so they are never counted as independent trials.

- **One run per pair**: the success rate's interval is Wilson's score interval (it stays
  inside [0, 1] and keeps its width at 0 and 1 successes, where a bootstrap collapses).
- **Repeats**: a percentile bootstrap that resamples pairs, each with all its runs
  (``BOOTSTRAP_RESAMPLES``, seeded: the same store gives the same manifest), drawn as counts
  per kind of pair (``_resampled_kinds``).
- **A paired difference** (solo minus coop on the pairs done in both): the same pair
  bootstrap, over each pair's difference of success fractions.
- **pass@k**: the unbiased estimator of Chen et al. (2021), averaged over pairs.
"""

import math
from collections.abc import Sequence

LEVEL = 0.95
Z_95 = 1.959963984540054  # the standard normal's 97.5th percentile
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0


def wilson_interval(successes: int, trials: int) -> tuple[float, float]:
    """Wilson's score interval for a binomial proportion (``LEVEL``)."""
    if trials == 0:
        return 0.0, 1.0
    p, z2 = successes / trials, Z_95 ** 2
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = Z_95 * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials ** 2)) / (1 + z2 / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def pair_bootstrap_rate(successes: Sequence[int], runs: Sequence[int]) -> tuple[float, float]:
    """Percentile interval of sum(successes) / sum(runs), resampling pairs (index i is one
    pair: its successes and its runs)."""
    import numpy as np

    kinds, counts = _resampled_kinds(np.column_stack([successes, runs]).astype(float))
    return _percentiles((counts @ kinds[:, 0]) / (counts @ kinds[:, 1]))


def pair_bootstrap_mean(values: Sequence[float]) -> tuple[float, float]:
    """Percentile interval of the mean of per-pair values (a paired difference's)."""
    import numpy as np

    kinds, counts = _resampled_kinds(np.asarray(values, float).reshape(-1, 1))
    return _percentiles(counts @ kinds[:, 0] / len(values))


def pass_at_k(runs: int, successes: int, k: int) -> float:
    """The chance that at least one of k runs drawn from a pair's ``runs`` passes, given that
    ``successes`` of them did: 1 - C(runs - successes, k) / C(runs, k)."""
    if not 1 <= k <= runs:
        raise ValueError(f"pass@{k} needs 1 <= k <= runs ({runs})")
    return 1.0 - math.comb(runs - successes, k) / math.comb(runs, k)


def _resampled_kinds(pairs):
    """The distinct rows of ``pairs`` (one row per pair) and, for each of
    ``BOOTSTRAP_RESAMPLES`` resamples of the pairs with replacement, how many of each it
    drew. Pairs with the same row are interchangeable in every statistic here, so drawing
    counts per kind (a multinomial) is the pair bootstrap itself, in memory and time that
    grow with the few kinds a run has (a pass, a fail, a share of K), not with its pairs."""
    import numpy as np

    if len(pairs) == 0:
        raise ValueError("no pairs to resample")
    kinds, sizes = np.unique(pairs, axis=0, return_counts=True)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    return kinds, rng.multinomial(len(pairs), sizes / len(pairs), size=BOOTSTRAP_RESAMPLES)


def _percentiles(estimates) -> tuple[float, float]:
    import numpy as np

    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(estimates, [tail, 100 - tail])
    return float(low), float(high)
