"""What a ``prunerl compare`` run writes: its output folder, the committed record of the default run, and the
README block generated from that record.

``prunerl compare --write-docs`` (run from the repository root) runs the default configuration and writes
``docs/compare/results.csv`` (one row per run), ``docs/compare/summary.csv``, ``docs/compare/run.json``
(configuration, wall and CPU time, the load average at the start and at the end) and ``docs/compare_cartpole.png``,
then regenerates the README block between :data:`BEGIN` and :data:`END` from those files alone.
``python -m prunerl.compare_docs`` regenerates only the block; ``--check`` exits 1 when the README disagrees with
the committed files.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from . import stats

ARTEFACTS = Path("docs/compare")
PLOT = Path("docs/compare_cartpole.png")
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def write_outputs(df: pd.DataFrame, out_dir, title: str | None = None, plot=None) -> dict[str, str]:
    """Write ``results.csv`` (tidy, one row per run) and ``summary.csv`` to ``out_dir``, and the plot to ``plot``
    (default ``out_dir/compare.png``); returns the paths written."""
    from .compare import summarize
    from .plotting import plot_comparison, save_figure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"results": out / "results.csv", "summary": out / "summary.csv",
             "plot": Path(plot) if plot is not None else out / "compare.png"}
    df.to_csv(paths["results"], index=False)
    summarize(df).to_csv(paths["summary"], index=False)
    save_figure(plot_comparison(df, title=title), paths["plot"])
    return {k: str(v) for k, v in paths.items()}


def write_artefacts(df: pd.DataFrame, info: dict, root: Path | str = ".") -> None:
    """Write the run's CSVs, ``run.json`` and the plot under ``root``."""
    root = Path(root)
    write_outputs(df, root / ARTEFACTS, f"{info['agent']} [{info['framework']}]: return vs achieved sparsity",
                  plot=root / PLOT)
    (root / ARTEFACTS / "run.json").write_text(json.dumps(info, indent=2) + "\n")


def load(root: Path | str = ".") -> tuple[pd.DataFrame, dict]:
    root = Path(root)
    return pd.read_csv(root / ARTEFACTS / "results.csv"), json.loads((root / ARTEFACTS / "run.json").read_text())


def _pct(x: float) -> str:
    return f"{100 * x:g} %"


def level_pct(summary: pd.DataFrame) -> str:
    """The level of the intervals of ``summary`` (one seed count), e.g. ``"96.9 %"``."""
    return f"{100 * summary['level'].min():.1f} %"


def rate(row) -> str:
    """``"6/6 [0.54, 1.00]"``: seeds that reached the bar, with the Clopper-Pearson interval on the rate."""
    return f"{row.reached}/{row.seeds} [{row.rate_low:.2f}, {row.rate_high:.2f}]"


def band(row) -> str:
    """The interval of the median, or, where every seed agrees (no width), the rate of seeds at the bar."""
    if row.ci_low == row.ci_high:
        return f"all equal; bar reached by {rate(row)}"
    return f"[{row.ci_low:.1f}, {row.ci_high:.1f}]"


def _cell(row) -> str:
    eff = f", effective {row.effective_sparsity:.3f}" if abs(row.effective_sparsity - row.sparsity) > 5e-4 else ""
    return f"{row.median_return:.1f} {band(row)} at {row.sparsity:.3f}{eff}"


def _vs(row) -> str:
    if row.diff_median != row.diff_median:
        return ""
    return f"{row.diff_median:+.1f} [{row.diff_low:+.1f}, {row.diff_high:+.1f}], P(X>Y) {row.p_improvement:.2f}"


def _trained(rows: pd.DataFrame) -> str:
    """The training budgets of one strategy's rows, e.g. ``"60,000 / 20,000"`` for agents trained by two recipes."""
    return " / ".join(f"{v:,.0f}" for v in dict.fromkeys(rows["train_steps"]))


def _budget(steps: float) -> str:
    return "no training" if steps == 0 else f"{steps:,.0f} env steps of training"


def _ranking(df: pd.DataFrame, summary: pd.DataFrame, target: float) -> str:
    """Best median among the arms of each training budget placed at the nominal sparsity, and whether the paired
    interval separates it from every other arm of that budget."""
    rows = summary[(summary["target_sparsity"] == target)]
    placed = rows[(rows["sparsity"] - target).abs() <= 0.01]
    parts = []
    for steps, group in placed.groupby("train_steps", sort=True):
        group = group.sort_values("median_return", ascending=False)
        top = group.iloc[0]
        if len(group) == 1:
            parts.append(f"{_budget(steps)}: only `{top.strategy}` ({top.median_return:.1f})")
            continue
        values = {s: df[(df["strategy"] == s) & (df["target_sparsity"] == target)].sort_values("seed")["mean_return"]
                  for s in group["strategy"]}
        tied = [s for s in group["strategy"][1:] if stats.paired(values[top.strategy], values[s])["low"] <= 0]
        verdict = (f"not separated from {', '.join(f'`{s}`' for s in tied)}" if tied
                   else "above every other (paired interval above 0)")
        parts.append(f"{_budget(steps)}: `{top.strategy}` {top.median_return:.1f}, {verdict}")
    return f"{_pct(target)}: " + "; ".join(parts)


def _strategy_table(summary, strategies, levels, cell, mark: bool) -> list[str]:
    """A table of one row per strategy and one column per nominal sparsity, each cell ``cell(row)``; ``mark``: a †
    after a strategy whose every cell is episode noise only."""
    lines = ["| strategy | trained | " + " | ".join(_pct(t) for t in levels) + " |", "|---|---|" + "---|" * len(levels)]
    for strategy in strategies:
        rows = summary[(summary["strategy"] == strategy) & (summary["target_sparsity"] > 0)]
        dagger = " †" if mark and (rows["variation"] == stats.EPISODE_NOISE).all() else ""
        cells = {row.target_sparsity: cell(row) for row in rows.itertuples()}
        lines.append(f"| `{strategy}`{dagger} | {_trained(rows)} | "
                     + " | ".join(cells.get(t, "") for t in levels) + " |")
    return lines


def render_block(root: Path | str = ".") -> str:
    """The README block, from the committed artefacts only."""
    from .compare import REFERENCE, summarize
    from .plotting import caption

    df, info = load(root)
    summary = summarize(df)
    n = int(summary["seeds"].max())
    level = level_pct(summary)
    seeds = sorted(df["seed"].unique())
    levels = sorted(t for t in summary["target_sparsity"].unique() if t > 0)
    low, high = stats.return_range(info["env_id"])
    bounded = f", hence never outside {info['env_id']}'s return range [{low:g}, {high:g}]" if low is not None else ""
    from .zoo import recipe

    bar = recipe(info["agent"]).return_bar
    lines = [BEGIN, "<!-- Generated from docs/compare/ (results.csv, run.json): `prunerl compare --write-docs` re-runs "
             "and re-renders, `python -m prunerl.compare_docs` re-renders. Do not edit by hand. -->", "",
             f"**The default run** (`prunerl compare` with no arguments): `{info['agent']}` ({info['framework']}), "
             f"strategies {', '.join(f'`{s}`' for s in info['strategies'])} at nominal sparsities "
             f"{', '.join(_pct(t) for t in levels)} beside the dense agent, seeds {seeds[0]}–{seeds[-1]} "
             f"({info['episodes']} evaluation episodes each, seed *s* playing reset seeds 1000 *s*, 1000 *s* + 1, …), "
             f"`gradual` fine-tuning for {info['finetune_steps']:,} env steps, `--l1-budget {info['l1_budget']}`: "
             f"{len(df)} runs in {info['wall_seconds']:.0f} s of wall clock (`--jobs {info['jobs']}`, "
             f"{info['threads']} compute thread each) and {info['cpu_seconds']:.0f} s of CPU time; load average "
             f"{info['load_average']:.1f} at the start and {info['load_average_end']:.1f} at the end (the wall clock "
             f"counts whatever else ran on the cores). "
             f"Every number below is in [`docs/compare/results.csv`](docs/compare/results.csv) (one row per run) "
             f"and [`summary.csv`](docs/compare/summary.csv).", "",
             f"Each cell: the median over the {n} seeds of each seed's mean return, [its {level} order-statistic "
             f"interval] (`prunerl.stats`: distribution-free, it holds the population median at least {level} of "
             f"the time whatever the shape of the returns, as `tests/test_coverage.py` measures; never outside the "
             f"per-seed values{bounded}). Where every seed gives the same return the interval has no width, and the "
             f"cell says instead how many seeds reached the agent's bar ({bar:g}), with a 95 % Clopper–Pearson "
             f"interval on the rate. Then the achieved sparsity (the fraction of prunable weights that are zero) "
             f"and, where it differs, the effective sparsity (once dead units are removed, "
             f"`prunerl.structured.shrink`). † A deterministic strategy prunes the same network at every seed: its "
             f"interval is {stats.EPISODE_NOISE}. *Trained*: env steps of training behind the network.", "",
             *_strategy_table(summary, info["strategies"], levels, _cell, mark=True)]
    dense = summary[summary["target_sparsity"] == 0]
    if len(dense):
        d = dense.iloc[0]
        lines += ["", f"The dense agent: median {d.median_return:.1f} {band(d)} ({stats.EPISODE_NOISE})."]
    lines += ["", f"**Paired against `{REFERENCE}`** at the same nominal sparsity (the field's standard baseline: "
              f"one-shot, no training), seed by seed on the same episodes: the median difference in return, [its "
              f"{level} order-statistic interval], and the probability of improvement P(X>Y) (Agarwal et al. "
              f"2021: the share of seed pairs where the strategy scores higher, ties half). A strategy beats the "
              f"reference only where the whole interval is above 0; the column *trained* says what budget bought "
              f"the difference.", "",
              *_strategy_table(summary, [s for s in info["strategies"] if s != REFERENCE], levels, _vs, mark=False)]
    unplaced = sorted({r.strategy for r in summary[summary["target_sparsity"] > 0].itertuples()
                       if abs(r.sparsity - r.target_sparsity) > 0.01})
    lines += ["", "**Best median at each nominal sparsity, like with like** (arms of one training budget, at "
              "achieved sparsity within 0.01 of the nominal"
              + (f"; not ranked: {', '.join(f'`{s}`' for s in unplaced)}, placed elsewhere" if unplaced else "")
              + "): " + "; ".join(_ranking(df, summary, t) for t in levels) + ".", "",
              f"With `--l1-budget {info['l1_budget']}` `l1_structured` removes the fraction of hidden units whose "
              f"shrunk network keeps as many non-zero weights as the nominal sparsity leaves "
              f"({', '.join(_pct(round(r.unit_fraction, 4)) for r in _l1_rows(summary, levels))} of the units): "
              f"it is matched on effective sparsity; its achieved sparsity is lower because a removed unit's "
              f"outgoing weights are dead but not zero. Unstructured masks kill units too (a unit whose outgoing "
              f"weights are all pruned does nothing; one whose incoming weights are all pruned is a constant), so "
              f"their effective sparsity exceeds the achieved one. `--l1-budget units` reads the target as the "
              f"unit fraction instead.", "",
              f"![prunerl compare on {info['agent']}]({PLOT.as_posix()})", "",
              "*" + caption(n, summary["level"].min()).replace("\n", " ") + " Dashed lines, † in the table: "
              "episode noise only.*", END]
    return "\n".join(lines)


def _l1_rows(summary: pd.DataFrame, levels):
    rows = summary[(summary["strategy"] == "l1_structured") & summary["target_sparsity"].isin(levels)]
    return [r for r in rows.itertuples() if r.unit_fraction == r.unit_fraction]


def replace_block(readme: str, block: str) -> str:
    """``readme`` with the text from :data:`BEGIN` to :data:`END` replaced by ``block``."""
    if readme.count(BEGIN) != 1 or readme.count(END) != 1:
        raise ValueError(f"README must contain exactly one {BEGIN} ... {END} block")
    head, rest = readme.split(BEGIN)
    return head + block + rest.split(END, 1)[1]


def readme_block(readme: str) -> str:
    """The current block (markers included) of ``readme``."""
    return BEGIN + readme.split(BEGIN, 1)[1].split(END, 1)[0] + END


def update_readme(root: Path | str = ".") -> bool:
    """Rewrite the README block from the artefacts; returns whether it changed."""
    path = Path(root) / "README.md"
    text = path.read_text()
    new = replace_block(text, render_block(root))
    if new != text:
        path.write_text(new)
    return new != text


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv == ["--check"]:
            stale = readme_block((Path("README.md")).read_text()) != render_block()
            print("README results block is stale: run python -m prunerl.compare_docs" if stale else "up to date")
            return int(stale)
        if argv:
            print("usage: python -m prunerl.compare_docs [--check]  (from the repository root)", file=sys.stderr)
            return 2
        print("README results block " + ("rewritten" if update_readme() else "already up to date"))
        return 0
    except (OSError, ValueError, KeyError) as exc:
        print(f"prunerl.compare_docs: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
