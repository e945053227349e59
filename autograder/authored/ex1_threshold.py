# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false}
# # Exercise 1 (PyTorch): magnitude pruning with a threshold  # [torch]
# # Exercise 1 (TensorFlow / Keras 3): magnitude pruning with a threshold  # [tf]
#
# A trained DQN agent for CartPole (`cartpole-dqn`, an MLP 4-256-256-2) has about 67 000 weights. Many of them
# are tiny: the agent would act the same without them. **Magnitude pruning** sets the weights with the smallest
# |w| to zero. In deep RL this matters for two reasons: an agent often runs on a robot or in a game loop, where
# memory and energy are tight; and, as Graesser et al. (ICML 2022) found, 80–90 % of a DQN's weights can go with
# little loss of return — sparsity is cheap for RL agents, but only if it is done right.
#
# You will write two functions:
#
# 1. `threshold_prune(model, threshold)` — zero every weight with |w| <= threshold, in place;
# 2. `global_threshold(model, sparsity)` — find the threshold that prunes a given fraction of all weights.
#
# Run the first two code cells before anything else (the first installs the course on Colab only). The test cells below each exercise are graded; some checks are
# hidden and run on real zoo agents, so make your code follow the contract exactly, not just the visible tests.
# Check your work before you submit with `prunerl check exercises/ex1_threshold_torch.ipynb`.  # [torch]
# Check your work before you submit with `prunerl check exercises/ex1_threshold_tf.ipynb`.  # [tf]

# %% nbgrader={"grade": false, "grade_id": "colab_install", "locked": true, "schema_version": 3, "solution": false}
# On Colab only: install the course without touching Colab's own torch, TensorFlow and NumPy; elsewhere this cell does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "prunerl @ git+https://github.com/prunerl/prunerl@v0.1.0", "minigrid>=3.0,<4", "box2d==2.3.10", "minatar>=1.0.15,<2"], check=True)


# %% track="torch" nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
import copy

import numpy as np
import torch

import prunerl
from prunerl.course.grading import checks  # the grader's checks (keep this cell unchanged; run it before the others)

checks.setup("torch")
agent = prunerl.load_agent("cartpole-dqn")  # an nn.Sequential: Linear(4, 256), ReLU, Linear(256, 256), ReLU, Linear(256, 2)
print(agent)
print(prunerl.evaluate(agent, "CartPole-v1", episodes=5, seed=0))

# %% track="tf" nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
import numpy as np

import prunerl
from prunerl.course.grading import checks  # the grader's checks (keep this cell unchanged; run it before the others)

checks.setup("tensorflow")
import keras  # noqa: E402  (after prunerl, which quiets TensorFlow's start-up logging)

agent = prunerl.load_agent("cartpole-dqn", framework="tensorflow")  # Dense layers dense_0, dense_2, dense_4


def fresh(model):
    """A copy of a Keras model with the same weights (prune copies, never the original)."""
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    return twin


agent.summary()

# %% [markdown] nbgrader={"grade": false, "grade_id": "contract_threshold", "locked": true, "schema_version": 3, "solution": false}
# ## 1. `threshold_prune(model, threshold)`
#
# **Contract**
#
# - `model`: a torch module (e.g. a zoo agent). The *prunable* tensors are the `weight` of every `nn.Linear` and  # [torch]
#   `nn.Conv2d` layer — the same tensors `prunerl.metrics.prunable_weights(model)` returns, with the same names  # [torch]
#   (`"0.weight"`, `"2.weight"`, ...). **Biases are never pruned.**  # [torch]
# - Every entry with `|w| <= threshold` is set to exactly `0.0`, **in place** (in the model's own parameters);  # [torch]
# - `model`: a Keras 3 model (e.g. a zoo agent). The *prunable* tensors are the `kernel` of every  # [tf]
#   `keras.layers.Dense` and `keras.layers.Conv2D` layer — the same tensors `prunerl.metrics.prunable_weights(model)`  # [tf]
#   returns, named `"<layer name>/kernel"` (`"dense_0/kernel"`, ...). **Biases are never pruned.**  # [tf]
# - Every entry with `|w| <= threshold` is set to exactly `0.0`, **in place** (assign to the layer's `kernel` variable);  # [tf]
#   every entry with `|w| > threshold` keeps its exact value.
# - Returns `{parameter name: mask}` for every prunable tensor, where `mask` is a NumPy boolean array of the
#   weight's shape, `True` = kept (`|w| > threshold`).
# - Implement it yourself (torch/NumPy); the course's reference `prunerl.pruning` is off limits here.  # [torch]
# - Implement it yourself (Keras/NumPy); the course's reference `prunerl.pruning` is off limits here.  # [tf]
#
# *Why not biases?* A bias is one number per unit: pruning it saves almost nothing, and it shifts the unit's
# pre-activation for every input (a ReLU unit whose bias is zeroed may switch on or off for every state). It is
# also a classic bug: code that loops over `model.parameters()` (or Keras' `layer.get_weights()`, which returns  # [torch]
# `[kernel, bias]`) and thresholds every array prunes the biases too, silently.  # [torch]
# also a classic Keras bug: `layer.get_weights()` returns `[kernel, bias]`, so code that thresholds every array of  # [tf]
# it and calls `layer.set_weights(...)` prunes the biases too, silently. Work on `layer.kernel` only.  # [tf]

# %% nbgrader={"grade": false, "grade_id": "threshold_prune", "locked": false, "schema_version": 3, "solution": true}
def threshold_prune(model, threshold):
    """Zero, in place, every prunable weight with |w| <= threshold; return {name: boolean keep-mask}."""
    ### BEGIN SOLUTION
    masks = {}
    with torch.no_grad():  # [torch]
        for name, module in model.named_modules():  # [torch]
            if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)):  # [torch]
                keep = module.weight.abs() > threshold  # [torch]
                module.weight.mul_(keep)  # [torch]
                masks[f"{name}.weight" if name else "weight"] = keep.numpy().copy()  # [torch]
    for layer in model.layers:  # [tf]
        if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):  # [tf]
            kernel = np.asarray(layer.kernel)  # [tf]
            keep = np.abs(kernel) > threshold  # [tf]
            layer.kernel.assign(np.where(keep, kernel, 0).astype(kernel.dtype))  # [tf]
            masks[f"{layer.name}/kernel"] = keep  # [tf]
    return masks
    ### END SOLUTION


# %% [markdown] nbgrader={"grade": false, "grade_id": "try_threshold", "locked": true, "schema_version": 3, "solution": false}
# Try it on a copy of the agent (never prune the original you want to compare with):

# %%
pruned = copy.deepcopy(agent)  # [torch]
pruned = fresh(agent)  # [tf]
masks = threshold_prune(pruned, 0.05)
print({name: f"{1 - m.mean():.1%} pruned" for name, m in masks.items()})
print("sparsity:", round(prunerl.metrics.sparsity(pruned), 3))
print(prunerl.evaluate(pruned, "CartPole-v1", episodes=5, seed=0))  # [torch]
print(prunerl.evaluate(pruned, "CartPole-v1", episodes=3, seed=0))  # [tf]

# %% nbgrader={"grade": true, "grade_id": "test_threshold_keys", "locked": true, "points": 1, "schema_version": 3, "solution": false}
net = copy.deepcopy(agent)  # [torch]
net = fresh(agent)  # [tf]
masks = threshold_prune(net, 0.05)
assert isinstance(masks, dict), f"threshold_prune returned {type(masks).__name__}, expected a dict"
assert sorted(masks) == ["0.weight", "2.weight", "4.weight"], f"mask names {sorted(masks)}, expected the three weights"  # [torch]
assert sorted(masks) == ["dense_0/kernel", "dense_2/kernel", "dense_4/kernel"], f"mask names {sorted(masks)}, expected the three weights"  # [tf]
assert all(np.asarray(m).dtype == bool for m in masks.values()), f"mask dtypes {sorted({str(np.asarray(m).dtype) for m in masks.values()})}, expected bool"
### BEGIN HIDDEN TESTS
checks.threshold_keys(threshold_prune)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_threshold_masks", "locked": true, "points": 2, "schema_version": 3, "solution": false}
net = copy.deepcopy(agent)  # [torch]
w0 = net[0].weight.detach().numpy().copy()  # [torch]
net = fresh(agent)  # [tf]
w0 = net.get_layer("dense_0").kernel.numpy()  # [tf]
masks = threshold_prune(net, 0.1)
assert np.array_equal(np.asarray(masks["0.weight"]), np.abs(w0) > 0.1), f"masks['0.weight'] keeps {int(np.asarray(masks['0.weight']).sum())} of {np.asarray(masks['0.weight']).size} entries, expected |w| > 0.1: {int((np.abs(w0) > 0.1).sum())} of {w0.size}"  # [torch]
assert np.array_equal(np.asarray(masks["dense_0/kernel"]), np.abs(w0) > 0.1), f"masks['dense_0/kernel'] keeps {int(np.asarray(masks['dense_0/kernel']).sum())} of {np.asarray(masks['dense_0/kernel']).size} entries, expected |w| > 0.1: {int((np.abs(w0) > 0.1).sum())} of {w0.size}"  # [tf]
### BEGIN HIDDEN TESTS
checks.threshold_masks(threshold_prune)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_threshold_zeroes", "locked": true, "points": 2, "schema_version": 3, "solution": false}
net = copy.deepcopy(agent)  # [torch]
w2 = net[2].weight.detach().numpy().copy()  # [torch]
net = fresh(agent)  # [tf]
w2 = net.get_layer("dense_2").kernel.numpy()  # [tf]
threshold_prune(net, 0.1)
after = net[2].weight.detach().numpy()  # [torch]
after = np.asarray(net.get_layer("dense_2").kernel)  # [tf]
assert np.all(after[np.abs(w2) <= 0.1] == 0), f"{np.count_nonzero(after[np.abs(w2) <= 0.1])} weights with |w| <= 0.1 are not zero in the model itself, expected 0"
assert np.array_equal(after[np.abs(w2) > 0.1], w2[np.abs(w2) > 0.1]), f"{np.count_nonzero(after[np.abs(w2) > 0.1] != w2[np.abs(w2) > 0.1])} surviving weights changed value, expected 0"
### BEGIN HIDDEN TESTS
checks.threshold_zeroes(threshold_prune)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_threshold_ties", "locked": true, "points": 1, "schema_version": 3, "solution": false}
tiny = torch.nn.Sequential(torch.nn.Linear(2, 2))  # [torch]
with torch.no_grad():  # [torch]
    tiny[0].weight.copy_(torch.tensor([[0.5, -0.5], [0.25, 1.0]]))  # [torch]
tiny = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, name="d")])  # [tf]
tiny.get_layer("d").kernel.assign(np.array([[0.5, -0.5], [0.25, 1.0]], np.float32))  # [tf]
masks = threshold_prune(tiny, 0.5)
assert masks["0.weight"].tolist() == [[False, False], [False, True]], f"got {masks['0.weight'].tolist()}"  # [torch]
assert masks["d/kernel"].tolist() == [[False, False], [False, True]], f"got {masks['d/kernel'].tolist()}"  # [tf]
### BEGIN HIDDEN TESTS
checks.threshold_ties(threshold_prune)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_threshold_biases", "locked": true, "points": 2, "schema_version": 3, "solution": false}
net = copy.deepcopy(agent)  # [torch]
b0 = net[0].bias.detach().numpy().copy()  # [torch]
net = fresh(agent)  # [tf]
b0 = net.get_layer("dense_0").bias.numpy()  # [tf]
threshold_prune(net, 10.0)  # a huge threshold prunes every weight, and must still leave the biases alone
assert np.array_equal(net[0].bias.detach().numpy(), b0), f"threshold_prune changed {np.count_nonzero(net[0].bias.detach().numpy() != b0)} bias entries, expected 0"  # [torch]
assert np.array_equal(np.asarray(net.get_layer("dense_0").bias), b0), f"threshold_prune changed {np.count_nonzero(np.asarray(net.get_layer('dense_0').bias) != b0)} bias entries, expected 0"  # [tf]
### BEGIN HIDDEN TESTS
checks.threshold_biases(threshold_prune)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_threshold_conv", "locked": true, "points": 1, "schema_version": 3, "solution": false}
conv = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 2), torch.nn.Flatten(), torch.nn.Linear(4, 2))  # [torch]
conv = keras.Sequential([keras.Input((3, 3, 3)), keras.layers.Conv2D(4, 2, name="c"), keras.layers.Flatten(),  # [tf]
                         keras.layers.Dense(2, name="d")])  # [tf]
masks = threshold_prune(conv, 0.1)
assert sorted(masks) == ["0.weight", "2.weight"], f"mask names {sorted(masks)}, expected ['0.weight', '2.weight']: conv kernels are pruned too"  # [torch]
assert masks["0.weight"].shape == (4, 3, 2, 2), f"conv mask shape {masks['0.weight'].shape}, expected (4, 3, 2, 2)"  # [torch]
assert sorted(masks) == ["c/kernel", "d/kernel"], f"mask names {sorted(masks)}, expected ['c/kernel', 'd/kernel']: conv kernels are pruned too"  # [tf]
assert masks["c/kernel"].shape == (2, 2, 3, 4), f"conv mask shape {masks['c/kernel'].shape}, expected (2, 2, 3, 4)"  # [tf]
### BEGIN HIDDEN TESTS
checks.threshold_conv(threshold_prune)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "contract_global", "locked": true, "schema_version": 3, "solution": false}
# ## 2. `global_threshold(model, sparsity)`
#
# One threshold for the whole network ("global" magnitude pruning, Han et al. 2015) prunes layers unevenly: a
# layer full of small weights loses more than one of large weights. The alternative, the same fraction in every
# layer ("layer-wise"), is what you will compare in exercise 5.
#
# **Contract**
#
# - Returns a float `t` such that pruning `|w| <= t` over **all prunable weights pooled together** prunes exactly
#   `k = round(sparsity * n)` of the `n` entries (assume no ties at the cut): the `k`-th smallest `|w|`, and for
#   `k == 0` any value below every `|w|` (e.g. `-1.0`).
# - The model is not changed.
#
# (The oracle the grader compares with is `torch.nn.utils.prune.global_unstructured` with `L1Unstructured`.)  # [torch]
# (The grader's oracle sorts all |w| pooled; in PyTorch it is `torch.nn.utils.prune.global_unstructured`.)  # [tf]

# %% nbgrader={"grade": false, "grade_id": "global_threshold", "locked": false, "schema_version": 3, "solution": true}
def global_threshold(model, sparsity):
    """The threshold t such that |w| <= t prunes round(sparsity * n) of all prunable weights pooled."""
    ### BEGIN SOLUTION
    magnitudes = torch.cat([m.weight.detach().abs().flatten() for m in model.modules()  # [torch]
                            if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))])  # [torch]
    k = int(round(sparsity * magnitudes.numel()))  # [torch]
    magnitudes = np.concatenate([np.abs(np.asarray(layer.kernel)).ravel() for layer in model.layers  # [tf]
                                 if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D))])  # [tf]
    k = int(round(sparsity * magnitudes.size))  # [tf]
    if k == 0:
        return -1.0
    return float(torch.sort(magnitudes).values[k - 1])  # [torch]
    return float(np.sort(magnitudes)[k - 1])  # [tf]
    ### END SOLUTION


# %%
net = copy.deepcopy(agent)  # [torch]
net = fresh(agent)  # [tf]
t = global_threshold(net, 0.8)
threshold_prune(net, t)
print(f"threshold {t:.4f} -> sparsity {prunerl.metrics.sparsity(net):.3f}", prunerl.metrics.layer_sparsity(net))

# %% nbgrader={"grade": true, "grade_id": "test_global_threshold", "locked": true, "points": 2, "schema_version": 3, "solution": false}
net = copy.deepcopy(agent)  # [torch]
net = fresh(agent)  # [tf]
weights = np.concatenate([np.abs(w).ravel() for w in prunerl.metrics.prunable_weights(net).values()])
t = global_threshold(net, 0.5)
assert int((weights <= t).sum()) == round(0.5 * weights.size), f"threshold {t} prunes {int((weights <= t).sum())} of {weights.size} weights, expected half: {round(0.5 * weights.size)}"
### BEGIN HIDDEN TESTS
checks.global_threshold(global_threshold)
### END HIDDEN TESTS
