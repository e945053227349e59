# expect-fail: test_prune_shapes, test_prune_conv_shapes
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% prune_neurons
def prune_neurons(model, layer, n):
    """Bug: zeroes the weakest units in a copy instead of removing them (nothing gets smaller)."""
    new = copy.deepcopy(model)
    module = [m for m in new.modules() if isinstance(m, (nn.Linear, nn.Conv2d))][layer]
    gone = torch.as_tensor(np.argsort(neuron_scores(model, layer), kind="stable")[:n])
    with torch.no_grad():
        module.weight[gone] = 0
        module.bias[gone] = 0
    return new
