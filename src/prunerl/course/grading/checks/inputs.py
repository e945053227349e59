"""Inputs the checks give to learner functions, made the same way in the kernel and in the checker.

Nothing here knows an expected answer: it only turns the drawn check values into observations and matrices.
"""
from __future__ import annotations

import numpy as np

from prunerl import envs as _envs
from prunerl import zoo as _zoo


def env_of(name: str) -> str:
    return _zoo.RECIPES[name].env_id


def observations(name: str, n: int, seed: int) -> np.ndarray:
    env = _envs.make_env(env_of(name))
    space = env.observation_space
    space.seed(int(seed))
    obs = np.stack([space.sample() for _ in range(n)]).astype(np.float32)
    env.close()
    if obs.ndim == 2:
        return np.clip(obs, -5, 5)
    return obs % 11  # MiniGrid image cells hold small codes (object, colour, state), not 0..255 pixels


def csr_random(seed: int, shape: list[int]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=tuple(shape)).astype(np.float32)
    a[rng.random(a.shape) < 0.7] = 0
    return a


def csr_layer(torch_layout_weight: np.ndarray, quantile: float) -> np.ndarray:
    """A zoo layer's weight (torch layout) magnitude-pruned to ``quantile``, as a dense float32 matrix."""
    w = torch_layout_weight
    return np.where(np.abs(w) > np.quantile(np.abs(w), quantile), w, 0).astype(np.float32)


def csr_edge_cases() -> list[np.ndarray]:
    b = np.zeros((5, 4), np.float32)
    b[2, 1], b[2, 3], b[4, 0] = 1.5, -2.0, 3.0  # empty first rows, empty row between, value in the last
    c = np.zeros((4, 6), np.float64)
    c[0, 5] = 7.0  # only the first row, last column
    return [b, c, np.zeros((3, 4), np.float32), np.array([[0.0, 2.0, 0.0, -1.0]]), np.array([[1.0], [0.0], [2.0]])]


def matmul_vectors(seed: int, matrices: list[np.ndarray]) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [[rng.normal(size=m.shape[1]).astype(m.dtype), rng.normal(size=(m.shape[1], 3)).astype(m.dtype)]
            for m in matrices]


def plot_rows(seed: int) -> list[dict]:
    """A comparison table of 5 seeds (an IQM of 5 values is not their mean), sparsities out of order."""
    rng = np.random.default_rng(seed)
    return [{"strategy": s, "sparsity": p, "seed": d, "mean_return": float(rng.normal(100 * (1 - p) + 10 * i, 5))}
            for i, s in enumerate(["global_magnitude", "random", "l1_structured"])
            for p in (0.9, 0.0, 0.5) for d in range(5)]


def summary_rows(seed: int) -> list[dict]:
    """A comparison table of 3 seeds per (strategy, sparsity), returns within CartPole's [0, 500]."""
    rng = np.random.default_rng(seed)
    return [{"strategy": s, "sparsity": p, "seed": d, "mean_return": float(np.clip(rng.normal(300 - 200 * p, 120),
                                                                                     0, 500))}
            for s in ["random", "global_magnitude", "l1_structured", "gradual"] for p in (0.5, 0.9) for d in range(3)]


def midpoint_threshold(weights: dict[str, np.ndarray], fraction: float) -> float:
    """A threshold strictly between two neighbouring |w| values (no ties), about ``fraction`` of the way up."""
    flat = np.sort(np.concatenate([np.abs(w).ravel() for w in weights.values()]).astype(np.float64))
    k = int(fraction * flat.size)
    while True:  # a midpoint that is itself a weight (neighbouring float32 values) would make a tie
        t = np.float32((flat[k] + flat[k + 1]) / 2)
        if flat[k] < t < flat[k + 1]:
            return float(t)
        k += 1


def tie_grid(weights: dict[str, np.ndarray], grid: int) -> dict[str, np.ndarray]:
    """The weights rounded to multiples of 1/grid, so that many of them tie with a threshold on that grid."""
    return {k: (np.round(w * grid).astype(np.float32) / np.float32(grid)) for k, w in weights.items()}


def prunable_names(weights: dict) -> list[str]:
    return list(weights)
