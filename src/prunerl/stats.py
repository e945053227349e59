"""The course's one statistics convention for returns over seeds.

**Point estimate: the interquartile mean (IQM)** of the per-seed returns, the mean of the middle 50 %
(``scipy.stats.trim_mean(x, 0.25)``). With few seeds and bounded, often bimodal RL returns (an agent either
balances the pole for 500 steps or falls early) the mean is dragged by one bad seed and the median throws
most of the data away; the IQM sits between them (Agarwal et al. 2021, "Deep Reinforcement Learning at the
Edge of the Statistical Precipice", NeurIPS).

**Uncertainty: a percentile-bootstrap interval of the IQM over independent seeds** (``scipy.stats.bootstrap``,
``method="percentile"``), as Agarwal et al. recommend for few runs. Every bootstrap resample's IQM lies
between the smallest and the largest observed value, so the interval never leaves ``[min, max]`` of the
data, hence never leaves the task's possible return range (a Student-t or normal band over 3 seeds of a
CartPole agent can reach 751 on a task that cannot exceed 500). With few seeds the interval is wide, as it
should be; with one seed there is no interval (``(v, v)``).

**Independent seeds.** The bootstrap treats seeds as independent draws, so each seed must be one: seed ``s``
prunes/trains with seed ``s`` and evaluates on its own episodes, reset seeds ``episode_seed(s)``,
``episode_seed(s) + 1``, ... (:func:`episode_seed`), never shared with another seed. Episodes of one seed are
*not* independent draws (they share one network): average them into one value per seed first.

**Deterministic strategies.** Magnitude pruning and one-shot L1 structured pruning of a fixed trained agent
give the same network at every seed; their only source of variation is then the evaluation episodes. Their
band is still computed the same way but must be labelled so (:data:`EPISODE_NOISE`), never presented as
uncertainty over training or pruning.
"""
from __future__ import annotations

import numpy as np

CONFIDENCE = 0.95
N_RESAMPLES = 10_000
EPISODE_SEED_STRIDE = 1_000
EPISODE_NOISE = "episode noise only"

# Bounds of the episode return where the task has them. CartPole: +1 per step, at most max_episode_steps.
# Acrobot: -1 per step until the goal, at most max_episode_steps. MiniGrid: 1 - 0.9 * steps / max_steps on
# success, 0 otherwise. LunarLander's shaping rewards have no finite bound.
_STEP_BOUNDED = {"CartPole": (0.0, 1.0), "Acrobot": (-1.0, 0.0)}


def iqm(values) -> float:
    """Interquartile mean: the mean of the middle 50 % of ``values`` (``trim_mean(x, 0.25)``)."""
    from scipy.stats import trim_mean

    x = _as_array(values)
    return float(trim_mean(x, 0.25))


def interval(values, confidence: float = CONFIDENCE, n_resamples: int = N_RESAMPLES,
             seed: int = 0) -> tuple[float, float]:
    """(low, high): percentile-bootstrap ``confidence`` interval of the IQM of ``values``.

    ``values`` holds one number per independent seed. The result lies within ``[min(values), max(values)]``;
    one value, or all values equal, gives ``(v, v)``. Deterministic for a given ``seed``.
    """
    from scipy.stats import bootstrap, trim_mean

    x = _as_array(values)
    if x.size == 1 or np.all(x == x[0]):
        return float(x[0]), float(x[0])
    res = bootstrap((x,), lambda s, axis: trim_mean(s, 0.25, axis=axis), n_resamples=n_resamples,
                    confidence_level=confidence, method="percentile", vectorized=True, rng=seed)
    low, high = res.confidence_interval
    # Percentile bounds are order statistics of resampled IQMs: clip only float round-off.
    return float(np.clip(low, x.min(), x.max())), float(np.clip(high, x.min(), x.max()))


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


def summarize(values, confidence: float = CONFIDENCE, seed: int = 0) -> dict:
    """``{"n", "iqm", "mean", "low", "high"}`` of one value per independent seed (see :func:`interval`)."""
    x = _as_array(values)
    low, high = interval(x, confidence, seed=seed)
    return {"n": int(x.size), "iqm": iqm(x), "mean": float(x.mean()), "low": low, "high": high}


def _as_array(values) -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    if x.size == 0:
        raise ValueError("no values")
    if not np.all(np.isfinite(x)):
        raise ValueError("values must be finite")
    return x
