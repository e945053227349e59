# expect-fail: test_global_threshold
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% global_threshold
def global_threshold(model, sparsity):
    """Bug: the threshold of the largest layer alone, not of all layers pooled."""
    kernels = [np.abs(layer.kernel.numpy()).ravel() for layer in model.layers
               if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D))]
    biggest = max(kernels, key=len)
    k = int(round(sparsity * biggest.size))
    return float(np.sort(biggest)[k - 1]) if k else -1.0
