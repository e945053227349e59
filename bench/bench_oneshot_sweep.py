"""One-shot global magnitude pruning of every zoo agent at 50, 80, 90 and 95 %: the no-training baseline.

Same measure as ``bench_pruning_quality.py`` (kept = (R_pruned - R_random) / (R_dense - R_random), seed s
evaluates its episodes from ``prunerl.stats.episode_seed(s)``), no fine-tuning, so it runs in a minute or two. Also
the per-layer sparsity global magnitude gives: it ranks all layers together, so layers drift from the target.

Usage: python bench/bench_oneshot_sweep.py [--agents a b] [--seeds 0 1 2 3 4] [--episodes 10]
"""
from __future__ import annotations

import argparse
import sys
import time

import benchlib

benchlib.controlled()

import bench_pruning_quality as quality  # noqa: E402

SPARSITIES = (0.5, 0.8, 0.9, 0.95)


def layer_table(agents) -> str:
    """Per-layer sparsity (input to output) of each agent after one-shot global magnitude pruning."""
    import prunerl
    from prunerl.metrics import layer_sparsity

    rows = []
    for agent in agents:
        cells = []
        for sp in SPARSITIES:
            model = prunerl.load_agent(agent)
            prunerl.pruning.prune(model, "global_magnitude", sp)
            cells.append(" / ".join(f"{v * 100:.1f}%" for v in layer_sparsity(model).values()))
        rows.append([agent, *cells])
    return benchlib.table(["agent", *[f"{round(s * 100)} %" for s in SPARSITIES]], rows)


def report(df, layers: str, seconds: float) -> str:
    seeds = sorted(df["seed"].unique().tolist())
    episodes = int(df["episodes"].iloc[0])
    heads = [f"{round(s * 100)} %" for s in SPARSITIES]
    lines = [
        "## One-shot global magnitude pruning at 50-95 % sparsity (no training)",
        "",
        f"{len(seeds)} seeds ({', '.join(map(str, seeds))}); seed s evaluates {episodes} greedy episodes from reset "
        "seed 1000 s (`prunerl.stats.episode_seed`), for the pruned agent, the dense agent and a uniformly random "
        "policy alike. **kept = (R_pruned - R_random) / (R_dense - R_random)**. Each cell: "
        + quality.legend(len(seeds)) + " One pruned network per agent and sparsity: the seeds differ "
        "only in their episodes, so the intervals are **episode noise only**.",
        "",
    ]
    rows = [[agent, "one-shot (episode noise only)",
             *[quality.cell(g[g["sparsity"] == sp]["kept"]) for sp in SPARSITIES]]
            for agent, g in df.groupby("agent", sort=False)]
    lines.append(benchlib.table(["agent", "method", *heads], rows))
    lines += ["", "Mean returns over seeds (dense agent and random policy on the same episodes):", ""]
    rows = []
    for agent, g in df.groupby("agent", sort=False):
        fmt = ".2f" if abs(g["dense"].mean()) < 10 else ".1f"
        rows.append([agent, "one-shot", f"{g['dense'].mean():{fmt}}", f"{g['random'].mean():{fmt}}",
                     *[f"{g[g['sparsity'] == sp]['return'].mean():{fmt}}" for sp in SPARSITIES]])
    lines.append(benchlib.table(["agent", "method", "dense", "random", *heads], rows))
    lines += ["", "Per-layer sparsity that global magnitude pruning gives (prunable tensors, input to output):", "",
              layers, "", f"Run time: {seconds:.0f} s (wall clock on the shared machine)."]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", nargs="+", default=list(quality.AGENTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--episodes", type=int, default=10)
    args = parser.parse_args(argv)
    import pandas as pd

    benchlib.set_threads()
    started = time.perf_counter()
    rows = []
    for agent in args.agents:
        rows += quality.run_agent(agent, args.seeds, args.episodes, ["one-shot"], lambda msg: print(msg, flush=True),
                                  sparsities=SPARSITIES)
    text = report(pd.DataFrame(rows), layer_table(args.agents), time.perf_counter() - started)
    print(text)
    benchlib.write_section("oneshot_sweep", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
