# expect-fail: test_threshold_biases
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% threshold_prune
def threshold_prune(model, threshold):
    """Bug: thresholds everything get_weights() returns, so the biases are pruned too."""
    masks = {}
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
            arrays = layer.get_weights()  # [kernel, bias]
            masks[f"{layer.name}/kernel"] = np.abs(arrays[0]) > threshold
            layer.set_weights([np.where(np.abs(a) > threshold, a, 0) for a in arrays])
    return masks
