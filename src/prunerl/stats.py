"""The course's one statistics convention for returns over seeds, chosen by measured coverage.

**Estimand: the population median** of a seed's return (each seed's episodes averaged into one number). RL
returns over seeds come in shapes that defeat the usual intervals: near-normal, solve-or-fail (bimodal), piled
at the ceiling of a bounded task (CartPole's 500) and heavy-tailed. ``tests/test_coverage.py`` simulates all four
and measures how often each procedure's interval holds the quantity it claims. Coverage of a nominal 95 %
interval (normal / bimodal / ceiling / lognormal), with 5 seeds | with 10 seeds:

- median (order statistics, this module; estimand = the median): 0.94 0.94 1.00 0.94 | 0.98 0.98 1.00 0.98
- bootstrap (percentile, of the IQM, 400 resamples; estimand = the IQM): 0.91 0.80 0.78 0.89 | 0.93 0.89 0.92 0.94
- t (Student's interval of the mean; estimand = the mean): 0.95 0.91 0.74 0.82 | 0.95 0.94 0.86 0.84

The bootstrap and the t interval, the course's earlier choices, cover well under 0.90 on some shape (the
ceiling defeats both: a zero-width band whenever every seed sits at 500). The order statistics cover at their
exact level (below) on every shape.

**Interval: distribution-free order statistics** ``[x_(k), x_(n-k+1)]`` of the sorted per-seed values. The
median lies below ``x_(k)`` only if fewer than ``k`` of ``n`` independent seeds fall at or below it, an event of
probability at most ``P(Binomial(n, 1/2) <= k - 1)``, whatever the shape; so the interval covers with probability
at least ``level = 1 - 2 P(Binomial(n, 1/2) <= k - 1)``, exactly that for continuous returns and more where
returns tie (at a ceiling). :func:`order_statistic_ranks` takes the largest ``k`` (narrowest interval) whose
level reaches ``confidence``. The level comes in steps, so it is reported as it is, never rounded to 95 %:
10 seeds give ``[x_(2), x_(9)]`` at 97.9 %; 6, the fewest that reach 95 % (``prunerl compare``'s default), give
``[min, max]`` at 96.9 %; 5 seeds can reach at most ``[min, max]`` at 93.8 % (4: 87.5 %, 3: 75 %, 2: 50 %). The
interval never leaves the per-seed values, hence never the task's return range.

**Where every seed agrees** (all at CartPole's 500), the interval has zero width; the true statement is then
about a rate: :func:`success_rate` says "k of n seeds reached the bar" with a Clopper-Pearson interval on the
rate (``scipy.stats.binomtest(...).proportion_ci(method="exact")``, coverage >= 95 % for every rate): 10 of 10
is compatible with a rate of 0.69, 5 of 5 with 0.48.

**Paired comparisons** (Agarwal et al. 2021, "Deep RL at the Edge of the Statistical Precipice"): two strategies
run on the same seeds and the same evaluation episodes give one difference per seed; :func:`paired` puts the
same order-statistic interval on the median difference (so "A beats B" means the whole interval is above 0)
and adds the probability of improvement ``P(X > Y)``: the chance that a seed of A beats a seed of B, over all
pairs of seeds, ties counting one half (a point estimate, no interval).

**Independent seeds.** Seed ``s`` prunes/trains with seed ``s`` and evaluates on its own episodes, reset seeds
``episode_seed(s)``, ``episode_seed(s) + 1``, ... (:func:`episode_seed`), never shared with another seed. Episodes
of one seed are *not* independent draws (they share one network): average them into one value per seed first.

**Deterministic strategies.** Magnitude pruning of a fixed trained agent gives the same network at every seed;
its only variation is then the evaluation episodes, and its interval must be labelled so (:data:`EPISODE_NOISE`).

The IQM (:func:`iqm`, Agarwal et al.'s point estimate) stays available as a description of the middle half.
"""
from __future__ import annotations

import numpy as np

CONFIDENCE = 0.95
ESTIMAND = "median"
EPISODE_SEED_STRIDE = 1_000
EPISODE_NOISE = "episode noise only"

# Bounds of the episode return where the task has them. CartPole: +1 per step, at most max_episode_steps.
# Acrobot: -1 per step until the goal, at most max_episode_steps. MiniGrid: 1 - 0.9 * steps / max_steps on
# success, 0 otherwise. LunarLander's shaping rewards have no finite bound.
_STEP_BOUNDED = {"CartPole": (0.0, 1.0), "Acrobot": (-1.0, 0.0)}


def iqm(values) -> float:
    """Interquartile mean: the mean of the middle 50 % of ``values`` (``trim_mean(x, 0.25)``)."""
    from scipy.stats import trim_mean

    return float(trim_mean(_as_array(values), 0.25))


def order_statistic_ranks(n: int, confidence: float = CONFIDENCE) -> tuple[int, float]:
    """``(k, level)``: the narrowest interval ``[x_(k), x_(n-k+1)]`` of ``n`` sorted values whose guaranteed
    coverage of the median, ``level``, reaches ``confidence``; with too few values ``k = 1`` and its lower level.
    One value: ``(1, 0.0)``, no interval."""
    from scipy.stats import binom

    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n < 2:
        return 1, 0.0
    k = 1
    while k + 1 <= n // 2 and 1 - 2 * binom.cdf(k, n, 0.5) >= confidence:
        k += 1
    return k, float(1 - 2 * binom.cdf(k - 1, n, 0.5))


def level(n: int, confidence: float = CONFIDENCE) -> float:
    """The exact (for ties: the least) coverage of :func:`interval` with ``n`` seeds."""
    return order_statistic_ranks(n, confidence)[1]


def interval_batch(x: np.ndarray, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """:func:`interval` over the last axis of ``x`` (vectorised, for simulations)."""
    x = np.sort(np.asarray(x, dtype=float), axis=-1)
    n = x.shape[-1]
    k, _ = order_statistic_ranks(n, confidence)
    return x[..., k - 1], x[..., n - k]


def interval(values, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """(low, high): the order-statistic interval of the median of ``values`` (one number per independent seed),
    at the level :func:`level` gives (97.9 % with 10 seeds, 93.8 % with 5). Within ``[min, max]``; one value gives
    ``(v, v)``."""
    low, high = interval_batch(_as_array(values), confidence)
    return float(low), float(high)


def success_rate(values, bar: float, confidence: float = CONFIDENCE) -> dict:
    """``{"reached", "n", "rate", "rate_low", "rate_high"}``: how many seeds reached ``bar`` (value >= bar) and
    the Clopper-Pearson ``confidence`` interval of the rate."""
    from scipy.stats import binomtest

    x = _as_array(values)
    reached = int(np.sum(x >= bar))
    ci = binomtest(reached, x.size).proportion_ci(confidence, method="exact")
    return {"reached": reached, "n": int(x.size), "rate": reached / x.size, "rate_low": float(ci.low),
            "rate_high": float(ci.high)}


def probability_of_improvement(a, b) -> float:
    """``P(X > Y)`` of Agarwal et al. (2021): over all pairs of a seed of ``a`` and a seed of ``b``, the share where
    ``a`` is higher, ties counting one half."""
    x, y = _as_array(a)[:, None], _as_array(b)[None, :]
    return float(np.mean((x > y) + 0.5 * (x == y)))


def paired(a, b, confidence: float = CONFIDENCE) -> dict:
    """``a`` against ``b``, the same seeds in the same order (same episodes):
    ``{"n", "median_diff", "low", "high", "level", "p_improvement", "wins", "ties", "losses"}``, where
    ``[low, high]`` is the order-statistic interval of the median of ``a - b`` at ``level``."""
    x, y = _as_array(a), _as_array(b)
    if x.shape != y.shape:
        raise ValueError(f"paired values need the same seeds: {x.size} against {y.size}")
    d = x - y
    low, high = interval(d, confidence)
    return {"n": int(d.size), "median_diff": float(np.median(d)), "low": low, "high": high,
            "level": level(d.size, confidence), "p_improvement": probability_of_improvement(x, y),
            "wins": int(np.sum(d > 0)), "ties": int(np.sum(d == 0)), "losses": int(np.sum(d < 0))}


def summarize(values, confidence: float = CONFIDENCE, bar: float | None = None) -> dict:
    """``{"n", "median", "low", "high", "level", "iqm", "mean"}`` of one value per independent seed: the median, its
    order-statistic interval and that interval's level (:func:`interval`); with ``bar``, also :func:`success_rate`'s
    ``"reached", "rate_low", "rate_high"``."""
    x = _as_array(values)
    low, high = interval(x, confidence)
    out = {"n": int(x.size), "median": float(np.median(x)), "low": low, "high": high,
           "level": level(x.size, confidence), "iqm": iqm(x), "mean": float(x.mean())}
    if bar is not None:
        rate = success_rate(x, bar, confidence)
        out.update(reached=rate["reached"], rate_low=rate["rate_low"], rate_high=rate["rate_high"])
    return out


def episode_seed(seed: int) -> int:
    """Reset seed of the first evaluation episode of seed ``seed`` (episodes ``1000 s, 1000 s + 1, ...``)."""
    if int(seed) < 0:
        raise ValueError(f"seeds must be non-negative, got {seed}")
    return EPISODE_SEED_STRIDE * int(seed)


def return_range(env_id: str) -> tuple[float | None, float | None]:
    """(low, high) bounds of one episode's return in ``env_id``; a bound is None where the task has none."""
    if env_id.startswith("MiniGrid-"):
        return 0.0, 1.0
    family = env_id.split("-")[0]
    if family in _STEP_BOUNDED:
        import gymnasium as gym

        steps = gym.spec(env_id).max_episode_steps
        per_low, per_high = _STEP_BOUNDED[family]
        return per_low * steps, per_high * steps
    return None, None


def _as_array(values) -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    if x.size == 0:
        raise ValueError("no values")
    if not np.all(np.isfinite(x)):
        raise ValueError("values must be finite")
    return x
