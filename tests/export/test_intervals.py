"""The run's intervals and pass@k, against independent references: scipy's Wilson interval
and bootstrap, and pass@k counted over every subset of a pair's runs."""

import itertools

import numpy as np
import pytest
from scipy import stats

from coopbench.export.intervals import (
    BOOTSTRAP_RESAMPLES,
    pair_bootstrap_mean,
    pair_bootstrap_rate,
    pass_at_k,
    wilson_interval,
)

# Two bootstraps of 10,000 resamples with different random draws agree on a percentile to
# about this much at these sizes (the percentile's own Monte-Carlo error is ~0.005).
MONTE_CARLO = 0.02


@pytest.mark.parametrize("successes,trials", [(0, 1), (1, 1), (0, 12), (9, 12), (12, 12),
                                              (37, 100), (1, 652), (300, 652)])
def test_wilson_is_scipys_wilson(successes, trials):
    expected = stats.binomtest(successes, trials).proportion_ci(0.95, method="wilson")
    assert wilson_interval(successes, trials) == pytest.approx((expected.low, expected.high), abs=1e-12)


def test_pass_at_k_is_the_share_of_k_subsets_with_a_pass():
    for runs in range(1, 7):
        for successes in range(runs + 1):
            outcomes = [True] * successes + [False] * (runs - successes)
            for k in range(1, runs + 1):
                subsets = list(itertools.combinations(outcomes, k))
                share = sum(any(s) for s in subsets) / len(subsets)
                assert pass_at_k(runs, successes, k) == pytest.approx(share, abs=1e-12)
    with pytest.raises(ValueError, match="pass@4"):
        pass_at_k(3, 1, 4)


def _scipy_percentile_bootstrap(data, statistic) -> tuple[float, float]:
    result = stats.bootstrap(data, statistic, paired=True, vectorized=False, method="percentile",
                             n_resamples=BOOTSTRAP_RESAMPLES, rng=np.random.default_rng(12345))
    return result.confidence_interval.low, result.confidence_interval.high


def test_the_paired_difference_interval_is_scipys_percentile_bootstrap():
    rng = np.random.default_rng(7)
    differences = rng.choice([-1.0, 0.0, 0.0, 1.0, 1.0], size=120)  # solo minus coop per pair
    ours = pair_bootstrap_mean(differences)
    assert ours == pytest.approx(_scipy_percentile_bootstrap((differences,), np.mean), abs=MONTE_CARLO)
    assert ours[0] < differences.mean() < ours[1]


def test_the_rate_interval_with_repeats_is_scipys_paired_bootstrap_of_the_ratio():
    rng = np.random.default_rng(8)
    runs = rng.integers(2, 5, size=80)  # repeats done per pair, unequal while a run goes on
    successes = rng.binomial(runs, rng.uniform(0, 1, size=80))
    ours = pair_bootstrap_rate(successes, runs)
    reference = _scipy_percentile_bootstrap((successes, runs), lambda s, n: s.sum() / n.sum())
    assert ours == pytest.approx(reference, abs=MONTE_CARLO)


def test_repeats_of_a_pair_that_always_agree_add_no_certainty():
    """Five identical runs of each pair carry the evidence of one run of each: the pair
    bootstrap's interval is the single runs' interval, not the far narrower one of 5x as
    many independent trials."""
    once = np.array([1] * 13 + [0] * 27)
    single = pair_bootstrap_rate(once, np.ones_like(once))
    repeated = pair_bootstrap_rate(once * 5, np.full_like(once, 5))
    assert repeated == pytest.approx(single, abs=1e-12)
    naive_low, naive_high = wilson_interval(int(once.sum()) * 5, len(once) * 5)
    assert repeated[1] - repeated[0] > 1.5 * (naive_high - naive_low)


def test_the_bootstrap_is_seeded_so_an_export_is_repeatable():
    values = [0.0, 1.0, -1.0, 0.5, 1.0, 0.0]
    assert pair_bootstrap_mean(values) == pair_bootstrap_mean(values)
