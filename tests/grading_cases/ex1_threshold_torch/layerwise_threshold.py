# expect-fail: test_global_threshold
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% global_threshold
def global_threshold(model, sparsity):
    """Bug: averages per-layer thresholds instead of ranking all weights pooled."""
    per_layer = [torch.quantile(m.weight.detach().abs().flatten(), sparsity).item() for m in model.modules()
                 if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    return float(np.mean(per_layer)) if sparsity > 0 else -1.0
