"""``prunerl compare``: prune a zoo agent with every strategy at several sparsities over seeds, and report."""
from __future__ import annotations

import sys

from ._args import positive_int

CONFIG = ("agent", "framework", "strategies", "sparsities", "seeds", "episodes", "finetune_steps", "l1_budget")


def _split(values: list[str]) -> list[str]:
    """Accept both ``--x a b`` and ``--x a,b``."""
    return [v for value in values for v in value.split(",") if v]


def add_arguments(parser) -> None:
    from ..compare import (DEFAULT_AGENT, DEFAULT_EPISODES, DEFAULT_FINETUNE_STEPS, DEFAULT_SEEDS,
                           DEFAULT_SPARSITIES, DEFAULT_STRATEGIES, L1_BUDGETS, STRATEGY_TABLE)

    parser.add_argument("--agent", default=DEFAULT_AGENT, help=f"zoo agent (default: {DEFAULT_AGENT})")
    parser.add_argument("--framework", default="torch", help="torch or tensorflow (default: torch)")
    parser.add_argument("--strategies", nargs="+", default=list(DEFAULT_STRATEGIES), metavar="S",
                        help=f"strategies (default: {' '.join(DEFAULT_STRATEGIES)}): "
                             + "; ".join(f"{s.name}: {s.about}" for s in STRATEGY_TABLE))
    parser.add_argument("--sparsities", nargs="+", default=[str(s) for s in DEFAULT_SPARSITIES], metavar="X",
                        help="nominal sparsities in [0, 1); 0 = the dense agent (default: "
                             f"{' '.join(str(s) for s in DEFAULT_SPARSITIES)})")
    parser.add_argument("--seeds", nargs="+", default=[str(s) for s in DEFAULT_SEEDS], metavar="N",
                        help="independent seeds: random masks, fine-tuning, and each seed's own evaluation "
                             f"episodes (default: {' '.join(str(s) for s in DEFAULT_SEEDS)})")
    parser.add_argument("--episodes", type=int, default=DEFAULT_EPISODES,
                        help="evaluation episodes per seed (default: %(default)s)")
    parser.add_argument("--finetune-steps", type=int, default=DEFAULT_FINETUNE_STEPS,
                        help="env steps of fine-tuning for the gradual strategy (default: %(default)s)")
    parser.add_argument("--finetune-oneshot", action="store_true",
                        help="also fine-tune one-shot pruned agents (masks held) for --finetune-steps")
    parser.add_argument("--l1-budget", default=L1_BUDGETS[0], metavar="|".join(L1_BUDGETS),
                        help="equal-nonzero: l1_structured removes the unit fraction whose shrunk network keeps as "
                             "many non-zero weights as the target sparsity leaves (its effective sparsity matches "
                             "the target; its achieved sparsity, zeros only, is lower); units: the target is the "
                             "fraction of hidden units (default: %(default)s)")
    parser.add_argument("--out", default="runs/compare", help="output folder (default: %(default)s)")
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="torch/TensorFlow CPU threads; these networks are too small to gain from more, and "
                             "one thread per run does not fight other work for the cores (default: %(default)s)")
    parser.add_argument("--jobs", type=positive_int, default=_cpus(),
                        help="runs in parallel, one worker process each; every run is seeded on its own, so the "
                             "results do not depend on it (default: the CPUs this process may use, %(default)s)")
    parser.add_argument("--write-docs", action="store_true",
                        help="run the default configuration and record it in the repository (run from its root): "
                             "docs/compare/, docs/compare_cartpole.png and the README results block")


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the pool's workers)."""
    import os

    return sum(os.times()[:4])


def _parse(args):
    try:
        sparsities = [float(s) for s in _split(args.sparsities)]
    except ValueError as exc:
        raise ValueError(f"bad --sparsities: {exc}") from None
    try:
        seeds = [int(s) for s in _split(args.seeds)]
    except ValueError as exc:
        raise ValueError(f"bad --seeds: {exc}") from None
    return _split(args.strategies), sparsities, seeds


def _table(summary, agent: str, framework: str, n_seeds: int):
    from rich.markup import escape
    from rich.table import Table

    from ..compare import REFERENCE
    from ..compare_docs import band, level_pct, rate

    level = level_pct(summary)
    title = (f"prunerl compare: {agent} [{framework}], median over {n_seeds} seeds, {level} order-statistic interval; "
             f"paired against {REFERENCE} at the same nominal sparsity (same seeds and episodes)")
    table = Table(title=escape(title), title_justify="left")
    for col in ["strategy", "nominal", "achieved", "effective", "trained", "median", f"{level} interval", "band",
                "reached bar", f"vs {REFERENCE}", "P(X>Y)", "non-zero", "CSR KiB", "nz kFLOPs"]:
        table.add_column(escape(col), justify="left" if col in ("strategy", "band") else "right", no_wrap=True)
    previous = None
    for row in summary.itertuples():
        if previous is not None and row.strategy != previous:
            table.add_section()
        previous = row.strategy
        paired = "" if row.diff_median != row.diff_median else \
            f"{row.diff_median:+.1f} [{row.diff_low:+.1f}, {row.diff_high:+.1f}]"
        pi = "" if row.p_improvement != row.p_improvement else f"{row.p_improvement:.2f}"
        table.add_row(row.strategy, f"{row.target_sparsity:.2f}", f"{row.sparsity:.3f}",
                      f"{row.effective_sparsity:.3f}", f"{row.train_steps:,.0f}", f"{row.median_return:.1f}",
                      escape(band(row)), row.variation, escape(rate(row)), escape(paired), pi,
                      f"{row.nonzero_params:,.0f}", f"{row.csr_bytes / 1024:.1f}", f"{row.nonzero_flops / 1000:.1f}")
    return table


def _non_default(args, parser_defaults: dict) -> list[str]:
    return [f"--{name.replace('_', '-')}" for name in (*CONFIG, "finetune_oneshot", "threads")
            if getattr(args, name) != parser_defaults[name]]


def run(args) -> int:
    import os
    import time

    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..backend import set_threads
    from ..compare import REFERENCE, REGISTRY, CompareError, compare, summarize, validate
    from ..compare_docs import write_outputs

    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the table into 80 columns
        console = Console(width=240)
    try:
        strategies, sparsities, seeds = _parse(args)
        env_id = validate(args.agent, args.framework, strategies, sparsities, seeds, args.episodes,
                          args.finetune_steps, args.l1_budget)
        if args.write_docs:
            import argparse

            defaults = argparse.ArgumentParser()
            add_arguments(defaults)
            changed = _non_default(args, vars(defaults.parse_args([])))
            if changed:
                raise ValueError(f"--write-docs records the default run; drop {' '.join(changed)}")
            if not os.path.exists("README.md"):
                raise ValueError("--write-docs must run from the repository root (no README.md here)")
    except (CompareError, ValueError) as exc:
        print(f"prunerl compare: {exc}", file=sys.stderr)
        return 2
    trains = any(REGISTRY[s].finetunes for s in strategies) or args.finetune_oneshot
    # Fine-tuning runs in torch whatever the agent's framework.
    set_threads(args.threads, dict.fromkeys(["torch"] * trains + [args.framework]))
    total = len(strategies) * len(sparsities) * len(seeds)
    load = os.getloadavg()[0]
    started, cpu = time.perf_counter(), _cpu_seconds()
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(f"pruning {args.agent}", total=total)

        def step(row):
            bar.update(task, advance=1, description=f"{row['strategy']} @ {row['target_sparsity']:.2f} "
                                                    f"seed {row['seed']}: {row['mean_return']:.1f}")

        df = compare(args.agent, args.framework, strategies, sparsities, seeds, args.episodes,
                     args.finetune_steps, args.finetune_oneshot, progress=step, l1_budget=args.l1_budget,
                     jobs=args.jobs, threads=args.threads)
    wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    console.print(_table(summarize(df), args.agent, args.framework, len(seeds)))
    paths = write_outputs(df, args.out, title=f"{args.agent} [{args.framework}]: return vs achieved sparsity")
    console.print(escape(f"{total} runs in {wall:.1f} s ({cpu:.1f} s CPU, {args.jobs} jobs); seeds {seeds}, "
                  f"{args.episodes} episodes each "
                  f"(seed s plays reset seeds 1000 s, 1000 s + 1, ...). Return: median over seeds with its "
                  f"distribution-free order-statistic interval at its exact level (prunerl.stats); where every seed "
                  f"agrees, how many seeds reached the bar instead, with a 95% Clopper-Pearson interval on the rate. "
                  f"vs {REFERENCE}: median paired difference [interval]; A beats B only if the interval excludes 0. "
                  f"Band 'episode noise only' = deterministic pruning, the same network at every seed. Achieved "
                  f"sparsity: fraction of prunable weights that are zero; effective: after removing dead units "
                  f"(sizes and FLOPs too). Trained: env steps of training each arm got."))
    for kind, path in paths.items():
        console.print(f"  {kind}: {path}")
    if args.write_docs:
        from ..compare_docs import update_readme, write_artefacts

        info = {"agent": args.agent, "framework": args.framework, "env_id": env_id, "strategies": strategies,
                "sparsities": sparsities, "seeds": seeds, "episodes": args.episodes,
                "finetune_steps": args.finetune_steps, "l1_budget": args.l1_budget, "threads": args.threads,
                "jobs": args.jobs, "wall_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
                "load_average": round(load, 2), "load_average_end": round(os.getloadavg()[0], 2),
                "command": "prunerl compare --write-docs"}
        write_artefacts(df, info)
        console.print("recorded in docs/compare/ and docs/compare_cartpole.png; README block "
                      + ("rewritten" if update_readme() else "unchanged"))
    return 0
