"""Plots for ``prunerl compare`` (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

# (colour, marker) per strategy, in the order of :data:`prunerl.compare.STRATEGIES`: a strategy keeps its colour
# whichever others are plotted; one registered elsewhere takes a style left over.
PALETTE = [("tab:gray", "o"), ("tab:blue", "s"), ("tab:green", "^"), ("tab:orange", "D"), ("tab:red", "v"),
           ("tab:purple", "P"), ("tab:brown", "X"), ("tab:pink", "*"), ("tab:olive", "h"), ("tab:cyan", "p")]


def caption(n_seeds: int, level: float) -> str:
    """``level``: the exact coverage of the order-statistic interval (:func:`prunerl.stats.level`)."""
    return (f"Line: median over {n_seeds} seeds; band: its {100 * level:.1f} % order-statistic interval (no width "
            f"where every seed agrees);\ndots: one per seed. x: achieved sparsity (fraction of prunable weights "
            f"that are zero).")


def plot_comparison(df: pd.DataFrame, title: str | None = None, confidence: float = 0.95):
    """Return vs ACHIEVED sparsity, one line per strategy: median over seeds, its order-statistic band, per-seed dots.

    ``df`` is the tidy frame of :func:`prunerl.compare.compare` (one row per run: the per-seed dots need it).
    Strategies whose band is episode noise only (deterministic pruning) say so in the legend. The y-axis
    spans the environment's return range where it has one. Returns the Figure (the caller saves or shows it).
    """
    from .compare import STRATEGIES, summarize
    from .stats import EPISODE_NOISE, return_range

    summary = summarize(df, confidence)
    n_seeds = int(summary["seeds"].max())
    fig, ax = plt.subplots(figsize=(10, 5), dpi=110)
    pruned = df[df["target_sparsity"] > 0]
    style = dict(zip(STRATEGIES, PALETTE))
    spare = itertools.cycle(PALETTE[len(style):] or PALETTE)
    for strategy, group in summary[summary["target_sparsity"] > 0].groupby("strategy", sort=False):
        group = group.sort_values("target_sparsity")
        color, marker = style.get(strategy) or next(spare)
        noise = (group["variation"] == EPISODE_NOISE).all()
        label = f"{strategy} (band: {EPISODE_NOISE})" if noise else strategy
        x = group["sparsity"].to_numpy(float)
        ax.plot(x, group["median_return"], marker=marker, color=color, label=label, linestyle="--" if noise else "-")
        ax.fill_between(x, group["ci_low"].to_numpy(float), group["ci_high"].to_numpy(float), color=color,
                        alpha=0.15, linewidth=0)
        runs = pruned[pruned["strategy"] == strategy]
        ax.scatter(runs["sparsity"], runs["mean_return"], color=color, marker=marker, s=20, alpha=0.5,
                   linewidths=0)
    dense = summary[summary["target_sparsity"] == 0]
    if len(dense):
        row = dense.iloc[0]
        ax.axhline(row["median_return"], color="black", linestyle=":", linewidth=1,
                   label=f"dense (median {row['median_return']:.1f}, band: {EPISODE_NOISE})")
    low, high = return_range(str(df["env_id"].iloc[0]))
    seen = df["mean_return"].to_numpy(float)
    low = float(seen.min()) if low is None else low
    high = float(seen.max()) if high is None else high
    pad = 0.03 * (high - low or 1.0)
    ax.set_ylim(low - pad, high + pad)
    ax.set_xlabel("achieved sparsity (fraction of prunable weights that are zero)")
    ax.set_ylabel("return (mean over a seed's episodes)")
    ax.set_title(f"{title or 'return vs sparsity'} ({n_seeds} seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.text(0.01, 0.01, caption(n_seeds, summary["level"].min()), fontsize=8, va="bottom", ha="left")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def save_figure(fig, path) -> None:
    fig.savefig(path)
    plt.close(fig)

