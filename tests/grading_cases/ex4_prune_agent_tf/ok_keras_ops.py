# expect: full
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% global_magnitude_prune
def global_magnitude_prune(model, sparsity):
    """Correct, with keras.ops: one threshold from the pooled sorted magnitudes, ties broken by position."""
    layers = [lay for lay in model.layers if isinstance(lay, (keras.layers.Dense, keras.layers.Conv2D))]
    flat = keras.ops.concatenate([keras.ops.reshape(keras.ops.abs(lay.kernel), (-1,)) for lay in layers])
    n = int(flat.shape[0])
    k = int(round(sparsity * n))
    flat_np = keras.ops.convert_to_numpy(flat)
    order = np.lexsort((np.arange(n), flat_np))  # stable by value, then position
    keep = np.ones(n, bool)
    keep[order[:k]] = False
    masks, start = {}, 0
    for lay in layers:
        size = int(np.prod(lay.kernel.shape))
        mask = keep[start:start + size].reshape(lay.kernel.shape)
        lay.kernel.assign(keras.ops.where(mask, lay.kernel, keras.ops.zeros_like(lay.kernel)))
        masks[lay.name + "/kernel"] = mask
        start += size
    return masks
# %% finetune_pruned
def finetune_pruned(agent, masks, env_id, steps, seed):
    """Correct, the callback rebuilds each kernel with keras.ops.where."""
    def hold(model, step):
        for name, mask in masks.items():
            kernel = model.get_layer(name.split("/")[0]).kernel
            kernel.assign(keras.ops.where(mask, kernel, keras.ops.zeros_like(kernel)))

    prunerl.finetune(agent, env_id, steps, seed=seed, callback=hold)
    return agent
