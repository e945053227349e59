"""Compare pruning strategies on a zoo agent: return, sparsity, size and FLOPs, over seeds.

Pure functions returning pandas DataFrames (the ``prunerl compare`` command only parses and prints):

- :func:`compare` runs every strategy x sparsity x seed and returns a *tidy* frame, one row per run;
- :func:`summarize` reduces it to one row per strategy x sparsity, with a Student-t confidence interval of
  the mean return over seeds.

A seed drives everything random in a run: the random mask, the fine-tuning (for ``gradual``), and the
evaluation episodes, which start at reset seed ``EPISODE_SEED_STRIDE * seed`` (so every strategy at a given
seed faces exactly the same episodes as the dense agent at that seed). Sparsity 0 means "not pruned": the
row is the dense agent itself for every strategy (no fine-tuning), so each curve starts at the same point.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

ONE_SHOT = ("random", "layerwise_magnitude", "global_magnitude", "l1_structured")
GRADUAL = "gradual"
STRATEGIES = (*ONE_SHOT, GRADUAL)
DEFAULT_AGENT = "cartpole-dqn"
DEFAULT_SPARSITIES = (0.0, 0.5, 0.8, 0.9, 0.95)
DEFAULT_SEEDS = (0, 1, 2)
DEFAULT_EPISODES = 10
DEFAULT_FINETUNE_STEPS = 4000
EPISODE_SEED_STRIDE = 1_000
CONFIDENCE = 0.95


class CompareError(ValueError):
    """A bad argument to :func:`compare` (unknown agent, strategy or framework, bad sparsity ...)."""


def episode_seed(seed: int) -> int:
    """Reset seed of the first evaluation episode for run seed ``seed``."""
    return EPISODE_SEED_STRIDE * int(seed)


def validate(agent: str, framework: str = "torch", strategies: Iterable[str] = STRATEGIES,
             sparsities: Iterable[float] = DEFAULT_SPARSITIES, seeds: Iterable[int] = DEFAULT_SEEDS,
             episodes: int = DEFAULT_EPISODES, finetune_steps: int = DEFAULT_FINETUNE_STEPS) -> str:
    """Check the arguments of :func:`compare` before any work; returns the agent's env id.

    Raises :class:`CompareError` with a message naming the bad value and the valid choices.
    """
    from .zoo import FRAMEWORKS, UnknownAgentError, WeightFileError, card

    if framework not in FRAMEWORKS:
        raise CompareError(f"unknown framework {framework!r}; choose one of {', '.join(FRAMEWORKS)}")
    try:
        env_id = card(agent)["env_id"]
    except (UnknownAgentError, WeightFileError) as exc:
        raise CompareError(str(exc)) from None
    strategies, sparsities, seeds = list(strategies), list(sparsities), list(seeds)
    if not strategies:
        raise CompareError("no strategy given")
    for s in strategies:
        if s not in STRATEGIES:
            raise CompareError(f"unknown strategy {s!r}; choose from {', '.join(STRATEGIES)}")
    if not sparsities:
        raise CompareError("no sparsity given")
    for sp in sparsities:
        if not 0.0 <= sp < 1.0:
            raise CompareError(f"sparsity must be in [0, 1), got {sp}")
    if not seeds:
        raise CompareError("no seed given")
    if any(int(s) < 0 for s in seeds):
        raise CompareError("seeds must be non-negative integers")
    if episodes < 1:
        raise CompareError(f"episodes must be at least 1, got {episodes}")
    if finetune_steps < 1 and GRADUAL in strategies:
        raise CompareError(f"the gradual strategy needs --finetune-steps >= 1, got {finetune_steps}")
    return env_id


def hold_masks(masks) -> Callable:
    """A fine-tuning callback that re-applies fixed masks after every optimizer step."""
    from .pruning import apply_masks

    return lambda net, step: apply_masks(net, masks)


def run_one(agent: str, strategy: str, sparsity: float, seed: int, framework: str = "torch",
            episodes: int = DEFAULT_EPISODES, finetune_steps: int = DEFAULT_FINETUNE_STEPS,
            finetune_oneshot: bool = False) -> dict:
    """Prune a fresh copy of ``agent`` with ``strategy`` to ``sparsity`` and evaluate it; one tidy row.

    ``finetune_oneshot=True`` fine-tunes one-shot pruned agents for ``finetune_steps`` with their masks held
    (train-prune-retrain); ``gradual`` always fine-tunes (it prunes during fine-tuning).
    """
    from .evaluation import evaluate
    from .metrics import summary
    from .pruning import gradual_prune, prune
    from .zoo import card, load_agent

    env_id = card(agent)["env_id"]
    model = load_agent(agent, framework)
    started = time.perf_counter()
    tuned = 0
    if sparsity > 0:
        if strategy == GRADUAL:
            gradual_prune(model, env_id, sparsity, finetune_steps, seed)
            tuned = finetune_steps
        elif strategy in ONE_SHOT:
            masks = prune(model, strategy, sparsity, seed)
            if finetune_oneshot and finetune_steps > 0:
                from .train import finetune  # imports torch

                finetune(model, env_id, finetune_steps, seed, callback=hold_masks(masks))
                tuned = finetune_steps
        else:
            raise CompareError(f"unknown strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
    prune_seconds = time.perf_counter() - started
    result = evaluate(model, env_id, episodes, episode_seed(seed))
    return {"agent": agent, "framework": framework, "env_id": env_id, "strategy": strategy,
            "target_sparsity": float(sparsity), "seed": int(seed), "finetune_steps": tuned,
            "episodes": episodes, "episode_seed": episode_seed(seed), "mean_return": result.mean,
            "std_return": result.std, **summary(model), "prune_seconds": prune_seconds,
            "seconds": time.perf_counter() - started}


def compare(agent: str = DEFAULT_AGENT, framework: str = "torch", strategies: Iterable[str] = STRATEGIES,
            sparsities: Iterable[float] = DEFAULT_SPARSITIES, seeds: Iterable[int] = DEFAULT_SEEDS,
            episodes: int = DEFAULT_EPISODES, finetune_steps: int = DEFAULT_FINETUNE_STEPS,
            finetune_oneshot: bool = False, progress: Callable[[dict], None] | None = None) -> pd.DataFrame:
    """Every strategy x sparsity x seed: a tidy DataFrame, one row per run (see :func:`run_one`).

    ``progress(row)`` is called after each run.
    """
    strategies, sparsities, seeds = list(strategies), [float(s) for s in sparsities], [int(s) for s in seeds]
    validate(agent, framework, strategies, sparsities, seeds, episodes, finetune_steps)
    rows = []
    for strategy in strategies:
        for sparsity in sparsities:
            for seed in seeds:
                row = run_one(agent, strategy, sparsity, seed, framework, episodes, finetune_steps, finetune_oneshot)
                rows.append(row)
                if progress is not None:
                    progress(row)
    return pd.DataFrame(rows)


def t_interval(values, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """(mean, low, high): the Student-t confidence interval of the mean (NaN bounds for one value)."""
    from scipy import stats

    x = np.asarray(values, dtype=float)
    mean = float(x.mean())
    if x.size < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return mean, mean - half, mean + half


def summarize(df: pd.DataFrame, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """One row per strategy x target sparsity: mean return over seeds with its t-interval, and the
    model's achieved sparsity, non-zero parameters, bytes and FLOPs (means over seeds)."""
    rows = []
    keys = ["strategy", "target_sparsity"]
    for (strategy, target), group in df.groupby(keys, sort=False):
        mean, low, high = t_interval(group["mean_return"], confidence)
        rows.append({"strategy": strategy, "target_sparsity": target, "seeds": len(group), "mean_return": mean,
                     "ci_low": low, "ci_high": high, "sparsity": group["sparsity"].mean(),
                     "params": int(group["params"].iloc[0]), "nonzero_params": group["nonzero_params"].mean(),
                     "dense_bytes": int(group["dense_bytes"].iloc[0]), "csr_bytes": group["csr_bytes"].mean(),
                     "flops": int(group["flops"].iloc[0]), "nonzero_flops": group["nonzero_flops"].mean(),
                     "seconds": group["seconds"].sum()})
    return pd.DataFrame(rows)


def write_outputs(df: pd.DataFrame, out_dir, title: str | None = None) -> dict[str, str]:
    """Write ``results.csv`` (tidy, one row per run), ``summary.csv`` and ``compare.png`` to ``out_dir``."""
    from pathlib import Path

    from .plotting import plot_comparison, save_figure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"results": out / "results.csv", "summary": out / "summary.csv", "plot": out / "compare.png"}
    df.to_csv(paths["results"], index=False)
    summarize(df).to_csv(paths["summary"], index=False)
    save_figure(plot_comparison(df, title=title), paths["plot"])
    return {k: str(v) for k, v in paths.items()}
