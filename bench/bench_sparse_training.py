"""Graesser et al. (2022) in miniature: return against sparsity for dense, GMP, static, SET and RigL training.

Every arm trains from scratch with :func:`prunerl.recipes.train_during` on the same seeds (seed s trains with
seed s and evaluates its greedy episodes from reset seed ``prunerl.stats.episode_seed(s)``, held out from the
validation seeds 10,000+ the trainer selects its weights on) and the SAME number of environment steps; the dense
arm is the same code at sparsity 0 ("static" with every mask full), so it selects its weights like the sparse
arms. Per cell the median return over seeds with its order-statistic interval (``prunerl.stats.summarize``), per
sparse arm the paired comparison against dense and against GMP (``prunerl.stats.paired``). The agents run at
budgets where the dense network stays below its return ceiling, so "beats dense" can be seen.

Usage: python bench/bench_sparse_training.py [--fast] [--seeds N] [--sparsities 0.5 0.8 ...] [--agents ...]
       [--workers 2]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import benchlib
from prunerl.compare import DEFAULT_SEEDS

ARTEFACT = benchlib.BENCH_DIR / "sparse_training.json"
# prunerl compare's default: the fewest seeds whose order-statistic interval of the median reaches 95 % (96.9 %)
SEEDS = len(DEFAULT_SEEDS)
METHODS = ("gmp", "static", "set", "rigl")
ARMS = ("dense", *METHODS)
SPARSITIES = (0.5, 0.8, 0.9, 0.95)
EPISODES = 20
TOPOLOGY_UPDATES = 20  # SET/RigL: a drop-and-grow every total/20 optimizer steps (until 75 % of training)

# The budgets: fewer env steps than the zoo recipes, so the dense agents end below CartPole's 500.
# cartpole-ppo is not a zoo agent (the zoo's PPO agents take many minutes): CleanRL's CartPole PPO, here only.
AGENTS = {
    "cartpole-dqn": dict(total_steps=10_000, eval_every=2_000),
    "cartpole-ppo": dict(total_steps=12_288, eval_every=2_048),
}
FAST = dict(agents={"cartpole-dqn": dict(total_steps=4_000, eval_every=1_000),
                    "cartpole-ppo": dict(total_steps=6_144, eval_every=1_024)},
            sparsities=(0.9,), seeds=3, episodes=10)


def recipe(agent: str):
    """The zoo recipe of ``agent``, or the bench's own CartPole PPO."""
    from prunerl import specs, zoo

    if agent != "cartpole-ppo":
        return zoo.recipe(agent)
    return zoo.AgentRecipe(env_id="CartPole-v1", algorithm="ppo", spec=specs.mlp_spec(4, [64, 64], 2, "tanh"),
                           return_bar=475.0,
                           hparams=dict(num_envs=4, num_steps=128, learning_rate=2.5e-4, gamma=0.99, gae_lambda=0.95,
                                        minibatch_size=128, update_epochs=4, ent_coef=0.01))


def env_steps(algorithm: str, hp: dict) -> int:
    """The env steps the trainer actually takes (PPO in whole rollouts of num_envs x num_steps)."""
    if algorithm != "ppo":
        return int(hp["total_steps"])
    batch = hp["num_envs"] * hp["num_steps"]
    return max(1, hp["total_steps"] // batch) * batch


def run_one(task: dict) -> dict:
    """Train one arm at one seed (in a worker process, one torch thread) and evaluate it on held-out episodes."""
    import torch

    from prunerl import metrics, stats
    from prunerl.evaluation import evaluate
    from prunerl.recipes import train_during
    from prunerl.train import count_optimizer_steps

    torch.set_num_threads(1)
    r = recipe(task["agent"])
    hp = dict(r.hparams, **task["hparams"])
    every = max(1, count_optimizer_steps(r.algorithm, hp) // TOPOLOGY_UPDATES)
    arm, sparsity = task["arm"], task["sparsity"]
    started, cpu = time.perf_counter(), time.process_time()
    result = train_during(r, 0.0 if arm == "dense" else sparsity, task["seed"], hp,
                          method="static" if arm == "dense" else arm, dynamic={"every": every})
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    final = evaluate(result.actor, r.env_id, task["episodes"], stats.episode_seed(task["seed"]))
    return {**task, "env_steps": env_steps(r.algorithm, hp), "optimizer_steps": result.optimizer_steps,
            "measured_sparsity": round(metrics.sparsity(result.actor), 5), "return": float(final.mean),
            "train_seconds": round(seconds, 2), "train_cpu_seconds": round(cpu_seconds, 2)}


def tasks(agents: dict, sparsities, seeds, episodes: int) -> list[dict]:
    out = []
    for agent, hp in agents.items():
        for seed in seeds:
            out.append(dict(agent=agent, arm="dense", sparsity=0.0, seed=seed, hparams=hp, episodes=episodes))
            out += [dict(agent=agent, arm=m, sparsity=s, seed=seed, hparams=hp, episodes=episodes)
                    for s in sparsities for m in METHODS]
    return out


def _by_seed(rows: list[dict]) -> dict[int, float]:
    out = {}
    for row in rows:
        if row["seed"] in out:
            raise ValueError(f"seed {row['seed']} appears twice in {row['agent']} {row['arm']} {row['sparsity']}")
        out[row["seed"]] = row["return"]
    return out


def summarize(rows: list[dict]) -> dict:
    """Per agent: the dense cell, every (arm, sparsity) cell, and each sparse arm paired against dense and GMP on
    the seeds they share. Refuses arms of one agent trained with unequal env steps, or on different seeds."""
    from prunerl import stats

    out = {}
    for agent in dict.fromkeys(r["agent"] for r in rows):
        mine = [r for r in rows if r["agent"] == agent]
        budgets = {r["env_steps"] for r in mine}
        if len(budgets) != 1:
            raise ValueError(f"{agent}: arms trained with unequal env steps {sorted(budgets)}; refusing to compare")
        cells = {}
        for key in dict.fromkeys((r["arm"], r["sparsity"]) for r in mine):
            cells[key] = _by_seed([r for r in mine if (r["arm"], r["sparsity"]) == key])
        seeds = sorted(cells[("dense", 0.0)])
        if any(sorted(c) != seeds for c in cells.values()):
            raise ValueError(f"{agent}: arms trained on different seeds; paired comparisons need the same seeds")
        values = {k: [c[s] for s in seeds] for k, c in cells.items()}
        dense = values[("dense", 0.0)]
        entry = {"env_steps": budgets.pop(), "seeds": seeds, "dense": stats.summarize(dense), "cells": []}
        for (arm, sp), v in values.items():
            if arm == "dense":
                continue
            cell = {"arm": arm, "sparsity": sp, **stats.summarize(v), "vs_dense": stats.paired(v, dense)}
            if arm != "gmp" and ("gmp", sp) in values:
                cell["vs_gmp"] = stats.paired(v, values[("gmp", sp)])
            entry["cells"].append(cell)
        out[agent] = entry
    return out


def _cell(s: dict) -> str:
    return f"{s['median']:.1f} [{s['low']:.1f}, {s['high']:.1f}]"


def _pair(p: dict) -> str:
    return f"{p['median_diff']:+.1f} [{p['low']:+.1f}, {p['high']:+.1f}], P={p['p_improvement']:.2f}"


def report(data: dict) -> str:
    cfg = data["config"]
    lines = ["## Sparse training from scratch: dense, GMP, static, SET, RigL (Graesser et al. 2022 in miniature)", ""]
    if cfg["label"] != "full":
        lines += [f"**Reduced run ({cfg['label']}).** The full configuration: `{cfg['full_command']}`.", ""]
    sps = cfg["sparsities"]
    for agent, s in data["summary"].items():
        n = len(s["seeds"])
        lines += [f"### {agent}: {s['env_steps']:,} env steps per arm, seeds {s['seeds'][0]}..{s['seeds'][-1]}", "",
                  f"Median held-out return over {n} seeds [order-statistic interval at {s['dense']['level']:.1%}]; "
                  f"dense: **{_cell(s['dense'])}**.", ""]
        cells = {(c["arm"], c["sparsity"]): c for c in s["cells"]}
        heads = [f"{round(sp * 100)} %" for sp in sps]
        lines += [benchlib.table(["arm", *heads], [[m, *[_cell(cells[(m, sp)]) for sp in sps]] for m in METHODS]), "",
                  "Paired against dense (median per-seed difference [interval], P(X>Y)):", "",
                  benchlib.table(["arm", *heads], [[m, *[_pair(cells[(m, sp)]["vs_dense"]) for sp in sps]]
                                                   for m in METHODS]), "",
                  "Paired against GMP:", "",
                  benchlib.table(["arm", *heads], [[m, *[_pair(cells[(m, sp)]["vs_gmp"]) for sp in sps]]
                                                   for m in METHODS if m != "gmp"]), ""]
    lines += [f"{cfg['episodes']} greedy episodes per seed from reset seed 1000 s; SET/RigL: ERK densities, "
              f"drop fraction 0.5 on a cosine, a topology update every 1/{TOPOLOGY_UPDATES} of the optimizer steps "
              "until 75 %; GMP: Zhu-Gupta from 20 % to 80 % of training; the weights kept are the best on validation "
              "seeds 10,000+ (GMP: once at its final sparsity). cartpole-dqn is the zoo recipe with fewer env steps; "
              "cartpole-ppo is CleanRL's CartPole PPO (64-64 tanh, 4 envs x 128 steps), defined in this bench, not "
              "in the zoo. Artefact: `bench/sparse_training.json` (per-seed rows).", "",
              f"Run time: {data['wall_seconds'] / 60:.1f} min wall clock on the shared machine ({cfg['workers']} "
              f"worker processes, one thread each; {data['cpu_seconds'] / 60:.1f} CPU-min of training)."]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a reduced run in a few minutes (not written to bench/)")
    parser.add_argument("--agents", nargs="+", choices=list(AGENTS))
    parser.add_argument("--seeds", type=int, help=f"seeds 0..N-1 (default {SEEDS}; --fast 3)")
    parser.add_argument("--sparsities", nargs="+", type=float)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, help="artefact path (default bench/sparse_training.json; --fast: none)")
    parser.add_argument("--report", action="store_true", help="only rewrite the RESULTS.md section from the artefact")
    args = parser.parse_args(argv)
    if args.report:
        benchlib.write_section("sparse_training", report(json.loads(ARTEFACT.read_text())))
        return 0
    benchlib.controlled()
    agents = FAST["agents"] if args.fast else AGENTS
    agents = {a: agents[a] for a in (args.agents or agents)}
    sparsities = tuple(args.sparsities or (FAST["sparsities"] if args.fast else SPARSITIES))
    seeds = list(range(args.seeds or (FAST["seeds"] if args.fast else SEEDS)))
    episodes = FAST["episodes"] if args.fast else EPISODES
    full = not args.fast and list(agents) == list(AGENTS) and sparsities == SPARSITIES and len(seeds) >= SEEDS
    label = "full" if full else ("fast mode" if args.fast else
                                 f"{len(seeds)} seeds, sparsities {', '.join(map(str, sparsities))}, "
                                 f"agents {', '.join(agents)}")
    todo = tasks(agents, sparsities, seeds, episodes)
    out = args.out or (None if args.fast else ARTEFACT)
    rows, wall, cpu = benchlib.sweep(run_one, todo, args.workers, lambda row: (
        f"{row['agent']} {row['arm']} {row['sparsity']} seed {row['seed']}: {row['return']:.1f}"),
        journal=out and out.with_suffix(".journal.jsonl"))
    data = {"config": {"label": label, "agents": agents, "sparsities": list(sparsities), "seeds": seeds,
                       "episodes": episodes, "workers": args.workers, "topology_updates": TOPOLOGY_UPDATES,
                       "full_command": "nice -n 10 python bench/bench_sparse_training.py",
                       "machine": benchlib.machine()},
            "wall_seconds": wall, "cpu_seconds": cpu, "rows": rows, "summary": summarize(rows)}
    benchlib.publish(data, report(data), out, ARTEFACT, "sparse_training")
    return 0


if __name__ == "__main__":
    sys.exit(main())
