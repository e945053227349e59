# expect: full
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% polynomial_sparsity
def polynomial_sparsity(step, initial, final, begin_step, end_step, power=3):
    """Correct, written as TFMOT's PolynomialDecay does it."""
    p = (step - begin_step) / (end_step - begin_step)
    p = 0.0 if p < 0 else (1.0 if p > 1 else p)
    return (initial - final) * (1 - p) ** power + final
# %% prune
def prune(agent, strategy, sparsity, seed=0):
    """Correct, one loop per strategy, kernels edited with keras.ops."""
    layers = [lay for lay in agent.layers if isinstance(lay, (keras.layers.Dense, keras.layers.Conv2D))]
    kernels = {f"{lay.name}/kernel": keras.ops.convert_to_numpy(lay.kernel) for lay in layers}
    masks = {}
    if strategy == "global_magnitude":
        pooled = np.concatenate([np.abs(k).reshape(-1) for k in kernels.values()])
        order = np.argsort(pooled, kind="stable")
        drop = np.zeros(pooled.size, bool)
        drop[order[:round(sparsity * pooled.size)]] = True
        start = 0
        for name, k in kernels.items():
            masks[name] = ~drop[start:start + k.size].reshape(k.shape)
            start += k.size
    else:
        rng = np.random.default_rng(seed)
        for i, (name, k) in enumerate(kernels.items()):
            if strategy == "random":
                scores = rng.random(k.size)
            elif strategy == "layerwise_magnitude":
                scores = np.abs(k).reshape(-1)
            elif strategy == "l1_structured":
                if i == len(kernels) - 1:
                    masks[name] = np.ones(k.shape, bool)
                    continue
                unit_scores = np.abs(k).reshape(-1, k.shape[-1]).sum(0)
                gone = np.argsort(unit_scores, kind="stable")[:round(sparsity * k.shape[-1])]
                mask = np.ones(k.shape, bool)
                mask[..., gone] = False
                masks[name] = mask
                continue
            else:
                raise ValueError(strategy)
            drop = np.zeros(k.size, bool)
            drop[np.argsort(scores, kind="stable")[:round(sparsity * k.size)]] = True
            masks[name] = ~drop.reshape(k.shape)
    for lay in layers:
        m = masks[f"{lay.name}/kernel"]
        lay.kernel.assign(keras.ops.where(m, lay.kernel, 0.0))
    return masks
