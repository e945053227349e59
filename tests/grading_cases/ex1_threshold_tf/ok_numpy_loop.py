# expect: full
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% threshold_prune
def threshold_prune(model, threshold):
    """Correct, pure NumPy through get_weights/set_weights, leaving the bias array alone."""
    masks = {}
    for layer in model.layers:
        if not isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
            continue
        kernel, bias = layer.get_weights()
        keep = np.zeros(kernel.shape, dtype=bool)
        flat_k, flat_keep = kernel.reshape(-1), keep.reshape(-1)
        for i in range(flat_k.size):
            if abs(flat_k[i]) > threshold:
                flat_keep[i] = True
            else:
                flat_k[i] = 0.0
        layer.set_weights([kernel, bias])
        masks[layer.name + "/kernel"] = keep
    return masks
# %% global_threshold
def global_threshold(model, sparsity):
    """Correct, with np.partition (no full sort)."""
    flat = np.concatenate([np.abs(w).ravel() for w in prunerl.metrics.prunable_weights(model).values()])
    k = round(sparsity * flat.size)
    return float(np.partition(flat, k - 1)[k - 1]) if k else -np.inf
