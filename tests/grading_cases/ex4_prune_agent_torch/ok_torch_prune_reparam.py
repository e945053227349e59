# expect: full
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% global_magnitude_prune
from torch.nn.utils import prune as torch_prune


def global_magnitude_prune(model, sparsity):
    """Correct, with torch.nn.utils.prune.global_unstructured, made permanent with prune.remove."""
    modules = [m for m in model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    names = [n for n, m in model.named_modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    torch_prune.global_unstructured([(m, "weight") for m in modules], pruning_method=torch_prune.L1Unstructured,
                                    amount=sparsity)
    masks = {f"{n}.weight": m.weight_mask.detach().numpy().astype(bool) for n, m in zip(names, modules)}
    for m in modules:
        torch_prune.remove(m, "weight")
    return masks
# %% finetune_pruned
def finetune_pruned(agent, masks, env_id, steps, seed):
    """Correct: a gradient hook zeroes the pruned entries' gradients AND a callback re-zeroes the weights."""
    params = dict(agent.named_parameters())
    hooks = [params[n].register_hook(lambda g, m=torch.as_tensor(np.asarray(mask)): g * m) for n, mask in masks.items()]

    def reapply(model, step):
        with torch.no_grad():
            for n, mask in masks.items():
                params[n].masked_fill_(~torch.as_tensor(np.asarray(mask)), 0.0)

    try:
        prunerl.finetune(agent, env_id, steps, seed=seed, callback=reapply)
    finally:
        for h in hooks:
            h.remove()
    return agent
