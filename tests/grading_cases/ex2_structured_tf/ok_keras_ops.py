# expect: full
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% neuron_scores
def neuron_scores(model, layer):
    """Correct, with keras.ops."""
    kernel = prunable_layers(model)[layer].kernel
    return keras.ops.convert_to_numpy(keras.ops.sum(keras.ops.abs(keras.ops.reshape(kernel, (-1, kernel.shape[-1]))),
                                                    axis=0))
# %% prune_neurons
def prune_neurons(model, layer, n):
    """Correct: clone the architecture as a spec, slice the Keras kernels with keras.ops.take."""
    spec, _ = keras_to_spec(model)
    spec = copy.deepcopy(spec)
    dense_like = prunable_layers(model)
    positions = [i for i, lay in enumerate(spec["layers"]) if lay["kind"] in ("linear", "conv")]
    keep = np.sort(np.argsort(neuron_scores(model, layer), kind="stable")[n:])
    this, nxt = dense_like[layer], dense_like[layer + 1]
    k_this = keras.ops.take(this.kernel, keep, axis=-1)
    b_this = keras.ops.take(this.bias, keep, axis=0)
    if len(this.kernel.shape) == 4 and len(nxt.kernel.shape) == 2:
        hw = nxt.kernel.shape[0] // this.kernel.shape[-1]
        rows = np.concatenate([c * hw + np.arange(hw) for c in keep])
    else:
        rows = keep
    k_next = keras.ops.take(nxt.kernel, rows, axis=-2)
    spec["layers"][positions[layer]]["out"] = len(keep)
    spec["layers"][positions[layer + 1]]["in"] = len(rows)
    new = build_keras(spec)
    for old_layer, new_layer in zip(dense_like, prunable_layers(new)):
        if old_layer is this:
            new_layer.set_weights([keras.ops.convert_to_numpy(k_this), keras.ops.convert_to_numpy(b_this)])
        elif old_layer is nxt:
            new_layer.set_weights([keras.ops.convert_to_numpy(k_next), nxt.bias.numpy()])
        else:
            new_layer.set_weights([w.numpy() for w in (old_layer.kernel, old_layer.bias)])
    return new
