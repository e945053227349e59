"""What a ``prunerl compare`` run writes: its output folder, the committed record of the default run, and the
README block generated from that record.

``prunerl compare --write-docs`` (run from the repository root) runs the default configuration and writes
``docs/compare/results.csv`` (one row per run), ``docs/compare/summary.csv``, ``docs/compare/run.json``
(configuration, wall and CPU time) and ``docs/compare_cartpole.png``, then regenerates the README block
between :data:`BEGIN` and :data:`END` from those files alone. ``python -m prunerl.compare_docs`` regenerates
only the block; ``--check`` exits 1 when the README disagrees with the committed files.
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


def _cell(row) -> str:
    return f"{row.iqm_return:.1f} [{row.ci_low:.1f}, {row.ci_high:.1f}] at {row.sparsity:.3f}"


def render_block(root: Path | str = ".") -> str:
    """The README block, from the committed artefacts only."""
    from .compare import summarize
    from .plotting import caption

    df, info = load(root)
    summary = summarize(df)
    n = int(summary["seeds"].max())
    seeds = sorted(df["seed"].unique())
    levels = sorted(t for t in summary["target_sparsity"].unique() if t > 0)
    low, high = stats.return_range(info["env_id"])
    bounded = f", hence never outside {info['env_id']}'s return range [{low:g}, {high:g}]" if low is not None else ""
    lines = [BEGIN, "<!-- Generated from docs/compare/ (results.csv, run.json): `prunerl compare --write-docs` re-runs "
             "and re-renders, `python -m prunerl.compare_docs` re-renders. Do not edit by hand. -->", "",
             f"**The default run** (`prunerl compare` with no arguments): `{info['agent']}` ({info['framework']}), "
             f"strategies {', '.join(f'`{s}`' for s in info['strategies'])} at nominal sparsities "
             f"{', '.join(_pct(t) for t in levels)} beside the dense agent, seeds {seeds[0]}–{seeds[-1]} "
             f"({info['episodes']} evaluation episodes each, seed *s* playing reset seeds 1000 *s*, 1000 *s* + 1, …), "
             f"`gradual` fine-tuning for {info['finetune_steps']:,} env steps, `--l1-budget {info['l1_budget']}`: "
             f"{len(df)} runs in {info['wall_seconds']:.0f} s of wall clock and {info['cpu_seconds']:.0f} s of CPU "
             f"time ({info['threads']} compute thread; load average {info['load_average']:.1f} at the start). "
             f"Every number below is in [`docs/compare/results.csv`](docs/compare/results.csv) (one row per run) "
             f"and [`summary.csv`](docs/compare/summary.csv).", "",
             f"Each cell: interquartile mean (IQM) over the {n} seeds of each seed's mean return, [its 95 % "
             f"percentile-bootstrap interval over seeds] (`prunerl.stats`; never outside the per-seed values"
             f"{bounded}), and the achieved sparsity: the fraction of the dense agent's prunable weights gone "
             f"once dead units are removed (`prunerl.structured.shrink`), counted the same way for every "
             f"strategy. † A deterministic strategy prunes the same network at every seed: its interval is "
             f"{stats.EPISODE_NOISE}.", "",
             "| strategy | " + " | ".join(_pct(t) for t in levels) + " |",
             "|---|" + "---|" * len(levels)]
    dense = summary[summary["target_sparsity"] == 0]
    for strategy in info["strategies"]:
        rows = summary[(summary["strategy"] == strategy) & (summary["target_sparsity"] > 0)]
        mark = " †" if (rows["variation"] == stats.EPISODE_NOISE).all() else ""
        cells = {row.target_sparsity: _cell(row) for row in rows.itertuples()}
        lines.append(f"| `{strategy}`{mark} | " + " | ".join(cells.get(t, "") for t in levels) + " |")
    if len(dense):
        d = dense.iloc[0]
        lines += ["", f"The dense agent: IQM {d.iqm_return:.1f} [{d.ci_low:.1f}, {d.ci_high:.1f}] "
                  f"({stats.EPISODE_NOISE})."]
    best = []
    for t in levels:
        top = summary[summary["target_sparsity"] == t].sort_values("iqm_return", ascending=False).iloc[0]
        best.append(f"{_pct(t)}: `{top.strategy}` {top.iqm_return:.1f}")
    lines += [f"Best IQM at each nominal sparsity: {'; '.join(best)}."]
    first = summary[summary["target_sparsity"] == levels[0]]
    gaps = [f"`{r.strategy}` {r.sparsity:.3f}" for r in first.itertuples()]
    lines += ["", f"Unstructured masks kill units too (a hidden unit whose outgoing weights are all pruned does "
              f"nothing; one whose incoming weights are all pruned is a constant, folded into the next layer's "
              f"bias), so their achieved sparsity exceeds the nominal one; "
              f"achieved at a nominal {_pct(levels[0])}: {', '.join(gaps)}. With `--l1-budget equal-nonzero` "
              f"(the default: `l1_structured` then keeps as many non-zero weights as an unstructured mask of the "
              f"nominal sparsity, instead of far fewer) `l1_structured` removes the fraction of hidden units "
              f"whose shrunk network keeps the nominal share of weights "
              f"({', '.join(_pct(round(r.unit_fraction, 4)) for r in _l1_rows(summary, levels))} of the units); "
              f"`--l1-budget units` reads the target as the unit fraction instead.", "",
              f"![prunerl compare on {info['agent']}]({PLOT.as_posix()})", "",
              "*" + caption(n).replace("\n", " ") + " Dashed lines, † in the table: episode noise only.*",
              END]
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
