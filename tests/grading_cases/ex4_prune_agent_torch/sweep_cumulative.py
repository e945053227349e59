# expect-fail: test_sweep_sparsity
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% sparsity_sweep
def sparsity_sweep(agent, env_id, sparsities, episodes, seed):
    """Bug: prunes ONE copy further and further, so each row inherits the zeros of the rows before it."""
    pruned = copy.deepcopy(agent)
    rows = []
    for s in sparsities:
        global_magnitude_prune(pruned, s)
        result = prunerl.evaluate(pruned, env_id, episodes=episodes, seed=seed)
        rows.append({"sparsity": s, "achieved_sparsity": prunerl.metrics.sparsity(pruned),
                     "mean_return": result.mean, "std_return": result.std})
    return pd.DataFrame(rows)
