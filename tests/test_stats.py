"""The course's statistics convention (prunerl.stats): median and its order-statistic interval, success rates, paired
comparisons, episode seeds, return ranges (coverage: tests/test_coverage.py)."""
import numpy as np
import pytest

from prunerl import stats


def test_iqm_is_the_mean_of_the_middle_half():
    assert stats.iqm([1, 2, 3, 4, 100, 5, 6, 7]) == pytest.approx(np.mean([3, 4, 5, 6]))
    assert stats.iqm([0, 10, 10, 500]) == 10.0  # one outlier each side dropped


def test_interval_is_the_order_statistics_at_the_exact_level():
    x = [9.4, 500.0, 120.0, 480.0, 33.0, 250.0, 500.0, 77.0, 310.0, 12.0]
    ordered = sorted(x)
    assert stats.interval(x) == (ordered[1], ordered[8])  # [x(2), x(9)] of 10 seeds
    assert stats.level(10) == pytest.approx(0.978515625)
    assert stats.interval(x[:5]) == (min(x[:5]), max(x[:5])) and stats.level(5) == 0.9375


def test_interval_stays_within_the_data_where_a_t_band_would_not():
    values = [500.0, 500.0, 9.4]  # CartPole: two perfect seeds, one collapsed
    low, high = stats.interval(values)
    assert 9.4 <= low <= high <= 500.0
    from scipy import stats as st

    half = st.t.ppf(0.975, 2) * np.std(values, ddof=1) / np.sqrt(3)
    assert np.mean(values) + half > 500  # the convention this replaces leaves the task's range


@pytest.mark.parametrize("n", [2, 3, 5, 10])
def test_interval_holds_the_sample_median(n):
    rng = np.random.default_rng(n)
    for _ in range(20):
        x = rng.choice([0.0, 500.0], size=n) * rng.uniform(0.5, 1, size=n)
        low, high = stats.interval(x)
        assert x.min() <= low <= np.median(x) <= high <= x.max()


def test_interval_widens_with_confidence():
    x = np.random.default_rng(0).normal(size=20)
    low90, high90 = stats.interval(x, confidence=0.9)
    low99, high99 = stats.interval(x, confidence=0.99)
    assert low99 < low90 and high90 < high99
    assert stats.level(20, 0.9) >= 0.9 and stats.level(20, 0.99) >= 0.99


def test_degenerate_inputs():
    assert stats.interval([42.0]) == (42.0, 42.0) and stats.level(1) == 0.0
    assert stats.interval([500.0] * 5) == (500.0, 500.0)
    with pytest.raises(ValueError):
        stats.interval([])
    with pytest.raises(ValueError):
        stats.iqm([1.0, float("nan")])
    with pytest.raises(ValueError):
        stats.order_statistic_ranks(10, confidence=1.0)


def test_summarize_keys():
    s = stats.summarize([1.0, 2.0, 3.0, 4.0, 5.0])
    assert set(s) == {"n", "median", "low", "high", "level", "iqm", "mean"}
    assert s["n"] == 5 and s["mean"] == 3.0 and s["iqm"] == 3.0 and s["median"] == 3.0
    assert (s["low"], s["high"], s["level"]) == (1.0, 5.0, 0.9375)
    with_bar = stats.summarize([500.0] * 5, bar=475)
    assert with_bar["reached"] == 5 and with_bar["rate_high"] == 1.0 and with_bar["low"] == with_bar["high"]


def test_success_rate_is_clopper_pearson():
    """Five of five seeds at the bar are compatible with a 48 % success rate."""
    from scipy.stats import binomtest

    rate = stats.success_rate([500.0, 500.0, 500.0, 500.0, 500.0], bar=475)
    assert (rate["reached"], rate["n"], rate["rate"]) == (5, 5, 1.0)
    assert rate["rate_low"] == pytest.approx(0.025 ** (1 / 5)) == pytest.approx(0.478, abs=1e-3)
    mixed = stats.success_rate([500.0, 470.0, 475.0, 9.0], bar=475)
    ci = binomtest(2, 4).proportion_ci(0.95, method="exact")
    assert (mixed["reached"], mixed["rate_low"], mixed["rate_high"]) == (2, ci.low, ci.high)


def test_paired_differences_and_probability_of_improvement():
    a, b = [1.0, 2.0, 3.0], [2.0, 2.0, 2.0]
    p = stats.paired(a, b)
    assert (p["wins"], p["ties"], p["losses"], p["median_diff"]) == (1, 1, 1, 0.0)
    assert (p["low"], p["high"], p["level"]) == (-1.0, 1.0, 0.75)
    assert p["p_improvement"] == stats.probability_of_improvement(a, b) == (0 + 1.5 + 3) / 9
    assert stats.probability_of_improvement([500.0] * 3, [9.0] * 4) == 1.0
    better = stats.paired(np.arange(10) + 100.0, np.arange(10.0))
    assert better["low"] == better["high"] == 100.0 and better["low"] > 0  # "A beats B"
    with pytest.raises(ValueError, match="same seeds"):
        stats.paired([1.0, 2.0], [1.0])


def test_episode_seeds_never_overlap_between_seeds():
    assert [stats.episode_seed(s) for s in range(3)] == [0, 1000, 2000]
    with pytest.raises(ValueError):
        stats.episode_seed(-1)


@pytest.mark.parametrize("env_id, expected", [("CartPole-v1", (0.0, 500.0)), ("Acrobot-v1", (-500.0, 0.0)),
                                              ("MiniGrid-DoorKey-5x5-v0", (0.0, 1.0)),
                                              ("LunarLander-v3", (None, None))])
def test_return_range(env_id, expected):
    assert stats.return_range(env_id) == expected
