# expect-fail: test_threshold_ties
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% threshold_prune
def threshold_prune(model, threshold):
    """Bug: keeps |w| >= threshold, so weights exactly at the threshold survive."""
    masks = {}
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)):
                keep = module.weight.abs() >= threshold
                module.weight.mul_(keep)
                masks[f"{name}.weight"] = keep.numpy().copy()
    return masks
