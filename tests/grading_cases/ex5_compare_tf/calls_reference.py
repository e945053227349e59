# expect-fail: test_schedule, test_schedule_hold, test_prune_random, test_prune_layerwise, test_prune_global, test_prune_structured, test_compare_table, test_compare_gradual
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% polynomial_sparsity
from prunerl.pruning import polynomial_sparsity  # noqa: F401  (the course's reference: earns no points)
# %% prune
def prune(agent, strategy, sparsity, seed=0):
    """Cheat: the course's reference implementation."""
    return prunerl.pruning.prune(agent, strategy, sparsity, seed)
