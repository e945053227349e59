# expect-fail: test_prune_conv_outputs
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% prune_neurons
def prune_neurons(model, layer, n):
    """Bug: maps filter c to flattened features as if channels-last (h*W*C + w*C + c), not c*H*W + h*W + w."""
    spec, weights = keras_to_spec(model)
    spec, weights = copy.deepcopy(spec), dict(weights)
    positions = [i for i, lay in enumerate(spec["layers"]) if lay["kind"] in ("linear", "conv")]
    i, j = positions[layer], positions[layer + 1]
    keep = np.sort(np.argsort(neuron_scores(model, layer), kind="stable")[n:])
    old = spec["layers"][i]["out"]
    weights[f"{i}.weight"], weights[f"{i}.bias"] = weights[f"{i}.weight"][keep], weights[f"{i}.bias"][keep]
    spec["layers"][i]["out"] = len(keep)
    if spec["layers"][i]["kind"] == "conv" and spec["layers"][j]["kind"] == "linear":
        hw = spec["layers"][j]["in"] // old
        columns = (np.arange(hw)[:, None] * old + keep[None, :]).ravel()  # the bug
    else:
        columns = keep
    weights[f"{j}.weight"] = weights[f"{j}.weight"][:, columns]
    spec["layers"][j]["in"] = len(columns)
    return build_keras(spec, weights)
