# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false}
# # Exercise 4 (PyTorch): how much can an agent lose, and can fine-tuning win it back?  # [torch]
# # Exercise 4 (TensorFlow / Keras 3): how much can an agent lose, and can fine-tuning win it back?  # [tf]
#
# A classifier's accuracy is measured on a fixed test set. An RL agent's quality is a **return**, measured by
# playing episodes — and a pruned agent's mistakes compound: one wrong action changes every state after it. So the
# honest way to know what pruning costs is a **sweep**: prune copies of the agent to several sparsities and
# evaluate each on the *same* seeded episodes (`prunerl.evaluate(model, env_id, episodes, seed)` plays episode `i`
# from reset seed `seed + i`, so every copy faces exactly the same starts).
#
# Then **fine-tuning**: a few thousand more environment steps of training let the surviving weights compensate
# (Han et al. 2015's train–prune–retrain). The trap: the optimizer does not know about your masks. The gradient of
# a zeroed weight is generally non-zero, and Adam's running moments keep pushing weights that had momentum, so
# pruned weights come back to life after the first step. The mask must be re-applied after **every** optimizer step.
#
# You will write `sparsity_sweep` and `finetune_pruned`. Check your work before you submit with
# `prunerl check exercises/ex4_prune_agent_torch.ipynb`.  # [torch]
# `prunerl check exercises/ex4_prune_agent_tf.ipynb`.  # [tf]

# %% nbgrader={"grade": false, "grade_id": "colab_install", "locked": true, "schema_version": 3, "solution": false}
# On Colab only: install the course without touching Colab's own torch, TensorFlow and NumPy; elsewhere this cell does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "prunerl @ git+https://github.com/prunerl/prunerl@v0.1.0", "minigrid>=3.0,<4", "box2d==2.3.10", "minatar>=1.0.15,<2"], check=True)


# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
import copy  # [torch]
# [torch]
import numpy as np
import pandas as pd
import torch  # [torch]

import prunerl
import prunerl.train  # noqa: F401  (prunerl.finetune)  # [torch]
import prunerl.train  # noqa: F401  (prunerl.finetune; it trains Keras models through a PyTorch twin)  # [tf]
from prunerl.course.grading import checks  # the grader's checks (keep this cell unchanged; run it before the others)

checks.setup("torch")  # [torch]
agent = prunerl.load_agent("cartpole-dqn")  # [torch]
checks.setup("tensorflow")  # [tf]
agent = prunerl.load_agent("cartpole-dqn", framework="tensorflow")  # [tf]
# [tf]
import keras  # noqa: E402  # [tf]
# [tf]
# [tf]
def fresh(model):  # [tf]
    """A copy of a Keras model with the same weights."""  # [tf]
    twin = keras.models.clone_model(model)  # [tf]
    twin.set_weights(model.get_weights())  # [tf]
    return twin  # [tf]
ENV = prunerl.card("cartpole-dqn")["env_id"]  # "CartPole-v1"

# %% [markdown] nbgrader={"grade": false, "grade_id": "contract_sweep", "locked": true, "schema_version": 3, "solution": false}
# ## 1. `sparsity_sweep(agent, env_id, sparsities, episodes, seed)`
#
# **Contract**
#
# - For each sparsity `s` in `sparsities` (in the order given; it need not be sorted), take a **fresh copy** of
#   `agent` and prune it by **global magnitude**: the `round(s * n)` weights with the smallest `|w|` among all `n`  # [torch]
#   prunable weights pooled (Linear/Conv weights, never biases) are set to zero. Write the pruning yourself  # [torch]
#   `agent` (`fresh(agent)` above) and prune it by **global magnitude**: the `round(s * n)` weights with the smallest `|w|` among all `n`  # [tf]
#   prunable weights pooled (Dense/Conv2D kernels, never biases) are set to zero. Write the pruning yourself  # [tf]
#   (`global_magnitude_prune` below; `prunerl.pruning` is the course's reference and is off limits).
# - Evaluate the copy with `prunerl.evaluate(copy, env_id, episodes=episodes, seed=seed)` (call it as
#   `prunerl.evaluate`).
# - Return a pandas DataFrame with one row per sparsity, in the given order, and columns `sparsity` (as requested),
#   `achieved_sparsity` (`prunerl.metrics.sparsity` of the pruned copy), `mean_return` and `std_return` (the
#   evaluation's `.mean` and `.std`).
# - `agent` itself is not changed.

# %% track="torch" nbgrader={"grade": false, "grade_id": "global_magnitude_prune", "locked": false, "schema_version": 3, "solution": true}
def global_magnitude_prune(model, sparsity):
    """Zero, in place, the round(sparsity * n) smallest-|w| prunable weights pooled; return {name: keep-mask}."""
    ### BEGIN SOLUTION
    params = {n: p for n, p in model.named_parameters() if n in prunerl.metrics.prunable_weights(model)}
    flat = torch.cat([p.detach().abs().flatten() for p in params.values()])
    k = int(round(sparsity * flat.numel()))
    keep = torch.ones(flat.numel(), dtype=torch.bool)
    keep[torch.argsort(flat, stable=True)[:k]] = False
    masks, offset = {}, 0
    with torch.no_grad():
        for name, p in params.items():
            mask = keep[offset:offset + p.numel()].reshape(p.shape)
            p.mul_(mask)
            masks[name] = mask.numpy()
            offset += p.numel()
    return masks
    ### END SOLUTION


# %% track="tf" nbgrader={"grade": false, "grade_id": "global_magnitude_prune", "locked": false, "schema_version": 3, "solution": true}
def global_magnitude_prune(model, sparsity):
    """Zero, in place, the round(sparsity * n) smallest-|w| prunable weights pooled; return {name: keep-mask}."""
    ### BEGIN SOLUTION
    layers = [layer for layer in model.layers if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D))]
    kernels = [layer.kernel.numpy() for layer in layers]
    flat = np.concatenate([np.abs(k).ravel() for k in kernels])
    keep = np.ones(flat.size, bool)
    keep[np.argsort(flat, kind="stable")[:int(round(sparsity * flat.size))]] = False
    masks, offset = {}, 0
    for layer, kernel in zip(layers, kernels):
        mask = keep[offset:offset + kernel.size].reshape(kernel.shape)
        layer.kernel.assign(kernel * mask)
        masks[f"{layer.name}/kernel"] = mask
        offset += kernel.size
    return masks
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "sparsity_sweep", "locked": false, "schema_version": 3, "solution": true}
def sparsity_sweep(agent, env_id, sparsities, episodes, seed):
    """Prune fresh copies to each sparsity, evaluate each on the same seeded episodes; one row per sparsity."""
    ### BEGIN SOLUTION
    rows = []
    for s in sparsities:
        pruned = copy.deepcopy(agent)  # [torch]
        pruned = fresh(agent)  # [tf]
        global_magnitude_prune(pruned, s)
        result = prunerl.evaluate(pruned, env_id, episodes=episodes, seed=seed)
        rows.append({"sparsity": s, "achieved_sparsity": prunerl.metrics.sparsity(pruned),
                     "mean_return": result.mean, "std_return": result.std})
    return pd.DataFrame(rows)
    ### END SOLUTION


# %%
sweep = sparsity_sweep(agent, ENV, [0.0, 0.5, 0.8, 0.9, 0.95], episodes=5, seed=0)  # [torch]
sweep = sparsity_sweep(agent, ENV, [0.8, 0.9, 0.95], episodes=3, seed=0)  # Keras steps slowly: keep it small  # [tf]
sweep

# %% nbgrader={"grade": true, "grade_id": "test_sweep_table", "locked": true, "points": 1, "schema_version": 3, "solution": false}
df = sparsity_sweep(agent, ENV, [0.5, 0.0], episodes=2, seed=0)  # [torch]
assert list(df["sparsity"]) == [0.5, 0.0], f"sparsity column {list(df['sparsity'])}, expected [0.5, 0.0]"  # [torch]
df = sparsity_sweep(agent, ENV, [0.97, 0.95], episodes=1, seed=0)  # [tf]
assert list(df["sparsity"]) == [0.97, 0.95], f"sparsity column {list(df['sparsity'])}, expected [0.97, 0.95]"  # [tf]
assert {"achieved_sparsity", "mean_return", "std_return"} <= set(df.columns), f"columns {list(df.columns)}, expected achieved_sparsity, mean_return and std_return among them"
### BEGIN HIDDEN TESTS
checks.sweep_table(sparsity_sweep)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_sweep_sparsity", "locked": true, "points": 2, "schema_version": 3, "solution": false}
df = sparsity_sweep(agent, ENV, [0.9, 0.0], episodes=1, seed=0)  # [torch]
assert abs(df["achieved_sparsity"].iloc[1]) < 1e-9, f"achieved_sparsity at 0.0 is {df['achieved_sparsity'].iloc[1]}, expected 0 (the agent dense): prune fresh copies"  # [torch]
df = sparsity_sweep(agent, ENV, [0.97, 0.95], episodes=1, seed=0)  # [tf]
assert abs(df["achieved_sparsity"].iloc[1] - 0.95) < 1e-4, f"achieved_sparsity of the second copy is {df['achieved_sparsity'].iloc[1]}, expected 0.95: prune fresh copies"  # [tf]
### BEGIN HIDDEN TESTS
checks.sweep_sparsity(sparsity_sweep)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_sweep_returns", "locked": true, "points": 2, "schema_version": 3, "solution": false}
df = sparsity_sweep(agent, ENV, [0.0], episodes=2, seed=3)  # [torch]
expected = prunerl.evaluate(agent, ENV, episodes=2, seed=3)  # [torch]
assert np.isclose(df["mean_return"].iloc[0], expected.mean), f"mean_return at sparsity 0 is {df['mean_return'].iloc[0]}, expected the agent's own seeded return {expected.mean}"  # [torch]
df = sparsity_sweep(agent, ENV, [0.97], episodes=2, seed=3)  # [tf]
copy97 = fresh(agent)  # [tf]
global_magnitude_prune(copy97, 0.97)  # [tf]
expected = prunerl.evaluate(copy97, ENV, episodes=2, seed=3)  # [tf]
assert np.isclose(df["mean_return"].iloc[0], expected.mean), f"mean_return is {df['mean_return'].iloc[0]}, expected the seeded return of the pruned copy {expected.mean}"  # [tf]
### BEGIN HIDDEN TESTS
checks.sweep_returns(sparsity_sweep)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_sweep_unchanged", "locked": true, "points": 1, "schema_version": 3, "solution": false}
before = copy.deepcopy(agent.state_dict())  # [torch]
sparsity_sweep(agent, ENV, [0.8], episodes=1, seed=0)  # [torch]
assert all(torch.equal(before[k], v) for k, v in agent.state_dict().items()), f"the sweep changed {sum(not torch.equal(before[k], v) for k, v in agent.state_dict().items())} tensors of the agent, expected 0"  # [torch]
before = [w.copy() for w in agent.get_weights()]  # [tf]
sparsity_sweep(agent, ENV, [0.97], episodes=1, seed=0)  # [tf]
assert all(np.array_equal(b, w) for b, w in zip(before, agent.get_weights())), f"the sweep changed {sum(not np.array_equal(b, w) for b, w in zip(before, agent.get_weights()))} arrays of the agent, expected 0"  # [tf]
### BEGIN HIDDEN TESTS
checks.sweep_unchanged(sparsity_sweep)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "contract_finetune", "locked": true, "schema_version": 3, "solution": false}
# ## 2. `finetune_pruned(agent, masks, env_id, steps, seed)`
#
# **Contract**
#
# - `agent` is already pruned with `masks` (`{parameter name: boolean keep-mask}`, as `global_magnitude_prune`  # [torch]
#   returns them).  # [torch]
# - `agent` is already pruned with `masks` (`{"dense_0/kernel": boolean keep-mask, ...}`, as  # [tf]
#   `global_magnitude_prune` returns them).  # [tf]
# - Fine-tune it **in place** with `prunerl.finetune(agent, env_id, steps, seed=seed, callback=...)` (call it as
#   `prunerl.finetune`): the callback `callback(model, optimizer_step)` runs after every optimizer step; use it to
#   hold the masks, so that every pruned weight is exactly zero after every step.
# - Return the fine-tuned agent.

# %% nbgrader={"grade": false, "grade_id": "finetune_pruned", "locked": false, "schema_version": 3, "solution": true}
def finetune_pruned(agent, masks, env_id, steps, seed):
    """Fine-tune a pruned agent in place, re-applying the masks after every optimizer step; return it."""
    ### BEGIN SOLUTION
    tensors = {name: torch.as_tensor(np.asarray(mask)) for name, mask in masks.items()}  # [torch]
# [torch]
    def hold_masks(model, optimizer_step):
        with torch.no_grad():  # [torch]
            for name, param in model.named_parameters():  # [torch]
                if name in tensors:  # [torch]
                    param.mul_(tensors[name])  # [torch]
        for name, mask in masks.items():  # "dense_0/kernel" -> layer "dense_0"  # [tf]
            kernel = model.get_layer(name.split("/")[0]).kernel  # [tf]
            kernel.assign(kernel.numpy() * mask)  # [tf]

    prunerl.finetune(agent, env_id, steps, seed=seed, callback=hold_masks)
    return agent
    ### END SOLUTION


# %% track="torch"
pruned = copy.deepcopy(agent)
masks = global_magnitude_prune(pruned, 0.9)
print("pruned to 0.9:", prunerl.evaluate(pruned, ENV, episodes=5, seed=0))
finetune_pruned(pruned, masks, ENV, steps=1000, seed=0)
print("after fine-tuning:", prunerl.evaluate(pruned, ENV, episodes=5, seed=0), "sparsity", prunerl.metrics.sparsity(pruned))

# %% track="tf"
pruned = fresh(agent)
masks = global_magnitude_prune(pruned, 0.9)
print("pruned to 0.9:", prunerl.evaluate(pruned, ENV, episodes=2, seed=0))
finetune_pruned(pruned, masks, ENV, steps=520, seed=0)
print("after fine-tuning:", prunerl.evaluate(pruned, ENV, episodes=2, seed=0), "sparsity", prunerl.metrics.sparsity(pruned))

# %% nbgrader={"grade": true, "grade_id": "test_finetune_masks", "locked": true, "points": 3, "schema_version": 3, "solution": false}
assert abs(prunerl.metrics.sparsity(pruned) - 0.9) < 1e-4, f"the fine-tuned agent has sparsity {prunerl.metrics.sparsity(pruned):.4f}, expected 0.9 (kept through fine-tuning)"
### BEGIN HIDDEN TESTS
checks.finetune_masks(finetune_pruned)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_finetune_trains", "locked": true, "points": 1, "schema_version": 3, "solution": false}
assert prunerl.metrics.sparsity(pruned) > 0 and callable(finetune_pruned), f"sparsity {prunerl.metrics.sparsity(pruned)}, expected > 0"
# hidden: the returned agent was fine-tuned (survivors moved) with the env_id, steps and seed given
### BEGIN HIDDEN TESTS
checks.finetune_trains(finetune_pruned)
### END HIDDEN TESTS
