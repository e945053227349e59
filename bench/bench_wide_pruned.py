"""Obando-Ceron, Courville & Castro (2024) in miniature: a widened value network pruned during training.

The pixel agent ``minatar-breakout-dqn`` (MinAtar's DQN network: a 3x3 convolution of 16 channels, 128 hidden
units) at widths x1, x2 and x4 (channels and hidden units times the width), each trained from scratch by the zoo
recipe's hyperparameters for the same env steps (50,000: a sixth of the zoo agent's budget), dense and with
gradual magnitude pruning during training (Zhu-Gupta from 20 % to 80 % of the optimizer steps, ERK layer densities:
the paper's settings) to 95 %, except the x4 network, pruned to the sparsity that leaves as many prunable weights
as the dense x1 network has (93.7 %; ERK's per-layer rounding keeps them within 0.1 %). Seed s trains every arm with seed s
and plays its greedy evaluation episodes from reset seed ``prunerl.stats.episode_seed(s)``, held out from the
validation seeds 10,000+ the trainer keeps its weights on (GMP: once at its final sparsity). Each pruned arm is
paired over seeds against the dense arm of its width and against dense x1 (``prunerl.stats.paired``).

Usage: python bench/bench_wide_pruned.py [--fast] [--seeds N] [--widths 1 2 4] [--steps N] [--workers 2]
       python bench/bench_wide_pruned.py --report     # rewrite the RESULTS.md section from the artefact
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import benchlib
from bench_sparse_training import _by_seed, _cell, _pair

AGENT = "minatar-breakout-dqn"
ARTEFACT = benchlib.BENCH_DIR / "wide_pruned.json"
SPARSITY = 0.95
WIDTHS = (1, 2, 4)
FULL = dict(total_steps=50_000, eval_every=5_000, seeds=5, episodes=20)  # 1/6 of the zoo recipe: ~1.5 h on 2 cores
FAST = dict(total_steps=8_000, eval_every=4_000, seeds=2, episodes=2)  # past learning_starts (5,000)


def widened(width: int):
    """The zoo recipe of the pixel agent with ``width`` times its channels and hidden units."""
    from dataclasses import replace

    from prunerl import specs, zoo

    r = zoo.recipe(AGENT)
    conv = r.spec["layers"][0]
    hidden = next(layer for layer in r.spec["layers"] if layer["kind"] == "linear")
    spec = specs.conv_spec(list(r.spec["obs_shape"]), [conv["out"] * width], conv["kernel"], hidden["out"] * width,
                           r.spec["layers"][-1]["out"])
    return replace(r, spec=spec)


def prunable(width: int) -> int:
    from prunerl import metrics, nets

    return metrics.count_params(nets.build_torch(widened(width).spec))["prunable"]


def equal_count_sparsity(width: int) -> float:
    """The sparsity at which the ``width`` network keeps as many prunable weights as the dense x1 network."""
    return 1 - prunable(1) / prunable(width)


def run_one(task: dict) -> dict:
    """Train one arm at one seed (in a worker process, one torch thread) and evaluate it on held-out episodes."""
    import torch

    from prunerl import metrics, stats
    from prunerl.evaluation import evaluate
    from prunerl.recipes import train_during

    torch.set_num_threads(1)
    r = widened(task["width"])
    started, cpu = time.perf_counter(), time.process_time()
    dense = task["sparsity"] == 0
    result = train_during(r, task["sparsity"], task["seed"], task["hparams"], method="static" if dense else "gmp")
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    final = evaluate(result.actor, r.env_id, task["episodes"], stats.episode_seed(task["seed"]))
    counts = metrics.count_params(result.actor)
    return {**task, "optimizer_steps": result.optimizer_steps, "prunable": counts["prunable"],
            "prunable_nonzero": counts["prunable_nonzero"],
            "measured_sparsity": round(metrics.sparsity(result.actor), 5),
            "return": float(final.mean), "train_seconds": round(seconds, 2), "train_cpu_seconds": round(cpu_seconds, 2)}


def arms(widths) -> list[tuple[int, float]]:
    """(width, sparsity) of every arm: dense at each width; pruned to 95 % at each width but the widest, which is
    pruned to dense x1's weight count instead (93.7 % at x4, inside the paper's 90-95 %): one pruned arm there,
    because an x4 arm costs about six x1 arms."""
    widest = max(widths)
    return [(w, 0.0) for w in widths] + [
        (w, round(equal_count_sparsity(w), 4) if w == widest > 1 else SPARSITY) for w in widths]


def summarize(rows: list[dict]) -> dict:
    """Every arm's cell, and each pruned arm paired against dense of its width and against dense x1 on the same
    seeds. Refuses arms trained for unequal env steps or on different seeds."""
    from prunerl import stats

    if len({r["hparams"]["total_steps"] for r in rows}) != 1:
        raise ValueError("arms trained with unequal env steps; refusing to compare")
    cells = {key: _by_seed([r for r in rows if (r["width"], r["sparsity"]) == key])
             for key in sorted({(r["width"], r["sparsity"]) for r in rows})}
    seeds = sorted(cells[(1, 0.0)])
    if any(sorted(c) != seeds for c in cells.values()):
        raise ValueError("arms trained on different seeds; paired comparisons need the same seeds")
    values = {k: [c[s] for s in seeds] for k, c in cells.items()}
    nonzero = {(r["width"], r["sparsity"]): r["prunable_nonzero"] for r in rows}
    out = []
    for (w, sp), v in values.items():
        cell = {"width": w, "sparsity": sp, "prunable_nonzero": nonzero[(w, sp)], **stats.summarize(v)}
        if sp > 0:
            cell["vs_dense_same_width"] = stats.paired(v, values[(w, 0.0)])
        if (w, sp) != (1, 0.0):  # dense wide arms too: does widening alone pay?
            cell["vs_dense_x1"] = stats.paired(v, values[(1, 0.0)])
        out.append(cell)
    return {"seeds": seeds, "cells": out}


def verdict(summary: dict) -> str:
    """Held only if a pruned wide network beats dense x1 (paired interval above 0) and the best pruned arm is a
    wider one; not held if every pruned wide arm's interval lies at or below 0 against dense x1; else not shown."""
    wide = [c for c in summary["cells"] if c["sparsity"] > 0 and c["width"] > 1]
    if any(c["vs_dense_x1"]["low"] > 0 for c in wide):
        return "held"
    if wide and all(c["vs_dense_x1"]["high"] <= 0 for c in wide):
        return "not held"
    return "not shown at this budget"


def report(data: dict) -> str:
    cfg, s = data["config"], data["summary"]
    lines = ["## A pruned network is a good network: widths x1/x2/x4, dense and GMP (Obando-Ceron et al. 2024 in "
             "miniature)", ""]
    if cfg["label"] != "full":
        lines += [f"**Reduced run ({cfg['label']}).** The full configuration: `{cfg['full_command']}`.", ""]
    level = s["cells"][0]["level"]
    lines += [f"{AGENT}, {cfg['total_steps']:,} env steps per arm, seeds {s['seeds'][0]}..{s['seeds'][-1]}: median "
              f"held-out return over {len(s['seeds'])} seeds [order-statistic interval at {level:.1%}]; paired: median "
              "per-seed difference [interval], P(X>Y).", ""]
    rows = [[f"x{c['width']}", f"{c['sparsity']:.1%}", f"{c['prunable_nonzero']:,}", _cell(c),
             _pair(c["vs_dense_same_width"]) if c["sparsity"] else "", _pair(c["vs_dense_x1"]) if "vs_dense_x1" in c else ""]
            for c in s["cells"]]
    lines += [benchlib.table(["width", "sparsity", "non-zero weights", "return", "vs dense, same width",
                              "vs dense x1"], rows), "",
              f"**Verdict: {verdict(s)}.** {cfg['episodes']} greedy episodes per seed from reset seed 1000 s"
              + (". Artefact: `bench/wide_pruned.json` (per-seed rows)." if cfg["label"] == "full" else "."), "",
              f"Run time: {data['wall_seconds'] / 60:.1f} min wall clock ({cfg['workers']} worker processes, one "
              f"thread each; {data['cpu_seconds'] / 60:.1f} CPU-min of training)."]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a reduced smoke run (not written to bench/)")
    parser.add_argument("--seeds", type=int, help=f"seeds 0..N-1 (default {FULL['seeds']})")
    parser.add_argument("--widths", nargs="+", type=int, default=list(WIDTHS))
    parser.add_argument("--steps", type=int, help=f"env steps per arm (default {FULL['total_steps']:,})")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, help="artefact path (default bench/wide_pruned.json; --fast: none)")
    parser.add_argument("--report", action="store_true", help="only rewrite the RESULTS.md section from the artefact")
    args = parser.parse_args(argv)
    if args.report:
        data = json.loads(ARTEFACT.read_text())
        data["summary"] = summarize(data["rows"])  # the summary is derived: always from the per-seed rows
        ARTEFACT.write_text(json.dumps(data, indent=1) + "\n")
        benchlib.write_section("wide_pruned", report(data))
        return 0
    if 1 not in args.widths:
        parser.error("--widths must include 1 (every pruned arm is paired against dense x1)")
    benchlib.controlled()
    base = FAST if args.fast else FULL
    steps = args.steps or base["total_steps"]
    hparams = dict(total_steps=steps, eval_every=base["eval_every"] if args.steps is None else max(1, steps // 10))
    seeds = list(range(args.seeds or base["seeds"]))
    full = not args.fast and args.steps is None and tuple(args.widths) == WIDTHS and len(seeds) >= FULL["seeds"]
    label = "full" if full else ("fast mode" if args.fast else f"{len(seeds)} seeds, widths {args.widths}, "
                                                              f"{steps:,} steps")
    todo = [dict(width=w, sparsity=sp, seed=seed, hparams=hparams, episodes=base["episodes"])
            for seed in seeds for w, sp in arms(args.widths)]
    todo.sort(key=lambda t: -t["width"])  # the slowest first, so the pool ends together
    out = args.out or (None if args.fast else ARTEFACT)
    rows, wall, cpu = benchlib.sweep(run_one, todo, args.workers, lambda row: (
        f"x{row['width']} {row['sparsity']} seed {row['seed']}: {row['return']:.2f}"),
        journal=out and out.with_suffix(".journal.jsonl"))
    data = {"config": {"label": label, "agent": AGENT, "widths": args.widths, "total_steps": steps,
                       "hparams": hparams, "seeds": seeds, "episodes": base["episodes"], "workers": args.workers,
                       "full_command": "nice -n 10 python bench/bench_wide_pruned.py", "machine": benchlib.machine()},
            "wall_seconds": wall, "cpu_seconds": cpu, "rows": rows, "summary": summarize(rows)}
    benchlib.publish(data, report(data), out, ARTEFACT, "wide_pruned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
