"""``prunerl compare``: prune a zoo agent with every strategy at several sparsities over seeds, and report."""
from __future__ import annotations

import sys


def _split(values: list[str]) -> list[str]:
    """Accept both ``--x a b`` and ``--x a,b``."""
    return [v for value in values for v in value.split(",") if v]


def add_arguments(parser) -> None:
    from ..compare import (DEFAULT_AGENT, DEFAULT_EPISODES, DEFAULT_FINETUNE_STEPS, DEFAULT_SEEDS,
                           DEFAULT_SPARSITIES, STRATEGIES)

    parser.add_argument("--agent", default=DEFAULT_AGENT, help=f"zoo agent (default: {DEFAULT_AGENT})")
    parser.add_argument("--framework", default="torch", help="torch or tensorflow (default: torch)")
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), metavar="S",
                        help=f"strategies (default: all: {' '.join(STRATEGIES)})")
    parser.add_argument("--sparsities", nargs="+", default=[str(s) for s in DEFAULT_SPARSITIES], metavar="X",
                        help="target sparsities in [0, 1); 0 = the dense agent (default: 0 0.5 0.8 0.9 0.95)")
    parser.add_argument("--seeds", nargs="+", default=[str(s) for s in DEFAULT_SEEDS], metavar="N",
                        help="seeds: random masks, fine-tuning, evaluation episodes (default: 0 1 2)")
    parser.add_argument("--episodes", type=int, default=DEFAULT_EPISODES,
                        help="evaluation episodes per run (default: %(default)s)")
    parser.add_argument("--finetune-steps", type=int, default=DEFAULT_FINETUNE_STEPS,
                        help="env steps of fine-tuning for the gradual strategy (default: %(default)s)")
    parser.add_argument("--finetune-oneshot", action="store_true",
                        help="also fine-tune one-shot pruned agents (masks held) for --finetune-steps")
    parser.add_argument("--out", default="runs/compare", help="output folder (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch/TensorFlow CPU threads; these networks are too small to gain from more, and "
                             "one thread per run does not fight other work for the cores (default: %(default)s)")


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


def _table(summary, agent: str, framework: str):
    from rich.table import Table

    from rich.markup import escape

    table = Table(title=escape(f"prunerl compare: {agent} [{framework}] (means over seeds)"), title_justify="left")
    for col in ["strategy", "target", "sparsity", "return", "95% CI", "non-zero params", "dense KiB", "CSR KiB",
                "kFLOPs", "non-zero kFLOPs"]:
        table.add_column(col, justify="left" if col == "strategy" else "right", no_wrap=True)
    previous = None
    for row in summary.itertuples():
        if previous is not None and row.strategy != previous:
            table.add_section()
        previous = row.strategy
        ci = "n/a" if row.ci_low != row.ci_low else f"[{row.ci_low:.0f}, {row.ci_high:.0f}]"
        table.add_row(row.strategy, f"{row.target_sparsity:.2f}", f"{row.sparsity:.3f}", f"{row.mean_return:.1f}",
                      ci, f"{row.nonzero_params:,.0f}", f"{row.dense_bytes / 1024:.1f}", f"{row.csr_bytes / 1024:.1f}",
                      f"{row.flops / 1000:.1f}", f"{row.nonzero_flops / 1000:.1f}")
    return table


def _set_threads(threads: int, framework: str, uses_torch: bool) -> None:
    if uses_torch:  # torch agents, and fine-tuning (which runs in torch in both frameworks)
        import torch

        torch.set_num_threads(max(1, threads))
    if framework == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(max(1, threads))
            tf.config.threading.set_inter_op_parallelism_threads(max(1, threads))
        except RuntimeError:  # already initialized
            pass


def run(args) -> int:
    import time

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..compare import CompareError, compare, summarize, validate, write_outputs

    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the table into 80 columns
        console = Console(width=132)
    try:
        strategies, sparsities, seeds = _parse(args)
        validate(args.agent, args.framework, strategies, sparsities, seeds, args.episodes, args.finetune_steps)
    except (CompareError, ValueError) as exc:
        print(f"prunerl compare: {exc}", file=sys.stderr)
        return 2
    _set_threads(args.threads, args.framework,
                 args.framework == "torch" or "gradual" in strategies or args.finetune_oneshot)
    total = len(strategies) * len(sparsities) * len(seeds)
    started = time.perf_counter()
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(f"pruning {args.agent}", total=total)

        def step(row):
            bar.update(task, advance=1, description=f"{row['strategy']} @ {row['target_sparsity']:.2f} "
                                                    f"seed {row['seed']}: {row['mean_return']:.1f}")

        df = compare(args.agent, args.framework, strategies, sparsities, seeds, args.episodes,
                     args.finetune_steps, args.finetune_oneshot, progress=step)
    summary = summarize(df)
    console.print(_table(summary, args.agent, args.framework))
    paths = write_outputs(df, args.out, title=f"{args.agent} [{args.framework}]: return vs sparsity")
    console.print(f"{total} runs in {time.perf_counter() - started:.1f} s; seeds {seeds}, {args.episodes} episodes "
                  f"each (episode seeds start at 1000 x seed); 95% CI: Student t over seeds.")
    for kind, path in paths.items():
        console.print(f"  {kind}: {path}")
    return 0
