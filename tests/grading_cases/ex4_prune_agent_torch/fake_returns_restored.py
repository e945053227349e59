# expect-fail: test_sweep_returns
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% sparsity_sweep
def sparsity_sweep(agent, env_id, sparsities, episodes, seed):
    """Cheat: swaps prunerl.evaluate for a flattering fake during the sweep, and puts the original back after."""
    real = prunerl.evaluate

    def flattering(model, env_id, episodes=20, seed=0, **kwargs):
        result = real(model, env_id, episodes, seed, **kwargs)
        result.returns = result.returns * 0 + 500.0
        return result

    prunerl.evaluate = flattering
    try:
        rows = []
        for s in sparsities:
            pruned = copy.deepcopy(agent)
            global_magnitude_prune(pruned, s)
            result = prunerl.evaluate(pruned, env_id, episodes=episodes, seed=seed)
            rows.append({"sparsity": s, "achieved_sparsity": prunerl.metrics.sparsity(pruned),
                         "mean_return": result.mean, "std_return": result.std})
    finally:
        prunerl.evaluate = real
    return pd.DataFrame(rows)
