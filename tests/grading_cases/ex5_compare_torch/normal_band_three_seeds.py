# expect-fail: test_summary
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# The old band, mean ± 1.96·std/√n around the mean: with a few seeds (three in the old check, five now) it is far
# too narrow and can leave the return range; the course's interval is the median's order statistics.
# %% summarize_comparison
DETERMINISTIC = ("layerwise_magnitude", "global_magnitude", "l1_structured")


def summarize_comparison(df, bar):
    rows = []
    for (strategy, sparsity, steps), group in df.groupby(["strategy", "sparsity", "train_steps"], sort=False):
        values = group["mean_return"].to_numpy(float)
        half = 1.96 * values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0
        rate = prunerl.stats.success_rate(values, bar)
        rows.append({"strategy": strategy, "sparsity": sparsity, "train_steps": steps,
                     "achieved_sparsity": group["achieved_sparsity"].mean(), "n_seeds": len(values),
                     "median": np.median(values), "ci_low": values.mean() - half, "ci_high": values.mean() + half,
                     "level": prunerl.stats.level(len(values)), "reached": rate["reached"],
                     "rate_low": rate["rate_low"], "rate_high": rate["rate_high"],
                     "form": "rate" if np.all(values == values[0]) else "median",
                     "band": prunerl.stats.EPISODE_NOISE if strategy in DETERMINISTIC else "seeds"})
    return pd.DataFrame(rows)
