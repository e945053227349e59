# expect-fail: test_prune_outputs
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% prune_neurons
def prune_neurons(model, layer, n):
    """Bug: dense -> dense keeps the FIRST len(keep) input columns of the next layer, not the kept units' columns."""
    positions = [i for i, m in enumerate(model) if isinstance(m, (nn.Linear, nn.Conv2d))]
    i, j = positions[layer], positions[layer + 1]
    this, nxt = model[i], model[j]
    keep = np.sort(np.argsort(neuron_scores(model, layer), kind="stable")[n:])
    keep_t = torch.as_tensor(keep)
    if isinstance(this, nn.Conv2d):
        small = nn.Conv2d(this.in_channels, len(keep), this.kernel_size, this.stride)
    else:
        small = nn.Linear(this.in_features, len(keep))
    if isinstance(nxt, nn.Conv2d):
        columns = keep_t
        after = nn.Conv2d(len(keep), nxt.out_channels, nxt.kernel_size, nxt.stride)
    elif isinstance(this, nn.Conv2d):
        hw = nxt.in_features // this.out_channels
        columns = torch.as_tensor((keep[:, None] * hw + np.arange(hw)).ravel())
        after = nn.Linear(len(columns), nxt.out_features)
    else:
        columns = torch.arange(len(keep))  # the bug
        after = nn.Linear(len(keep), nxt.out_features)
    with torch.no_grad():
        small.weight.copy_(this.weight[keep_t])
        small.bias.copy_(this.bias[keep_t])
        after.weight.copy_(nxt.weight[:, columns])
        after.bias.copy_(nxt.bias)
    new = copy.deepcopy(model)
    new[i], new[j] = small, after
    return new
