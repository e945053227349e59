# expect-fail: test_prune_global
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% prune
def prune(agent, strategy, sparsity, seed=0):
    """Bug: "global_magnitude" ranks each layer on its own (that is layerwise_magnitude)."""
    names = list(prunerl.metrics.prunable_weights(agent))
    params = dict(agent.named_parameters())
    weights = {n: params[n].detach().numpy() for n in names}

    def keep_top(scores, k):
        keep = np.ones(scores.size, bool)
        keep[np.argsort(scores, kind="stable")[:k]] = False
        return keep

    if strategy == "random":
        rng = np.random.default_rng(seed)
        masks = {n: keep_top(rng.random(w.size), round(sparsity * w.size)).reshape(w.shape) for n, w in weights.items()}
    elif strategy in ("layerwise_magnitude", "global_magnitude"):
        masks = {n: keep_top(np.abs(w).ravel(), round(sparsity * w.size)).reshape(w.shape) for n, w in weights.items()}
    elif strategy == "l1_structured":
        masks = {}
        for i, (n, w) in enumerate(weights.items()):
            if i == len(weights) - 1:
                masks[n] = np.ones(w.shape, bool)
            else:
                units = keep_top(np.abs(w).reshape(w.shape[0], -1).sum(1), round(sparsity * w.shape[0]))
                masks[n] = np.repeat(units[:, None], w[0].size, axis=1).reshape(w.shape)
    else:
        raise ValueError(strategy)
    with torch.no_grad():
        for n, m in masks.items():
            params[n].mul_(torch.as_tensor(m))
    return masks
