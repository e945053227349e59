# expect-fail: test_threshold_keys, test_threshold_masks, test_threshold_zeroes, test_threshold_ties, test_threshold_biases, test_threshold_conv, test_global_threshold
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% threshold_prune
from prunerl.pruning import apply_masks


def threshold_prune(model, threshold):
    """Cheat: uses the course's reference apply_masks instead of implementing the pruning."""
    weights = prunerl.metrics.prunable_weights(model)
    masks = {name: np.abs(w) > threshold for name, w in weights.items()}
    apply_masks(model, masks)
    return masks
# %% global_threshold
def global_threshold(model, sparsity):
    """Cheat: derives the threshold from the reference magnitude_masks."""
    weights = prunerl.metrics.prunable_weights(model)
    masks = prunerl.pruning.magnitude_masks(weights, sparsity)
    pruned = [np.abs(w[~masks[n]]) for n, w in weights.items()]
    flat = np.concatenate(pruned)
    return float(flat.max()) if flat.size else -1.0
