# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false}
# # Exercise 2 (TensorFlow / Keras 3): structured pruning — removing neurons and filters
#
# Zeroing single weights (exercise 1) leaves every matrix as large as before: a dense kernel multiplies the zeros
# all the same, so the agent is no faster. **Structured pruning** removes whole units — a hidden neuron of an MLP,
# a filter of a convolution — so the matrices really shrink. Fewer FLOPs is not the same as faster, though: on a
# CPU, removing half the hidden neurons of a small MLP speeds up a large batch of observations far more than a
# single one, because an agent acting one state at a time is overhead-bound (the lessons and `bench/` measure it).
#
# Which units go? Li et al. (ICLR 2017) rank filters by the **L1 norm of their incoming weights** and drop the
# smallest. You will:
#
# 1. `neuron_scores(model, layer)` — the L1 score of every unit (or filter) of a layer;
# 2. `prune_neurons(model, layer, n)` — a NEW, smaller network without the `n` lowest-scoring units of that layer,
#    for dense layers and for the filters of the conv agent `minigrid-ppo` (where a conv feeds a dense layer
#    through `Flatten`, the hard part).
#
# Check your work before you submit with `prunerl check exercises/ex2_structured_tf.ipynb`.

# %% nbgrader={"grade": false, "grade_id": "colab_install", "locked": true, "schema_version": 3, "solution": false}
# On Colab only: install the course (agents, helpers, both frameworks); elsewhere this cell does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "prunerl @ git+https://github.com/prunerl/prunerl"], check=True)


# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
import copy

import numpy as np

import prunerl
from prunerl.course.grading import checks  # the grader's checks (keep this cell unchanged; run it before the others)

checks.setup("tensorflow")
agent = prunerl.load_agent("cartpole-dqn", framework="tensorflow")  # dense_0 (4->256), dense_2 (256->256), dense_4
conv_agent = prunerl.load_agent("minigrid-ppo", framework="tensorflow")  # conv_0 (16 filters), conv_2 (32), to_chw_4 + flatten_4, dense_5 (64), dense_7

import keras  # noqa: E402
from prunerl.keras_nets import build_keras, keras_to_spec  # noqa: E402

conv_agent.summary()


def prunable_layers(model):
    return [layer for layer in model.layers if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D))]

# %% [markdown] nbgrader={"grade": false, "grade_id": "contract", "locked": true, "schema_version": 3, "solution": false}
# ## The contract
#
# **Layer index.** `layer` counts the prunable layers (`Dense` and `Conv2D`) in order, from 0, ignoring
# activations, `Permute` and `Flatten`. For `cartpole-dqn`, layer 0 is `dense_0`, layer 1 is `dense_2`, layer 2 (the
# output) is `dense_4`. For `minigrid-ppo`: layer 0 = `conv_0` (16 filters), 1 = `conv_2` (32 filters), 2 = the
# hidden dense layer (64 units), 3 = the output.
#
# **`neuron_scores(model, layer)`** returns a 1-D NumPy array with one score per unit of that layer (columns of a
# `Dense` kernel `(in, out)`, output filters — the last axis — of a `Conv2D` kernel `(kh, kw, in, out)`): the L1
# norm of the unit's incoming weights, `sum(|kernel[..., unit]|)`. Biases are not part of the score. The model is
# not changed.
#
# **`prune_neurons(model, layer, n)`** (`layer` is a hidden layer, not the output) returns a **new** Keras
# model, leaving `model` unchanged, in which
#
# - the `n` units of `layer` with the lowest scores are removed (ties: the lower index goes first): their weight
#   rows / filters and their bias entries are gone, and the kept units stay in their original order, values unchanged;
# - the next prunable layer loses the matching **inputs**: the kernel rows (dense) or input channels (conv)
#   that read the removed units;
# - when `layer` is a conv whose output is flattened into a dense layer, each removed filter `c` owned a block of
#   `H*W` flattened features: the zoo's Keras models permute to channels-first before `Flatten` (layer `to_chw_*`),
#   so, as in PyTorch, feature `c*H*W + h*W + w` comes from filter `c` at position (h, w);
# - so the new network's outputs equal the original network's outputs with those units' weights and biases zeroed.
# - the new model takes the same observations as the original (HxWxC images for the conv agent;
#   `build_keras` keeps the channels-first `Permute` before `Flatten`).
#
# Tip: `spec, weights = keras_to_spec(model)` gives the architecture and the weights in PyTorch layout
# (`"{i}.weight"` is `(out, in[, kh, kw])`, `i` the position in `spec["layers"]`); edit both and
# `build_keras(spec, weights)` builds the new model (both from `prunerl.keras_nets`).

# %% nbgrader={"grade": false, "grade_id": "neuron_scores", "locked": false, "schema_version": 3, "solution": true}
def neuron_scores(model, layer):
    """L1 norm of each unit's (or filter's) incoming weights, for prunable layer number `layer`."""
    ### BEGIN SOLUTION
    kernel = prunable_layers(model)[layer].kernel.numpy()
    return np.abs(kernel).reshape(-1, kernel.shape[-1]).sum(axis=0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_scores_mlp", "locked": true, "points": 2, "schema_version": 3, "solution": false}
scores = neuron_scores(agent, 1)
assert np.shape(scores) == (256,), f"shape {np.shape(scores)}, expected (256,)"
assert np.isclose(scores[0], np.abs(agent.get_layer("dense_2").kernel.numpy()[:, 0]).sum(), rtol=1e-5)
### BEGIN HIDDEN TESTS
checks.scores_mlp(neuron_scores)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_scores_conv", "locked": true, "points": 1, "schema_version": 3, "solution": false}
scores = neuron_scores(conv_agent, 0)
assert np.shape(scores) == (16,), f"shape {np.shape(scores)}, expected one score per filter: (16,)"
### BEGIN HIDDEN TESTS
checks.scores_conv(neuron_scores)
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "prune_neurons", "locked": false, "schema_version": 3, "solution": true}
def prune_neurons(model, layer, n):
    """A new network without the n lowest-scoring units of prunable layer `layer` (and their next-layer inputs)."""
    ### BEGIN SOLUTION
    spec, weights = keras_to_spec(model)
    spec, weights = copy.deepcopy(spec), dict(weights)
    positions = [i for i, lay in enumerate(spec["layers"]) if lay["kind"] in ("linear", "conv")]
    i, j = positions[layer], positions[layer + 1]
    keep = np.sort(np.argsort(neuron_scores(model, layer), kind="stable")[n:])
    old = spec["layers"][i]["out"]
    weights[f"{i}.weight"], weights[f"{i}.bias"] = weights[f"{i}.weight"][keep], weights[f"{i}.bias"][keep]
    spec["layers"][i]["out"] = len(keep)
    if spec["layers"][i]["kind"] == "conv" and spec["layers"][j]["kind"] == "linear":
        hw = spec["layers"][j]["in"] // old  # filter c owns flattened features c*H*W ... c*H*W + H*W - 1
        columns = (keep[:, None] * hw + np.arange(hw)).ravel()
    else:
        columns = keep
    weights[f"{j}.weight"] = weights[f"{j}.weight"][:, columns]
    spec["layers"][j]["in"] = len(columns)
    return build_keras(spec, weights)
    ### END SOLUTION


# %% [markdown] nbgrader={"grade": false, "grade_id": "try_prune", "locked": true, "schema_version": 3, "solution": false}
# Remove half of the second hidden layer and see what it costs in FLOPs and in return:

# %%
small = prune_neurons(agent, 1, 128)
print(small)
print("FLOPs:", prunerl.metrics.flops(agent), "->", prunerl.metrics.flops(small))
print(prunerl.evaluate(small, "CartPole-v1", episodes=2, seed=0))

# %% nbgrader={"grade": true, "grade_id": "test_prune_shapes", "locked": true, "points": 2, "schema_version": 3, "solution": false}
small = prune_neurons(agent, 0, 100)
assert small is not agent, "prune_neurons must return a new network"
shapes = [tuple(layer.kernel.shape) for layer in prunable_layers(small)]
assert shapes == [(4, 156), (156, 256), (256, 2)], f"kernel shapes {shapes}"
### BEGIN HIDDEN TESTS
checks.prune_shapes(prune_neurons)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_prune_which", "locked": true, "points": 2, "schema_version": 3, "solution": false}
scores = neuron_scores(agent, 0)
small = prune_neurons(agent, 0, 1)
weakest = int(np.argmin(scores))
columns = prunable_layers(small)[0].kernel.numpy().T
weak = agent.get_layer("dense_0").kernel.numpy()[:, weakest]
assert not any(np.array_equal(c, weak) for c in columns), "the weakest unit is still there"
### BEGIN HIDDEN TESTS
checks.prune_which(prune_neurons)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_prune_outputs", "locked": true, "points": 3, "schema_version": 3, "solution": false}
obs = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
small = prune_neurons(agent, 1, 128)
gone = np.argsort(neuron_scores(agent, 1), kind="stable")[:128]
spec, weights = keras_to_spec(agent)
weights["2.weight"][gone] = 0
weights["2.bias"][gone] = 0
zeroed = build_keras(spec, weights)
assert np.allclose(small(obs), zeroed(obs), rtol=1e-5, atol=1e-5), "outputs differ from the zeroed network"
### BEGIN HIDDEN TESTS
checks.prune_outputs(prune_neurons)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_prune_input_unchanged", "locked": true, "points": 1, "schema_version": 3, "solution": false}
before = [w.copy() for w in agent.get_weights()]
prune_neurons(agent, 0, 10)
assert all(np.array_equal(b, w) for b, w in zip(before, agent.get_weights())), "prune_neurons changed its input model"
### BEGIN HIDDEN TESTS
checks.prune_input_unchanged(prune_neurons)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "conv_md", "locked": true, "schema_version": 3, "solution": false}
# ## Filters of the conv agent
#
# `minigrid-ppo` sees a 7x7x3 image: conv 2x2 (16 filters) -> 6x6, conv 2x2 (32 filters) -> 5x5, flatten (32*5*5 =
# 800 features), dense 64, dense 7. Removing a filter of the first conv removes an *input channel* of the second;
# removing a filter of the second conv removes 25 *columns* of the dense layer — which 25 is the classic bug
# (Torch-Pruning issues #146, #481 are about exactly this dependency).

# %% nbgrader={"grade": true, "grade_id": "test_prune_conv_shapes", "locked": true, "points": 1, "schema_version": 3, "solution": false}
small = prune_neurons(conv_agent, 1, 8)
shapes = [tuple(layer.kernel.shape) for layer in prunable_layers(small)]
assert shapes[1] == (2, 2, 16, 24) and shapes[2] == (600, 64), f"kernel shapes {shapes}"
### BEGIN HIDDEN TESTS
checks.prune_conv_shapes(prune_neurons)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_prune_conv_outputs", "locked": true, "points": 3, "schema_version": 3, "solution": false}
obs = np.random.default_rng(0).integers(0, 10, (8, 7, 7, 3)).astype(np.float32)
small = prune_neurons(conv_agent, 1, 8)
gone = np.argsort(neuron_scores(conv_agent, 1), kind="stable")[:8]
spec, weights = keras_to_spec(conv_agent)
weights["2.weight"][gone] = 0
weights["2.bias"][gone] = 0
zeroed = build_keras(spec, weights)
assert np.allclose(small(obs), zeroed(obs), rtol=1e-5, atol=1e-5), "outputs differ from the zeroed network"
### BEGIN HIDDEN TESTS
checks.prune_conv_outputs(prune_neurons)
### END HIDDEN TESTS
