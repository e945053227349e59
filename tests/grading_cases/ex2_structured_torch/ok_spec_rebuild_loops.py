# expect: full
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% neuron_scores
def neuron_scores(model, layer):
    """Correct, a plain loop over units."""
    module = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))][layer]
    w = module.weight.detach().numpy()
    return np.array([float(np.abs(w[u]).sum()) for u in range(w.shape[0])])
# %% prune_neurons
from prunerl.nets import build_torch
from prunerl.specs import conv_spec  # noqa: F401  (only to show the spec helpers exist)


def prune_neurons(model, layer, n):
    """Correct, rebuilding the network from an edited spec with prunerl.nets.build_torch."""
    layers, weights = [], {}
    for idx, m in enumerate(model):
        if isinstance(m, nn.Linear):
            layers.append({"kind": "linear", "in": m.in_features, "out": m.out_features})
        elif isinstance(m, nn.Conv2d):
            layers.append({"kind": "conv", "in": m.in_channels, "out": m.out_channels, "kernel": m.kernel_size[0],
                           "stride": m.stride[0]})
        elif isinstance(m, nn.Flatten):
            layers.append({"kind": "flatten"})
        else:
            layers.append({"kind": "relu" if isinstance(m, nn.ReLU) else "tanh"})
    weights = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    positions = [i for i, spec_layer in enumerate(layers) if spec_layer["kind"] in ("linear", "conv")]
    i, j = positions[layer], positions[layer + 1]
    scores = neuron_scores(model, layer)
    order = sorted(range(len(scores)), key=lambda u: (scores[u], u))
    keep = np.array(sorted(order[n:]))
    old = layers[i]["out"]
    weights[f"{i}.weight"], weights[f"{i}.bias"] = weights[f"{i}.weight"][keep], weights[f"{i}.bias"][keep]
    layers[i]["out"] = len(keep)
    if layers[i]["kind"] == "conv" and layers[j]["kind"] == "linear":
        hw = layers[j]["in"] // old
        cols = np.concatenate([np.arange(c * hw, (c + 1) * hw) for c in keep])
    else:
        cols = keep
    weights[f"{j}.weight"] = weights[f"{j}.weight"][:, cols]
    layers[j]["in"] = len(cols)
    return build_torch({"obs_shape": list(model.obs_shape), "layers": layers}, weights).eval()
