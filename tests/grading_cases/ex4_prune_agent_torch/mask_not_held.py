# expect-fail: test_finetune_masks
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% finetune_pruned
def finetune_pruned(agent, masks, env_id, steps, seed):
    """Bug: the masks are applied once before fine-tuning; Adam then revives the pruned weights."""
    with torch.no_grad():
        for name, param in agent.named_parameters():
            if name in masks:
                param.mul_(torch.as_tensor(np.asarray(masks[name])))
    prunerl.finetune(agent, env_id, steps, seed=seed)
    return agent
