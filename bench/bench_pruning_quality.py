"""How much of a zoo agent's return survives pruning to 90 and 95 %: the course's recipes beside one-shot pruning.

Per agent, method, sparsity and seed: the greedy mean return over the seed's own evaluation episodes (reset
seeds ``prunerl.stats.episode_seed(seed)`` on), normalized by a uniformly random policy on the same episodes,

    kept = (R_pruned - R_random) / (R_dense - R_random),

so it means the same for positive-return (CartPole, LunarLander, MiniGrid) and negative-return (Acrobot) tasks:
1 = as good as the dense agent, 0 = no better than random actions. Goals: kept >= 0.95 at 90 % sparsity on every
agent with at least one recipe, and kept >= 0.90 at 95 % on at least three of the four.

Methods:
- ``one-shot``: global magnitude pruning of the trained agent, no training (the baseline);
- ``erk``: one-shot magnitude pruning with ERK layer densities (Evci et al. 2020), no training;
- ``finetune``: :func:`prunerl.recipes.prune_finetune`, the agent pruned on the Zhu & Gupta schedule during a
  fine-tune made for pruned agents, best weights on validation seeds (10,000 on) kept; seed s drives it;
- ``during_training``: :func:`prunerl.recipes.train_during`, trained from scratch with the dense recipe while
  pruned (agents in ``--retrain``), seed s drives it;
- ``zoo``: the shipped sparse agent ``<agent>-s90`` / ``-s95`` (one network, trained once with its card's recipe).

``one-shot``, ``erk`` and ``zoo`` give one network for every seed: their seeds differ only in the evaluation
episodes, and their intervals are episode noise only. ``finetune`` and ``during_training`` seeds are independent
runs.

Usage: python bench/bench_pruning_quality.py [--agents a b] [--seeds 0 1 2 3 4] [--episodes 10]
       python bench/bench_pruning_quality.py --report-from a.csv b.csv   (agents run in parallel processes)
"""
from __future__ import annotations

import argparse
import sys
import time

import benchlib

benchlib.controlled()

import numpy as np  # noqa: E402

SPARSITIES = (0.9, 0.95)
METHODS = ("one-shot", "erk", "finetune", "during_training", "zoo")
DETERMINISTIC = ("one-shot", "erk", "zoo")
AGENTS = ("cartpole-dqn", "acrobot-dqn", "lunarlander-ppo", "minigrid-ppo")
# Fine-tuning budget per agent (env steps).
FINETUNE_STEPS = {"cartpole-dqn": 20_000, "acrobot-dqn": 10_000, "lunarlander-ppo": 30_000, "minigrid-ppo": 20_000}
GOALS = {0.9: (0.95, 4), 0.95: (0.90, 3)}  # sparsity: (kept, number of agents that must reach it)


def random_return(env_id: str, episodes: int, seed: int) -> float:
    from prunerl.envs import make_env
    from prunerl.evaluation import evaluate

    n = make_env(env_id).action_space.n
    rng = np.random.default_rng(seed)
    return evaluate(lambda obs: rng.integers(0, n, len(obs)), env_id, episodes, seed).mean


def pruned_model(agent: str, env_id: str, method: str, sparsity: float, seed: int):
    """The network ``method`` gives at ``sparsity`` and seed ``seed`` (None if it is not available)."""
    import prunerl
    from prunerl import recipes, zoo

    name = f"{agent}-s{round(sparsity * 100)}"
    if method == "zoo":
        return prunerl.load_agent(name) if zoo.weight_path(name).exists() else None
    if method == "during_training":  # the settings of a shipped during-training recipe of this agent, at this seed
        found = [r for r in zoo.SPARSE_RECIPES.values()
                 if r.pruning["base"] == agent and r.pruning["method"] == "during_training"]
        return recipes.train_during(agent, sparsity, seed, found[0].hparams if found else None).actor
    model = prunerl.load_agent(agent)
    if method == "one-shot":
        prunerl.pruning.prune(model, "global_magnitude", sparsity)
    elif method == "erk":
        prunerl.pruning.prune(model, "erk", sparsity)
    else:  # the shipped sparse agent's fine-tuning settings where it has some, at this budget and seed
        r = zoo.recipe(name)
        if r.pruning["method"] == "finetune":
            hp = {k: v for k, v in r.hparams.items() if k not in ("total_steps", "eval_every")}
            recipes.prune_finetune(model, env_id, sparsity, FINETUNE_STEPS[agent], seed, r.pruning["allocation"],
                                   r.pruning["ends"], r.pruning["begin"], r.pruning["end"], hparams=hp)
        else:
            recipes.prune_finetune(model, env_id, sparsity, FINETUNE_STEPS[agent], seed)
    return model


def run_agent(agent: str, seeds, episodes: int, methods, log, done=None, sparsities=SPARSITIES) -> list[dict]:
    import prunerl
    from prunerl.metrics import sparsity as measured
    from prunerl.stats import episode_seed

    env_id = prunerl.card(agent)["env_id"]
    rows = []
    for seed in seeds:
        first = episode_seed(seed)
        dense = prunerl.evaluate(prunerl.load_agent(agent), env_id, episodes, first).mean
        rand = random_return(env_id, episodes, first)
        for sparsity in sparsities:
            for method in methods:
                started = time.perf_counter()
                model = pruned_model(agent, env_id, method, sparsity, seed)
                if model is None:
                    log(f"{agent} {method} {sparsity}: no shipped agent, skipped")
                    continue
                ret = prunerl.evaluate(model, env_id, episodes, first).mean
                kept = (ret - rand) / (dense - rand)
                rows.append({"agent": agent, "env_id": env_id, "method": method, "sparsity": sparsity, "seed": seed,
                             "episodes": episodes, "dense": dense, "random": rand, "return": ret,
                             "achieved": measured(model), "kept": kept, "seconds": time.perf_counter() - started})
                if done is not None:
                    done(rows)
                log(f"{agent} seed {seed} {method:15s} {sparsity:.2f}: return {ret:8.2f} (dense {dense:.2f}, "
                    f"random {rand:.2f}) kept {kept:.3f} [{rows[-1]['seconds']:.1f} s]")
    return rows


def cell(values) -> str:
    """**median** [order-statistic interval], or, where every seed agrees, the seed count and rate bound."""
    from claims_tables import cell as text, summary

    median, rest = text({f"v:{k}": x for k, x in summary(values).items()}, "v").split(" ", 1)
    return f"**{median}** {rest}"


def legend(seeds: int) -> str:
    from prunerl import stats

    return (f"**median kept** over seeds [order-statistic interval at {stats.level(seeds) * 100:.1f} %] "
            "(`prunerl.stats.summarize`); where every seed gives the same value, that value with how many seeds "
            "gave it and the Clopper-Pearson lower bound of that rate (no zero-width band).")


def report(df) -> str:
    seeds = sorted(df["seed"].unique().tolist())
    episodes = int(df["episodes"].iloc[0])
    lines = [
        "## Pruning quality at 90 and 95 % sparsity: fraction of the dense return kept",
        "",
        f"{len(seeds)} seeds ({', '.join(map(str, seeds))}); seed s evaluates {episodes} greedy episodes from reset "
        "seed 1000 s (`prunerl.stats.episode_seed`), for the pruned agent, the dense agent and a uniformly random "
        "policy alike. **kept = (R_pruned - R_random) / (R_dense - R_random)**. Each cell: " + legend(len(seeds)) + " "
        "`one-shot` (global magnitude, the baseline), `erk` (one-shot, ERK layer densities) and `zoo` (the "
        "shipped sparse agent) are one network each: their intervals are **episode noise only**. `finetune` "
        "(`prunerl.recipes.prune_finetune`, budgets: "
        + ", ".join(f"{a} {FINETUNE_STEPS[a]:,}" for a in df["agent"].unique()) + " env steps) and "
        "`during_training` (`prunerl.recipes.train_during`, the dense recipe from scratch, pruned from 20 % to 80 % "
        "of training) are independent runs per seed.",
        "",
    ]
    rows = []
    for (agent, method), g in df.groupby(["agent", "method"], sort=False):
        label = f"{method} (episode noise only)" if method in DETERMINISTIC else method
        rows.append([agent, label, *[cell(g[g["sparsity"] == sp]["kept"]) if (g["sparsity"] == sp).any() else "-"
                                      for sp in SPARSITIES]])
    lines.append(benchlib.table(["agent", "method", *[f"{round(s * 100)} %" for s in SPARSITIES]], rows))
    lines += ["", "Mean returns over seeds (dense agent and random policy on the same episodes):", ""]
    rows = []
    for (agent, method), g in df.groupby(["agent", "method"], sort=False):
        fmt = ".2f" if abs(g["dense"].mean()) < 10 else ".1f"
        rows.append([agent, method, f"{g['dense'].mean():{fmt}}", f"{g['random'].mean():{fmt}}",
                     *[f"{g[g['sparsity'] == sp]['return'].mean():{fmt}}" if (g["sparsity"] == sp).any() else "-"
                       for sp in SPARSITIES]])
    lines.append(benchlib.table(["agent", "method", "dense", "random", *[f"{round(s * 100)} %" for s in SPARSITIES]],
                                rows))
    lines += ["", "### Goals (median kept; the one-shot baseline of the same run beside the best recipe)", ""]
    verdicts = []
    for sp, (goal, need) in GOALS.items():
        met = 0
        for agent, g in df[df["sparsity"] == sp].groupby("agent", sort=False):
            medians = g.groupby("method")["kept"].median()
            recipes = medians.drop("one-shot", errors="ignore")
            best = recipes.idxmax()
            met += recipes.max() >= goal
            independent = recipes.drop(list(DETERMINISTIC), errors="ignore")
            verdicts.append([f"{round(sp * 100)} %", agent, f"{medians.get('one-shot', float('nan')):.2f}",
                             f"{best} {recipes.max():.2f}" + (" (episode noise only)" if best in DETERMINISTIC else ""),
                             f"{independent.idxmax()} {independent.max():.2f}" if len(independent) else "-",
                             "met" if recipes.max() >= goal else "**missed**"])
        verdicts.append([f"{round(sp * 100)} %", f"goal: kept >= {goal:.2f} on {need} of 4", "", f"{met} agents", "",
                         "**met**" if met >= need else "**missed**"])
    lines.append(benchlib.table(["sparsity", "agent", "one-shot", "best recipe", "best independent-seed recipe",
                                 "goal"], verdicts))
    lines += ["", "Where the numbers come from: `zoo` rows evaluate the shipped agents (`src/prunerl/zoo/<agent>-s90`/"
              "`-s95`; recipe, seed, per-layer sparsity and training time in their cards): `cartpole-dqn-s90` was "
              "pruned during training from scratch, the other seven by `prune_finetune` from the shipped dense agent "
              "with larger budgets than the `finetune` rows. `finetune` keeps the weights that score best on the "
              "validation seeds among those evaluated once the final sparsity is reached (`prunerl.recipes`): with a "
              "one-shot schedule (end 0, LunarLander's recipe) the pruned starting network is one of them, so where "
              "fine-tuning does not beat it there it returns the one-shot network; with a schedule that ends above "
              "0 (the other agents) the starting weights are not a candidate.",
              "", f"Run time: {df['seconds'].sum() / 60:.0f} min summed over runs (wall clock on the shared machine; "
              "agents and seeds ran in parallel processes)."]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", nargs="+", default=list(AGENTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--sparsities", nargs="+", type=float, default=list(SPARSITIES), choices=SPARSITIES)
    parser.add_argument("--retrain", nargs="*", default=["cartpole-dqn"],
                        help="agents for which `during_training` retrains every seed from scratch")
    parser.add_argument("--csv", default=str(benchlib.BENCH_DIR / "pruning_quality.csv"),
                        help="per-run results, rewritten after each run")
    parser.add_argument("--report-from", nargs="+", default=None, metavar="CSV",
                        help="do not run: write the section from these per-run CSVs (e.g. agents run in parallel)")
    args = parser.parse_args(argv)
    import pandas as pd

    if args.report_from:
        df = pd.concat([pd.read_csv(p) for p in args.report_from], ignore_index=True)
        df = df.drop_duplicates(["agent", "method", "sparsity", "seed"], keep="last")  # a rerun replaces a run
        df = df.sort_values("agent", key=lambda col: col.map(list(AGENTS).index), kind="stable")
        df.to_csv(benchlib.BENCH_DIR / "pruning_quality.csv", index=False)
    else:
        benchlib.set_threads()
        rows = []
        for agent in args.agents:  # the CSV is rewritten after every run, so an interrupted run keeps what it did
            methods = [m for m in args.methods if m != "during_training" or agent in args.retrain]
            rows += run_agent(agent, args.seeds, args.episodes, methods, lambda msg: print(msg, flush=True),
                              done=lambda new, before=list(rows): pd.DataFrame(before + new).to_csv(args.csv,
                                                                                                    index=False),
                              sparsities=args.sparsities)
        df = pd.DataFrame(rows)
    text = report(df)
    print(text)
    benchlib.write_section("pruning_quality", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
