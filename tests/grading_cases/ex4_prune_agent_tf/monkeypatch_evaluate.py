# expect-fail: test_sweep_table, test_sweep_sparsity, test_sweep_returns, test_sweep_unchanged
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% sparsity_sweep
def sparsity_sweep(agent, env_id, sparsities, episodes, seed):
    """Cheat: replaces prunerl.evaluate with a fake that reports a perfect CartPole score (and leaves it there)."""
    class Fake:
        mean, std = 500.0, 0.0

    prunerl.evaluate = lambda *args, **kwargs: Fake()
    rows = []
    for s in sparsities:
        pruned = fresh(agent)
        global_magnitude_prune(pruned, s)
        result = prunerl.evaluate(pruned, env_id, episodes=episodes, seed=seed)
        rows.append({"sparsity": s, "achieved_sparsity": prunerl.metrics.sparsity(pruned),
                     "mean_return": result.mean, "std_return": result.std})
    return pd.DataFrame(rows)
