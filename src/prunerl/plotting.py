"""Plots for ``prunerl compare`` (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

STYLE = {"random": ("tab:gray", "o"), "layerwise_magnitude": ("tab:blue", "s"),
         "global_magnitude": ("tab:green", "^"), "l1_structured": ("tab:orange", "D"), "gradual": ("tab:red", "v")}


def plot_comparison(df: pd.DataFrame, title: str | None = None, confidence: float = 0.95):
    """Mean return vs target sparsity, one line per strategy, with its confidence band over seeds.

    ``df`` is the tidy frame of :func:`prunerl.compare.compare` (one row per run) or its
    :func:`~prunerl.compare.summarize` output. Returns the Figure (the caller saves or shows it).
    """
    from .compare import summarize

    summary = df if "ci_low" in df.columns else summarize(df, confidence)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for strategy, group in summary.groupby("strategy", sort=False):
        group = group.sort_values("target_sparsity")
        color, marker = STYLE.get(strategy, (None, "o"))
        x = group["target_sparsity"].to_numpy(float)
        ax.plot(x, group["mean_return"], marker=marker, color=color, label=strategy)
        low, high = group["ci_low"].to_numpy(float), group["ci_high"].to_numpy(float)
        if np.isfinite(low).any():
            ax.fill_between(x, low, high, color=color, alpha=0.15, linewidth=0)
    dense = summary.loc[summary["target_sparsity"] == 0, "mean_return"]
    if len(dense):
        ax.axhline(float(dense.iloc[0]), color="black", linestyle=":", linewidth=1, label="dense")
    seeds = int(summary["seeds"].max()) if "seeds" in summary else None
    ax.set_xlabel("target sparsity (fraction of prunable weights; hidden units for l1_structured)")
    ax.set_ylabel("mean return" + (f" (band: {confidence:.0%} CI over {seeds} seeds)" if seeds else ""))
    ax.set_title(title or "return vs sparsity")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def save_figure(fig, path) -> None:
    fig.savefig(path)
    plt.close(fig)
