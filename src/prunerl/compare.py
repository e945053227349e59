"""Compare pruning strategies on a zoo agent: return, sparsity, size and FLOPs, over independent seeds.

Pure functions returning pandas DataFrames (the ``prunerl compare`` command only parses and prints):
:func:`compare` runs every strategy x sparsity x seed into a *tidy* frame, one row per run; :func:`summarize`
reduces it to one row per strategy x sparsity with the course's statistics (:mod:`prunerl.stats`): the median
of the per-seed returns, its order-statistic interval over seeds at its exact level (96.9 % with the default 6
seeds), how many seeds reached the agent's return bar (Clopper-Pearson interval on the rate), and a paired
comparison with :data:`REFERENCE` at the same nominal sparsity on the same seeds and episodes.

**Seeds.** Seed ``s`` draws the random masks, seeds the fine-tuning and plays its own evaluation episodes,
reset seeds ``stats.episode_seed(s) = 1000 s, 1000 s + 1, ...``, so seeds are independent and every strategy at
seed ``s`` faces the episodes the dense agent faced at ``s``. Magnitude and L1 pruning of a trained agent
are deterministic: their only variation over seeds is the episodes, and their band says so
(``variation == stats.EPISODE_NOISE``). Sparsity 0 is the dense agent itself for every strategy.

**Sparsity.** ``sparsity`` (achieved sparsity, the one definition the course uses) is the fraction of the
prunable weights that are zero (:func:`prunerl.metrics.sparsity`; global magnitude at 50 % gives 0.500).
``effective_sparsity`` (Vysogorets & Kempe's term) also counts the weights that are dead without being zero:
one minus the non-zero prunable weights left after structural removal of dead units
(:func:`prunerl.structured.shrink`: a hidden unit with no incoming or no outgoing weights goes, its outgoing
column with it), over the dense agent's prunable weights. ``target_sparsity`` is the nominal level asked for.
``l1_structured`` removes a fraction of hidden units; by default (``l1_budget="equal-nonzero"``) that fraction
is chosen so its *effective* sparsity matches the target (its achieved sparsity is lower: the outgoing
columns of a removed unit stay non-zero until shrunk); ``l1_budget="units"`` reads the target as the unit
fraction.

**Training budgets.** ``train_steps`` is how many env steps of training produced the network: 0 for one-shot
pruning, ``--finetune-steps`` for ``gradual`` (and for one-shot arms with ``finetune_oneshot``), the card's
steps for ``zoo_sparse`` (its recipe's whole training). Rankings compare only arms of equal budget.

**Adding a strategy** is one :class:`Strategy` line in :data:`STRATEGY_TABLE`: the CLI, validation, the
table, the plot and the README block all read it.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import stats
from .pruning import SEEDED_STRATEGIES, STRATEGY_ABOUT, hold_masks, l1_unit_masks, prune

DEFAULT_AGENT = "cartpole-dqn"
DEFAULT_SPARSITIES = (0.0, 0.5, 0.8, 0.9, 0.95)
# 6 seeds: the fewest whose order-statistic interval reaches 95 % ([min, max] at 96.9 %; 5 reach at most 93.8 %).
# A narrower or surer interval costs more fine-tunes (9: [x(2), x(8)] at 96.1 %; 10: [x(2), x(9)] at 97.9 %);
# the default run's time is nearly all `gradual`'s fine-tunes (one per seed and sparsity), and 10 seeds took
# about 4 min on 2 free cores with --jobs 2, over the 3 min aimed at (bench/bench_compare.py).
DEFAULT_SEEDS = tuple(range(6))
DEFAULT_EPISODES = 10
DEFAULT_FINETUNE_STEPS = 4000
L1_BUDGETS = ("equal-nonzero", "units")
CONFIDENCE = stats.CONFIDENCE
episode_seed = stats.episode_seed


class CompareError(ValueError):
    """A bad argument to :func:`compare` (unknown agent, strategy or framework, bad sparsity ...)."""


@dataclass(frozen=True)
class Run:
    """What one strategy is asked to do: prune a fresh ``agent`` to ``sparsity`` with ``seed``."""
    agent: str
    env_id: str
    framework: str
    sparsity: float
    seed: int
    finetune_steps: int = DEFAULT_FINETUNE_STEPS
    finetune_oneshot: bool = False
    l1_budget: str = L1_BUDGETS[0]


@dataclass(frozen=True)
class Strategy:
    """One row of :data:`STRATEGY_TABLE`.

    ``apply(model, run)`` gets a freshly loaded agent (torch or Keras) and returns ``(model, info)``: the
    pruned model (the same object pruned in place, or a new one, e.g. a pre-trained sparse agent) and
    extra columns for the run's row; ``info["finetune_steps"]`` says how many env steps it trained.
    ``deterministic``: the same network at every seed unless fine-tuned (its band is episode noise only).
    ``finetunes``: it always trains (needs ``finetune_steps >= 1`` and torch). ``levels``: the only nominal
    sparsities it can produce (e.g. shipped pre-trained sparse agents); :func:`compare` skips the others.
    """
    name: str
    apply: Callable[[object, Run], tuple[object, dict]]
    deterministic: bool
    finetunes: bool
    about: str
    levels: tuple[float, ...] | None = None

    def runs_at(self, sparsity: float) -> bool:
        return sparsity == 0 or self.levels is None or any(abs(sparsity - x) < 1e-9 for x in self.levels)


def _finetune_held(model, run: Run, masks) -> int:
    """Train-prune-retrain: fine-tune with ``masks`` re-applied after every optimizer step."""
    if not (run.finetune_oneshot and run.finetune_steps > 0):
        return 0
    from .train import finetune  # imports torch

    finetune(model, run.env_id, run.finetune_steps, run.seed, callback=hold_masks(masks))
    return run.finetune_steps


def _one_shot(name: str):
    def apply(model, run: Run):
        masks = prune(model, name, run.sparsity, run.seed)
        return model, {"finetune_steps": _finetune_held(model, run, masks)}
    return apply


def _l1_structured(model, run: Run):
    fraction = run.sparsity if run.l1_budget == "units" else l1_fraction_for(model, run.sparsity)
    masks = prune(model, "l1_structured", fraction, run.seed)
    return model, {"finetune_steps": _finetune_held(model, run, masks), "unit_fraction": fraction}


def _gradual(model, run: Run):
    from .recipes import gradual_prune

    gradual_prune(model, run.env_id, run.sparsity, run.finetune_steps, run.seed)
    return model, {"finetune_steps": run.finetune_steps}


def _stable_finetune(model, run: Run):
    from .recipes import prune_finetune

    prune_finetune(model, run.env_id, run.sparsity, run.finetune_steps, run.seed)
    return model, {"finetune_steps": run.finetune_steps}


def _shipped_sparse(model, run: Run):
    from .zoo import card, load_agent

    name = f"{run.agent}-s{round(100 * run.sparsity)}"
    shipped = card(name)
    return load_agent(name, run.framework), {"finetune_steps": 0, "train_steps": shipped["env_steps"],
                                             "recipe": shipped["recipe"]["method"]}


def _pruning_strategy(name: str) -> Strategy:
    """A one-shot strategy of :func:`prunerl.pruning.prune`, described and seeded as that module says."""
    apply = _l1_structured if name == "l1_structured" else _one_shot(name)
    return Strategy(name, apply, name not in SEEDED_STRATEGIES, False, f"one-shot, {STRATEGY_ABOUT[name]}")


_ONE_SHOT = {name: _pruning_strategy(name) for name in STRATEGY_ABOUT}
STRATEGY_TABLE = (
    *(strategy for name, strategy in _ONE_SHOT.items() if name != "erk"),
    Strategy("gradual", _gradual, False, True,
             "global magnitude on Zhu & Gupta's schedule while fine-tuning for --finetune-steps"),
    _ONE_SHOT["erk"],  # after gradual: the committed default run lists them in this order
    Strategy("zoo_sparse", _shipped_sparse, True, False,
             "the shipped sparse agent <agent>-s90/-s95, trained by its card's recipe (pruned during training "
             "or pruned then fine-tuned, best weights on validation seeds)", levels=(0.9, 0.95)),
    Strategy("finetune", _stable_finetune, False, True,
             "the stable fine-tune (prunerl.recipes.prune_finetune) for --finetune-steps, ERK-allocated magnitude "
             "sparsity raised over its first half (a schedule, not one-shot), best validated weights"),
)
REGISTRY = {s.name: s for s in STRATEGY_TABLE}
STRATEGIES = tuple(REGISTRY)
# `finetune` (one more validated fine-tune per seed and sparsity, on top of `gradual`'s) is asked for by name.
DEFAULT_STRATEGIES = tuple(s for s in STRATEGIES if s != "finetune")
# Every strategy is compared with global magnitude pruning at the same nominal sparsity, on the same seeds and
# episodes: the field's standard baseline (Blalock et al. 2020), one-shot, no training.
REFERENCE = "global_magnitude"


def l1_fraction_for(model, sparsity: float) -> float:
    """The hidden-unit fraction whose L1-pruned, shrunk network keeps the non-zero prunable weights closest to
    ``(1 - sparsity)`` of the dense count (ties: the fewer weights). Same fraction in every hidden layer."""
    from .convert import spec_and_weights

    spec, weights = spec_and_weights(model)
    target = (1.0 - sparsity) * sum(w.size for k, w in weights.items() if k.endswith(".weight"))
    hidden = [layer["out"] for layer in spec["layers"] if layer["kind"] in ("linear", "conv")][:-1]
    candidates = sorted({j / n for n in hidden for j in range(n + 1)})
    # The count falls as the fraction grows: bisect for the first fraction at or below the target.
    lo, hi = 0, len(candidates) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if _l1_nonzero(spec, weights, candidates[mid]) <= target:
            hi = mid
        else:
            lo = mid + 1
    near = [candidates[i] for i in (lo - 1, lo) if i >= 0]
    return float(min(near, key=lambda f: (abs(_l1_nonzero(spec, weights, f) - target), -f)))


def _l1_nonzero(spec: dict, weights: dict[str, np.ndarray], fraction: float) -> int:
    """Non-zero prunable weights of the shrunk network after L1-pruning ``fraction`` of the hidden units."""
    from .structured import shrink_spec

    prunable = {k: w for k, w in weights.items() if k.endswith(".weight")}
    masks = l1_unit_masks(prunable, fraction)
    _, shrunk = shrink_spec(spec, {k: w * masks[k] if k in masks else w for k, w in weights.items()})
    return sum(int(np.count_nonzero(w)) for k, w in shrunk.items() if k.endswith(".weight"))


def validate(agent: str, framework: str = "torch", strategies: Iterable[str] = STRATEGIES,
             sparsities: Iterable[float] = DEFAULT_SPARSITIES, seeds: Iterable[int] = DEFAULT_SEEDS,
             episodes: int = DEFAULT_EPISODES, finetune_steps: int = DEFAULT_FINETUNE_STEPS,
             l1_budget: str = L1_BUDGETS[0]) -> str:
    """Check the arguments of :func:`compare` before any work; returns the agent's env id.

    Raises :class:`CompareError` with a message naming the bad value and the valid choices.
    """
    from .backend import FRAMEWORKS
    from .zoo import UnknownAgentError, WeightFileError, card

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
        if s not in REGISTRY:
            raise CompareError(f"unknown strategy {s!r}; choose from {', '.join(STRATEGIES)}")
    if len(set(strategies)) < len(strategies) or len(set(sparsities)) < len(sparsities) or \
            len(set(seeds)) < len(seeds):
        raise CompareError("strategies, sparsities and seeds must not repeat (seeds must be independent)")
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
    needs = [s for s in strategies if REGISTRY[s].finetunes]
    if finetune_steps < 1 and needs:
        raise CompareError(f"{', '.join(needs)} needs --finetune-steps >= 1, got {finetune_steps}")
    if l1_budget not in L1_BUDGETS:
        raise CompareError(f"unknown l1 budget {l1_budget!r}; choose one of {', '.join(L1_BUDGETS)}")
    return env_id


def measure(model, dense_prunable: int) -> dict:
    """Achieved and effective sparsity of ``model``, and its size after structural removal of its dead units
    (see module doc)."""
    from .metrics import count_params, sparsity, summary
    from .structured import shrink

    shrunk = shrink(model)
    row = summary(shrunk)
    row["sparsity"] = sparsity(model)
    row["effective_sparsity"] = 1.0 - count_params(shrunk)["prunable_nonzero"] / dense_prunable
    return row


def run_one(agent: str, strategy: str, sparsity: float, seed: int, framework: str = "torch",
            episodes: int = DEFAULT_EPISODES, finetune_steps: int = DEFAULT_FINETUNE_STEPS,
            finetune_oneshot: bool = False, l1_budget: str = L1_BUDGETS[0]) -> dict:
    """Prune a fresh copy of ``agent`` with ``strategy`` to ``sparsity``, evaluate it on seed ``seed``'s
    episodes; one tidy row. Sparsity 0 is the dense agent (no pruning, no fine-tuning)."""
    from .evaluation import evaluate
    from .metrics import count_params
    from .zoo import card, load_agent

    if strategy not in REGISTRY:
        raise CompareError(f"unknown strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
    env_id = card(agent)["env_id"]
    model = load_agent(agent, framework)
    dense_prunable = count_params(model)["prunable"]
    started = time.perf_counter()
    info: dict = {"finetune_steps": 0}
    if sparsity > 0:
        run = Run(agent, env_id, framework, float(sparsity), int(seed), finetune_steps, finetune_oneshot, l1_budget)
        model, info = REGISTRY[strategy].apply(model, run)
    info.setdefault("train_steps", info["finetune_steps"])
    prune_seconds = time.perf_counter() - started
    result = evaluate(model, env_id, episodes, episode_seed(seed))
    deterministic = sparsity == 0 or (REGISTRY[strategy].deterministic and info.get("finetune_steps", 0) == 0)
    return {"agent": agent, "framework": framework, "env_id": env_id, "strategy": strategy,
            "target_sparsity": float(sparsity), "unit_fraction": float("nan"), "seed": int(seed), **info,
            "episodes": episodes, "episode_seed": episode_seed(seed), "mean_return": result.mean,
            "std_return": result.std, "variation": stats.EPISODE_NOISE if deterministic else "seeds",
            **measure(model, dense_prunable), "prune_seconds": prune_seconds,
            "seconds": time.perf_counter() - started}


def compare(agent: str = DEFAULT_AGENT, framework: str = "torch", strategies: Iterable[str] = DEFAULT_STRATEGIES,
            sparsities: Iterable[float] = DEFAULT_SPARSITIES, seeds: Iterable[int] = DEFAULT_SEEDS,
            episodes: int = DEFAULT_EPISODES, finetune_steps: int = DEFAULT_FINETUNE_STEPS,
            finetune_oneshot: bool = False, progress: Callable[[dict], None] | None = None,
            l1_budget: str = L1_BUDGETS[0], jobs: int = 1, threads: int = 1) -> pd.DataFrame:
    """Every strategy x sparsity x seed: a tidy DataFrame, one row per run (see :func:`run_one`), in that order.

    ``progress(row)`` is called after each run. The dense agent (sparsity 0) is evaluated once per seed and
    shared by every strategy's row. A strategy with ``levels`` gets rows only at those sparsities. ``jobs > 1``
    spreads the runs over that many worker processes with ``threads`` CPU threads each; every run is seeded on
    its own, so the rows are the ones ``jobs=1`` gives. The workers start fresh ("spawn"): a script calling this
    needs the ``if __name__ == "__main__":`` guard, and strategies added to :data:`REGISTRY` at run time are unknown
    to them (run those with ``jobs=1``).
    """
    strategies, sparsities, seeds = list(strategies), [float(s) for s in sparsities], [int(s) for s in seeds]
    validate(agent, framework, strategies, sparsities, seeds, episodes, finetune_steps, l1_budget)
    cells = [(strategy, sparsity, seed) for strategy in strategies
             for sparsity in filter(REGISTRY[strategy].runs_at, sparsities) for seed in seeds]

    def key(cell):
        return ("dense", cell[2]) if cell[1] == 0 else cell

    sharing: dict[tuple, list[tuple]] = {}
    for cell in cells:
        sharing.setdefault(key(cell), []).append(cell)
    # Fine-tuning runs first: they take seconds each, one-shot runs a fraction of one, so a pool ends evenly.
    tasks = sorted((cells[0] for cells in sharing.values()), key=lambda c: not (c[1] > 0 and REGISTRY[c[0]].finetunes))
    options = dict(agent=agent, framework=framework, episodes=episodes, finetune_steps=finetune_steps,
                   finetune_oneshot=finetune_oneshot, l1_budget=l1_budget)
    done = {}
    with closing(_run_tasks(tasks, options, jobs, threads)) as results:  # an error or Ctrl-C stops the pool now
        for cell, row in results:
            done[key(cell)] = row
            for shared in sharing[key(cell)]:
                if progress is not None:
                    progress({**row, "strategy": shared[0]})
    return pd.DataFrame([{**done[key(cell)], "strategy": cell[0]} for cell in cells])


def _run_task(task: tuple[tuple[str, float, int], dict]) -> tuple[tuple[str, float, int], dict]:
    (strategy, sparsity, seed), options = task
    return (strategy, sparsity, seed), run_one(strategy=strategy, sparsity=sparsity, seed=seed, **options)


def _start_worker(threads: int, frameworks: list[str]) -> None:
    import signal

    from .backend import set_threads

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it stops the pool, workers print nothing
    set_threads(threads, frameworks)


def _run_tasks(tasks: list[tuple[str, float, int]], options: dict, jobs: int, threads: int):
    """``(cell, row)`` for every task, in this process or, with ``jobs > 1``, in a pool of fresh ("spawn")
    processes, which inherit no thread pools or state from this one; leaving early stops the pool."""
    if jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield _run_task((task, options))
        return
    import multiprocessing

    trains = options["finetune_oneshot"] or any(REGISTRY[t[0]].finetunes for t in tasks)
    frameworks = list(dict.fromkeys(["torch"] * trains + [options["framework"]]))  # fine-tuning runs in torch
    pool = multiprocessing.get_context("spawn").Pool(min(jobs, len(tasks)), _start_worker, (threads, frameworks))
    with pool:  # on exit (done, error, Ctrl-C) the workers are terminated
        yield from pool.imap_unordered(_run_task, [(task, options) for task in tasks])


def summarize(df: pd.DataFrame, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """One row per strategy x target sparsity (:mod:`prunerl.stats`): the median of the per-seed mean returns, its
    order-statistic interval over seeds and that interval's ``level``; ``reached`` seeds at or above the agent's
    return bar with a Clopper-Pearson interval on the rate; against :data:`REFERENCE` at the same target on the
    same seeds, the median paired difference, its interval and the probability of improvement ``P(X > Y)`` (NaN
    for the reference itself, the dense agent, or without a reference run); what the band measures
    (``variation``), the training budget, the achieved and effective sparsity, non-zero parameters, bytes and
    FLOPs (means over seeds)."""
    from .zoo import recipe

    rows = []
    by_seed = {key: g.sort_values("seed") for key, g in df.groupby(["strategy", "target_sparsity"], sort=False)}
    for (strategy, target), group in by_seed.items():
        s = stats.summarize(group["mean_return"], confidence, bar=recipe(group["agent"].iloc[0]).return_bar)
        variations = set(group["variation"])
        reference = by_seed.get((REFERENCE, target))
        vs = {}
        if target > 0 and strategy != REFERENCE and reference is not None and \
                list(reference["seed"]) == list(group["seed"]):
            vs = stats.paired(group["mean_return"], reference["mean_return"], confidence)
        rows.append({"strategy": strategy, "target_sparsity": target, "sparsity": group["sparsity"].mean(),
                     "effective_sparsity": group["effective_sparsity"].mean(),
                     "unit_fraction": group["unit_fraction"].mean(), "train_steps": group["train_steps"].mean(),
                     "seeds": s["n"], "median_return": s["median"], "ci_low": s["low"], "ci_high": s["high"],
                     "level": s["level"], "iqm_return": s["iqm"], "mean_return": s["mean"], "reached": s["reached"],
                     "rate_low": s["rate_low"], "rate_high": s["rate_high"],
                     "diff_median": vs.get("median_diff", np.nan), "diff_low": vs.get("low", np.nan),
                     "diff_high": vs.get("high", np.nan), "p_improvement": vs.get("p_improvement", np.nan),
                     "variation": variations.pop() if len(variations) == 1 else "seeds",
                     "params": group["params"].mean(), "nonzero_params": group["nonzero_params"].mean(),
                     "dense_bytes": group["dense_bytes"].mean(), "csr_bytes": group["csr_bytes"].mean(),
                     "flops": group["flops"].mean(), "nonzero_flops": group["nonzero_flops"].mean(),
                     "seconds": group["seconds"].sum()})
    return pd.DataFrame(rows)
