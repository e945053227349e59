# expect-fail: test_summary
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# The old band, mean ± 1.96·std/√n, over 3 seeds: 2-6x too narrow and able to leave the return range.
# %% summarize_comparison
DETERMINISTIC = ("layerwise_magnitude", "global_magnitude", "l1_structured")


def summarize_comparison(df):
    rows = []
    for (strategy, sparsity), group in df.groupby(["strategy", "sparsity"], sort=False):
        values = group["mean_return"].to_numpy(float)
        half = 1.96 * values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0
        rows.append({"strategy": strategy, "sparsity": sparsity, "n_seeds": len(values),
                     "iqm": prunerl.stats.iqm(values), "ci_low": values.mean() - half, "ci_high": values.mean() + half,
                     "band": prunerl.stats.EPISODE_NOISE if strategy in DETERMINISTIC else "seeds"})
    return pd.DataFrame(rows)
