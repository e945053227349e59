# expect: full
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% threshold_prune
from torch.nn.utils import prune as torch_prune


def threshold_prune(model, threshold):
    """Correct, written with torch.nn.utils.prune: a custom mask, then made permanent with prune.remove."""
    masks = {}
    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)):
            mask = module.weight.detach().abs() > threshold
            torch_prune.custom_from_mask(module, "weight", mask)
            torch_prune.remove(module, "weight")
            masks[name + ".weight"] = mask.numpy()
    return masks
# %% global_threshold
def global_threshold(model, sparsity):
    """Correct, with torch.kthvalue on the pooled magnitudes."""
    flat = torch.cat([p.detach().abs().reshape(-1) for n, p in model.named_parameters() if n.endswith("weight")])
    k = round(sparsity * flat.numel())
    return flat.kthvalue(k).values.item() if k > 0 else float("-inf")
