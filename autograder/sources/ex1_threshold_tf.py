# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false}
# # Exercise 1 (TensorFlow / Keras 3): magnitude pruning with a threshold
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
# Check your work before you submit with `prunerl check exercises/ex1_threshold_tf.ipynb`.

# %% nbgrader={"grade": false, "grade_id": "colab_install", "locked": true, "schema_version": 3, "solution": false}
# On Colab only: install the course (agents, helpers, both frameworks); elsewhere this cell does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "prunerl @ git+https://github.com/prunerl/prunerl"], check=True)


# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
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
# - `model`: a Keras 3 model (e.g. a zoo agent). The *prunable* tensors are the `kernel` of every
#   `keras.layers.Dense` and `keras.layers.Conv2D` layer — the same tensors `prunerl.metrics.prunable_weights(model)`
#   returns, named `"<layer name>/kernel"` (`"dense_0/kernel"`, ...). **Biases are never pruned.**
# - Every entry with `|w| <= threshold` is set to exactly `0.0`, **in place** (assign to the layer's `kernel` variable);
#   every entry with `|w| > threshold` keeps its exact value.
# - Returns `{parameter name: mask}` for every prunable tensor, where `mask` is a NumPy boolean array of the
#   weight's shape, `True` = kept (`|w| > threshold`).
# - Implement it yourself (Keras/NumPy); the course's reference `prunerl.pruning` is off limits here.
#
# *Why not biases?* A bias is one number per unit: pruning it saves almost nothing, and it shifts the unit's
# pre-activation for every input (a ReLU unit whose bias is zeroed may switch on or off for every state). It is
# also a classic Keras bug: `layer.get_weights()` returns `[kernel, bias]`, so code that thresholds every array of
# it and calls `layer.set_weights(...)` prunes the biases too, silently. Work on `layer.kernel` only.

# %% nbgrader={"grade": false, "grade_id": "threshold_prune", "locked": false, "schema_version": 3, "solution": true}
def threshold_prune(model, threshold):
    """Zero, in place, every prunable weight with |w| <= threshold; return {name: boolean keep-mask}."""
    ### BEGIN SOLUTION
    masks = {}
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
            kernel = np.asarray(layer.kernel)
            keep = np.abs(kernel) > threshold
            layer.kernel.assign(np.where(keep, kernel, 0).astype(kernel.dtype))
            masks[f"{layer.name}/kernel"] = keep
    return masks
    ### END SOLUTION


# %% [markdown] nbgrader={"grade": false, "grade_id": "try_threshold", "locked": true, "schema_version": 3, "solution": false}
# Try it on a copy of the agent (never prune the original you want to compare with):

# %%
pruned = fresh(agent)
masks = threshold_prune(pruned, 0.05)
print({name: f"{1 - m.mean():.1%} pruned" for name, m in masks.items()})
print("sparsity:", round(prunerl.metrics.sparsity(pruned), 3))
print(prunerl.evaluate(pruned, "CartPole-v1", episodes=3, seed=0))

# %% nbgrader={"grade": true, "grade_id": "test_threshold_keys", "locked": true, "points": 1, "schema_version": 3, "solution": false}
net = fresh(agent)
masks = threshold_prune(net, 0.05)
assert isinstance(masks, dict), f"threshold_prune returned {type(masks).__name__}, expected a dict"
assert sorted(masks) == ["dense_0/kernel", "dense_2/kernel", "dense_4/kernel"], f"mask names {sorted(masks)}, expected the three weights"
assert all(np.asarray(m).dtype == bool for m in masks.values()), "masks must be boolean arrays"
### BEGIN HIDDEN TESTS
checks.threshold_keys(threshold_prune)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_threshold_masks", "locked": true, "points": 2, "schema_version": 3, "solution": false}
net = fresh(agent)
w0 = net.get_layer("dense_0").kernel.numpy()
masks = threshold_prune(net, 0.1)
assert np.array_equal(np.asarray(masks["dense_0/kernel"]), np.abs(w0) > 0.1), "masks['dense_0/kernel'] is not |w| > 0.1"
### BEGIN HIDDEN TESTS
checks.threshold_masks(threshold_prune)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_threshold_zeroes", "locked": true, "points": 2, "schema_version": 3, "solution": false}
net = fresh(agent)
w2 = net.get_layer("dense_2").kernel.numpy()
threshold_prune(net, 0.1)
after = np.asarray(net.get_layer("dense_2").kernel)
assert np.all(after[np.abs(w2) <= 0.1] == 0), "weights with |w| <= threshold must be zero in the model itself"
assert np.array_equal(after[np.abs(w2) > 0.1], w2[np.abs(w2) > 0.1]), "surviving weights must keep their values"
### BEGIN HIDDEN TESTS
checks.threshold_zeroes(threshold_prune)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_threshold_ties", "locked": true, "points": 1, "schema_version": 3, "solution": false}
tiny = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, name="d")])
tiny.get_layer("d").kernel.assign(np.array([[0.5, -0.5], [0.25, 1.0]], np.float32))
masks = threshold_prune(tiny, 0.5)
assert masks["d/kernel"].tolist() == [[False, False], [False, True]], f"got {masks['d/kernel'].tolist()}"
### BEGIN HIDDEN TESTS
checks.threshold_ties(threshold_prune)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_threshold_biases", "locked": true, "points": 2, "schema_version": 3, "solution": false}
net = fresh(agent)
b0 = net.get_layer("dense_0").bias.numpy()
threshold_prune(net, 10.0)  # a huge threshold prunes every weight, and must still leave the biases alone
assert np.array_equal(np.asarray(net.get_layer("dense_0").bias), b0), "threshold_prune changed a bias"
### BEGIN HIDDEN TESTS
checks.threshold_biases(threshold_prune)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_threshold_conv", "locked": true, "points": 1, "schema_version": 3, "solution": false}
conv = keras.Sequential([keras.Input((3, 3, 3)), keras.layers.Conv2D(4, 2, name="c"), keras.layers.Flatten(),
                         keras.layers.Dense(2, name="d")])
masks = threshold_prune(conv, 0.1)
assert sorted(masks) == ["c/kernel", "d/kernel"], f"mask names {sorted(masks)}: conv kernels are pruned too"
assert masks["c/kernel"].shape == (2, 2, 3, 4)
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
# (The grader's oracle sorts all |w| pooled; in PyTorch it is `torch.nn.utils.prune.global_unstructured`.)

# %% nbgrader={"grade": false, "grade_id": "global_threshold", "locked": false, "schema_version": 3, "solution": true}
def global_threshold(model, sparsity):
    """The threshold t such that |w| <= t prunes round(sparsity * n) of all prunable weights pooled."""
    ### BEGIN SOLUTION
    magnitudes = np.concatenate([np.abs(np.asarray(layer.kernel)).ravel() for layer in model.layers
                                 if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D))])
    k = int(round(sparsity * magnitudes.size))
    if k == 0:
        return -1.0
    return float(np.sort(magnitudes)[k - 1])
    ### END SOLUTION


# %%
net = fresh(agent)
t = global_threshold(net, 0.8)
threshold_prune(net, t)
print(f"threshold {t:.4f} -> sparsity {prunerl.metrics.sparsity(net):.3f}", prunerl.metrics.layer_sparsity(net))

# %% nbgrader={"grade": true, "grade_id": "test_global_threshold", "locked": true, "points": 2, "schema_version": 3, "solution": false}
net = fresh(agent)
weights = np.concatenate([np.abs(w).ravel() for w in prunerl.metrics.prunable_weights(net).values()])
t = global_threshold(net, 0.5)
assert int((weights <= t).sum()) == round(0.5 * weights.size), "the threshold should prune half of all weights"
### BEGIN HIDDEN TESTS
checks.global_threshold(global_threshold)
### END HIDDEN TESTS
