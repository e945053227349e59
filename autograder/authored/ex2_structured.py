# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false}
# # Exercise 2 (PyTorch): structured pruning — removing neurons and filters  # [torch]
# # Exercise 2 (TensorFlow / Keras 3): structured pruning — removing neurons and filters  # [tf]
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
# Check your work before you submit with `prunerl check exercises/ex2_structured_torch.ipynb`.  # [torch]
# Check your work before you submit with `prunerl check exercises/ex2_structured_tf.ipynb`.  # [tf]

# %% nbgrader={"grade": false, "grade_id": "colab_install", "locked": true, "schema_version": 3, "solution": false}
# On Colab only: install the course without touching Colab's own torch, TensorFlow and NumPy; elsewhere this cell does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "prunerl @ git+https://github.com/prunerl/prunerl@v0.1.0", "minigrid>=3.0,<4", "box2d==2.3.10", "minatar>=1.0.15,<2"], check=True)


# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
import copy

import numpy as np
import torch  # [torch]
from torch import nn  # [torch]

import prunerl
from prunerl.course.grading import checks  # the grader's checks (keep this cell unchanged; run it before the others)

checks.setup("torch")  # [torch]
agent = prunerl.load_agent("cartpole-dqn")  # Linear(4, 256), ReLU, Linear(256, 256), ReLU, Linear(256, 2)  # [torch]
conv_agent = prunerl.load_agent("minigrid-ppo")  # Conv2d(3, 16, 2), ReLU, Conv2d(16, 32, 2), ReLU, Flatten, Linear(800, 64), ...  # [torch]
print(conv_agent)  # [torch]
checks.setup("tensorflow")  # [tf]
agent = prunerl.load_agent("cartpole-dqn", framework="tensorflow")  # dense_0 (4->256), dense_2 (256->256), dense_4  # [tf]
conv_agent = prunerl.load_agent("minigrid-ppo", framework="tensorflow")  # conv_0 (16 filters), conv_2 (32), to_chw_4 + flatten_4, dense_5 (64), dense_7  # [tf]

import keras  # noqa: E402  # [tf]
from prunerl.keras_nets import build_keras, keras_to_spec  # noqa: E402  # [tf]
# [tf]
conv_agent.summary()  # [tf]
# [tf]
# [tf]
def prunable_layers(model):  # [tf]
    return [layer for layer in model.layers if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D))]  # [tf]
# [tf]
# %% [markdown] track="torch" nbgrader={"grade": false, "grade_id": "contract", "locked": true, "schema_version": 3, "solution": false}
# ## The contract
#
# **Layer index.** `layer` counts the prunable layers (`nn.Linear` and `nn.Conv2d`) in order, from 0, ignoring
# activations and `Flatten`. For `cartpole-dqn`, layer 0 is `agent[0]`, layer 1 is `agent[2]`, layer 2 (the output)
# is `agent[4]`. For `minigrid-ppo`: layer 0 = first conv (16 filters), 1 = second conv (32 filters), 2 = the
# hidden dense layer (64 units), 3 = the output.
#
# **`neuron_scores(model, layer)`** returns a 1-D NumPy array with one score per unit of that layer (rows of a
# `Linear` weight, output filters of a `Conv2d`): the L1 norm of the unit's incoming weights,
# `sum(|W[unit, ...]|)`. Biases are not part of the score. The model is not changed.
#
# **`prune_neurons(model, layer, n)`** (`layer` is a hidden layer, not the output) returns a **new** torch
# network, leaving `model` unchanged, in which
#
# - the `n` units of `layer` with the lowest scores are removed (ties: the lower index goes first): their weight
#   rows / filters and their bias entries are gone, and the kept units stay in their original order, values unchanged;
# - the next prunable layer loses the matching **inputs**: the weight columns (dense) or input channels (conv)
#   that read the removed units;
# - when `layer` is a conv whose output is flattened into a dense layer, each removed filter `c` owned a block of
#   `H*W` flattened features: in these networks feature `c*H*W + h*W + w` comes from filter `c` at position (h, w);
# - so the new network's outputs equal the original network's outputs with those units' weights and biases zeroed.
# - the new network takes the same observations as the original (for the conv agent, HxWxC images: keep it a
#   `prunerl.nets.AgentNet`, which `copy.deepcopy` does, so it still permutes them to channels-first).
#
# Tip: `copy.deepcopy(model)` and then replace modules (`new[i] = nn.Linear(...)`), or build from a spec with
# `prunerl.nets.build_torch(spec, weights)` (see `prunerl.card("cartpole-dqn")["spec"]`).

# %% [markdown] track="tf" nbgrader={"grade": false, "grade_id": "contract", "locked": true, "schema_version": 3, "solution": false}
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
    module = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))][layer]  # [torch]
    w = module.weight.detach()  # [torch]
    return w.abs().reshape(w.shape[0], -1).sum(dim=1).numpy()  # [torch]
    kernel = prunable_layers(model)[layer].kernel.numpy()  # [tf]
    return np.abs(kernel).reshape(-1, kernel.shape[-1]).sum(axis=0)  # [tf]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_scores_mlp", "locked": true, "points": 2, "schema_version": 3, "solution": false}
scores = neuron_scores(agent, 1)
assert np.shape(scores) == (256,), f"shape {np.shape(scores)}, expected (256,)"
assert np.isclose(scores[0], agent[2].weight[0].abs().sum().item(), rtol=1e-5), f"scores[0] is {scores[0]}, expected the L1 norm of unit 0's incoming weights: {agent[2].weight[0].abs().sum().item()}"  # [torch]
assert np.isclose(scores[0], np.abs(agent.get_layer("dense_2").kernel.numpy()[:, 0]).sum(), rtol=1e-5), f"scores[0] is {scores[0]}, expected the L1 norm of unit 0's incoming weights: {np.abs(agent.get_layer('dense_2').kernel.numpy()[:, 0]).sum()}"  # [tf]
### BEGIN HIDDEN TESTS
checks.scores_mlp(neuron_scores)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_scores_conv", "locked": true, "points": 1, "schema_version": 3, "solution": false}
scores = neuron_scores(conv_agent, 0)
assert np.shape(scores) == (16,), f"shape {np.shape(scores)}, expected one score per filter: (16,)"
### BEGIN HIDDEN TESTS
checks.scores_conv(neuron_scores)
### END HIDDEN TESTS

# %% track="torch" nbgrader={"grade": false, "grade_id": "prune_neurons", "locked": false, "schema_version": 3, "solution": true}
def prune_neurons(model, layer, n):
    """A new network without the n lowest-scoring units of prunable layer `layer` (and their next-layer inputs)."""
    ### BEGIN SOLUTION
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
    elif isinstance(this, nn.Conv2d):  # conv -> flatten -> dense: filter c owns features c*H*W ... c*H*W + H*W - 1
        hw = nxt.in_features // this.out_channels
        columns = torch.as_tensor((keep[:, None] * hw + np.arange(hw)).ravel())
        after = nn.Linear(len(columns), nxt.out_features)
    else:
        columns = keep_t
        after = nn.Linear(len(keep), nxt.out_features)
    with torch.no_grad():
        small.weight.copy_(this.weight[keep_t])
        small.bias.copy_(this.bias[keep_t])
        after.weight.copy_(nxt.weight[:, columns])
        after.bias.copy_(nxt.bias)
    new = copy.deepcopy(model)
    new[i], new[j] = small, after
    return new.eval()
    ### END SOLUTION


# %% track="tf" nbgrader={"grade": false, "grade_id": "prune_neurons", "locked": false, "schema_version": 3, "solution": true}
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
print(prunerl.evaluate(small, "CartPole-v1", episodes=5, seed=0))  # [torch]
print(prunerl.evaluate(small, "CartPole-v1", episodes=2, seed=0))  # [tf]

# %% nbgrader={"grade": true, "grade_id": "test_prune_shapes", "locked": true, "points": 2, "schema_version": 3, "solution": false}
small = prune_neurons(agent, 0, 100)
assert small is not agent, "prune_neurons returned the model it was given, expected a new network"
shapes = [tuple(m.weight.shape) for m in small.modules() if isinstance(m, nn.Linear)]  # [torch]
assert shapes == [(156, 4), (256, 156), (2, 256)], f"weight shapes {shapes}, expected [(156, 4), (256, 156), (2, 256)]"  # [torch]
shapes = [tuple(layer.kernel.shape) for layer in prunable_layers(small)]  # [tf]
assert shapes == [(4, 156), (156, 256), (256, 2)], f"kernel shapes {shapes}, expected [(4, 156), (156, 256), (256, 2)]"  # [tf]
### BEGIN HIDDEN TESTS
checks.prune_shapes(prune_neurons)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_prune_which", "locked": true, "points": 2, "schema_version": 3, "solution": false}
scores = neuron_scores(agent, 0)
small = prune_neurons(agent, 0, 1)
weakest = int(np.argmin(scores))
rows = [m for m in small.modules() if isinstance(m, nn.Linear)][0].weight.detach().numpy()  # [torch]
assert not any(np.array_equal(r, agent[0].weight[weakest].detach().numpy()) for r in rows), f"unit {weakest} (the lowest score, {float(scores[weakest]):.4g}) is still there, expected it removed"  # [torch]
columns = prunable_layers(small)[0].kernel.numpy().T  # [tf]
weak = agent.get_layer("dense_0").kernel.numpy()[:, weakest]  # [tf]
assert not any(np.array_equal(c, weak) for c in columns), f"unit {weakest} (the lowest score, {float(scores[weakest]):.4g}) is still there, expected it removed"  # [tf]
### BEGIN HIDDEN TESTS
checks.prune_which(prune_neurons)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_prune_outputs", "locked": true, "points": 3, "schema_version": 3, "solution": false}
obs = torch.randn(16, 4)  # [torch]
obs = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)  # [tf]
small = prune_neurons(agent, 1, 128)
gone = np.argsort(neuron_scores(agent, 1), kind="stable")[:128]
zeroed = copy.deepcopy(agent)  # [torch]
with torch.no_grad():  # [torch]
    zeroed[2].weight[gone] = 0  # [torch]
    zeroed[2].bias[gone] = 0  # [torch]
    assert torch.allclose(small(obs), zeroed(obs), rtol=1e-5, atol=1e-5), f"outputs differ from the zeroed network's by up to {(small(obs) - zeroed(obs)).abs().max().item():.3g}, expected within 1e-5"  # [torch]
spec, weights = keras_to_spec(agent)  # [tf]
weights["2.weight"][gone] = 0  # [tf]
weights["2.bias"][gone] = 0  # [tf]
zeroed = build_keras(spec, weights)  # [tf]
assert np.allclose(small(obs), zeroed(obs), rtol=1e-5, atol=1e-5), f"outputs differ from the zeroed network's by up to {np.max(np.abs(np.asarray(small(obs)) - np.asarray(zeroed(obs)))):.3g}, expected within 1e-5"  # [tf]
### BEGIN HIDDEN TESTS
checks.prune_outputs(prune_neurons)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_prune_input_unchanged", "locked": true, "points": 1, "schema_version": 3, "solution": false}
before = {k: v.clone() for k, v in agent.state_dict().items()}  # [torch]
before = [w.copy() for w in agent.get_weights()]  # [tf]
prune_neurons(agent, 0, 10)
assert all(torch.equal(before[k], v) for k, v in agent.state_dict().items()), f"prune_neurons changed {sum(not torch.equal(before[k], v) for k, v in agent.state_dict().items())} tensors of its input model, expected 0"  # [torch]
assert all(np.array_equal(b, w) for b, w in zip(before, agent.get_weights())), f"prune_neurons changed {sum(not np.array_equal(b, w) for b, w in zip(before, agent.get_weights()))} arrays of its input model, expected 0"  # [tf]
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
shapes = [tuple(m.weight.shape) for m in small.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]  # [torch]
assert shapes[1] == (24, 16, 2, 2) and shapes[2] == (64, 600), f"weight shapes {shapes}, expected (24, 16, 2, 2) and (64, 600) second and third"  # [torch]
shapes = [tuple(layer.kernel.shape) for layer in prunable_layers(small)]  # [tf]
assert shapes[1] == (2, 2, 16, 24) and shapes[2] == (600, 64), f"kernel shapes {shapes}, expected (2, 2, 16, 24) and (600, 64) second and third"  # [tf]
### BEGIN HIDDEN TESTS
checks.prune_conv_shapes(prune_neurons)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_prune_conv_outputs", "locked": true, "points": 3, "schema_version": 3, "solution": false}
obs = np.random.default_rng(0).integers(0, 10, (8, 7, 7, 3)).astype(np.float32)
small = prune_neurons(conv_agent, 1, 8)
gone = np.argsort(neuron_scores(conv_agent, 1), kind="stable")[:8]
zeroed = copy.deepcopy(conv_agent)  # [torch]
with torch.no_grad():  # [torch]
    zeroed[2].weight[gone] = 0  # [torch]
    zeroed[2].bias[gone] = 0  # [torch]
    assert torch.allclose(small(obs), zeroed(obs), rtol=1e-5, atol=1e-5), f"outputs differ from the zeroed network's by up to {(small(obs) - zeroed(obs)).abs().max().item():.3g}, expected within 1e-5"  # [torch]
spec, weights = keras_to_spec(conv_agent)  # [tf]
weights["2.weight"][gone] = 0  # [tf]
weights["2.bias"][gone] = 0  # [tf]
zeroed = build_keras(spec, weights)  # [tf]
assert np.allclose(small(obs), zeroed(obs), rtol=1e-5, atol=1e-5), f"outputs differ from the zeroed network's by up to {np.max(np.abs(np.asarray(small(obs)) - np.asarray(zeroed(obs)))):.3g}, expected within 1e-5"  # [tf]
### BEGIN HIDDEN TESTS
checks.prune_conv_outputs(prune_neurons)
### END HIDDEN TESTS
