"""The course's statistics convention (prunerl.stats): IQM, percentile bootstrap, episode seeds, return ranges."""
import numpy as np
import pytest

from prunerl import stats


def test_iqm_is_the_mean_of_the_middle_half():
    assert stats.iqm([1, 2, 3, 4, 100, 5, 6, 7]) == pytest.approx(np.mean([3, 4, 5, 6]))
    assert stats.iqm([0, 10, 10, 500]) == 10.0  # one outlier each side dropped


def test_interval_stays_within_the_data_where_a_t_band_would_not():
    values = [500.0, 500.0, 9.4]  # CartPole: two perfect seeds, one collapsed
    low, high = stats.interval(values)
    assert 9.4 <= low <= high <= 500.0
    from scipy import stats as st

    half = st.t.ppf(0.975, 2) * np.std(values, ddof=1) / np.sqrt(3)
    assert np.mean(values) + half > 500  # the convention this replaces leaves the task's range


@pytest.mark.parametrize("n", [2, 3, 5, 10])
def test_interval_within_min_max_for_random_samples(n):
    rng = np.random.default_rng(n)
    for _ in range(20):
        x = rng.choice([0.0, 500.0], size=n) * rng.uniform(0.5, 1, size=n)
        low, high = stats.interval(x, seed=n)
        assert x.min() <= low <= high <= x.max()


def test_interval_is_deterministic_and_seeded():
    x = [3.0, 9.0, 1.0, 7.0, 4.0]
    assert stats.interval(x, seed=3) == stats.interval(x, seed=3)
    low, high = stats.interval(x)
    assert low < stats.iqm(x) < high


def test_interval_widens_with_confidence():
    x = [3.0, 9.0, 1.0, 7.0, 4.0, 8.0]
    low90, high90 = stats.interval(x, confidence=0.9)
    low99, high99 = stats.interval(x, confidence=0.99)
    assert low99 <= low90 and high90 <= high99


def test_degenerate_inputs():
    assert stats.interval([42.0]) == (42.0, 42.0)
    assert stats.interval([500.0] * 5) == (500.0, 500.0)
    with pytest.raises(ValueError):
        stats.interval([])
    with pytest.raises(ValueError):
        stats.iqm([1.0, float("nan")])


def test_summarize_keys():
    s = stats.summarize([1.0, 2.0, 3.0, 4.0, 5.0])
    assert set(s) == {"n", "iqm", "mean", "low", "high"}
    assert s["n"] == 5 and s["mean"] == 3.0 and s["iqm"] == 3.0 and s["low"] <= 3.0 <= s["high"]


def test_episode_seeds_never_overlap_between_seeds():
    assert [stats.episode_seed(s) for s in range(3)] == [0, 1000, 2000]
    with pytest.raises(ValueError):
        stats.episode_seed(-1)


@pytest.mark.parametrize("env_id, expected", [("CartPole-v1", (0.0, 500.0)), ("Acrobot-v1", (-500.0, 0.0)),
                                              ("MiniGrid-DoorKey-5x5-v0", (0.0, 1.0)),
                                              ("LunarLander-v3", (None, None))])
def test_return_range(env_id, expected):
    assert stats.return_range(env_id) == expected
